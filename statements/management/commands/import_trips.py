"""`manage.py import_trips FILE`: import the card-payment system's trips CSV, with a progress bar.

The good rows go in; the rows kept for review are printed with their line numbers and reasons
(the first --show of them; all are in the admin under "Trip rows kept for review"). Importing
the same file again changes nothing.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from batpay.errors import DomainError
from statements.trips import import_trips


class Command(BaseCommand):
    help = "Import trips from the card-payment system's CSV export."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument("--show", type=int, default=20, help="kept rows to print (default 20)")

    def handle(self, *args, file: Path, show: int, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            batch = self._import(file, verbosity=options["verbosity"])
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc
        self.stdout.write(
            f"Import #{batch.pk} of {batch.file_name}: {batch.rows} rows, {batch.imported} new trips, "
            f"{batch.already_imported} already imported, {batch.kept_for_review} kept for review "
            f"({batch.invalid} bad, {batch.unmatched} without a lease, {batch.late} of a closed week)."
        )
        for row in batch.kept_rows.order_by("line_number")[:show]:
            self.stdout.write(f"  line {row.line_number}: {row.get_kind_display()}: {row.reason}")
        if batch.kept_for_review > show:
            self.stdout.write(f"  … and {batch.kept_for_review - show} more (admin: Trip rows kept for review).")
        style = self.style.WARNING if batch.kept_for_review else self.style.SUCCESS
        self.stdout.write(style("Done."))

    def _import(self, file: Path, *, verbosity: int):
        size = file.stat().st_size
        with (
            file.open("rb") as stream,
            tqdm(
                total=size, unit="B", unit_scale=True, desc="import_trips", file=sys.stderr, disable=verbosity == 0
            ) as bar,
        ):

            def progress(total: int, done: int) -> None:
                bar.update(done - bar.n)

            try:
                return import_trips(stream=stream, file_name=file.name, progress=progress, size=size)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
