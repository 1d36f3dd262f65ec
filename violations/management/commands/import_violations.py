"""`manage.py import_violations FILE`: import a Department of Finance violations CSV, with a progress bar.

New summonses are charged, changed ones get a new version and their charge follows; the rows kept for
review are printed with their line numbers and reasons (the first --show of them; all are in the admin
under "Violation rows kept for review"). Importing the same file again changes nothing.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from batpay.errors import DomainError
from violations.imports import import_violations
from violations.models import Violation


class Command(BaseCommand):
    help = "Import parking violations from the Department of Finance's CSV (Open Parking and Camera Violations)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument("--show", type=int, default=20, help="kept rows to print (default 20)")

    def handle(self, *args, file: Path, show: int, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        size = file.stat().st_size
        try:
            with (
                file.open("rb") as stream,
                tqdm(
                    total=size,
                    unit="B",
                    unit_scale=True,
                    desc="import_violations",
                    file=sys.stderr,
                    disable=options["verbosity"] == 0,
                ) as bar,
            ):

                def progress(total: int, done: int) -> None:
                    bar.update(done - bar.n)

                batch = import_violations(stream=stream, file_name=file.name, progress=progress, size=size)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc
        self.stdout.write(
            f"Import #{batch.pk} of {batch.file_name}: {batch.rows} rows, {batch.new_summonses} new summonses, "
            f"{batch.new_versions} with new figures, {batch.unchanged} unchanged, {batch.invalid} kept for review, "
            f"{batch.needs_review} waiting to be assigned (no lease); {batch.charged} charged."
        )
        for row in batch.kept_rows.order_by("line_number")[:show]:
            self.stdout.write(f"  line {row.line_number}: {row.reason}")
        if batch.invalid > show:
            self.stdout.write(f"  … and {batch.invalid - show} more (admin: Violation rows kept for review).")
        for violation in batch_needing_review(batch)[:show]:
            self.stdout.write(f"  summons {violation.summons_number}: {violation.review_reason}")
        style = self.style.WARNING if batch.invalid or batch.needs_review else self.style.SUCCESS
        self.stdout.write(style("Done."))


def batch_needing_review(batch):
    return Violation.objects.filter(
        review=Violation.Review.NEEDS_REVIEW, versions__batch=batch, versions__number=1
    ).order_by("summons_number")
