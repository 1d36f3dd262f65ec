"""`manage.py import_tolls FILE`: import the E-ZPass account's transaction export, with a progress bar.

The good rows go in; the summary gives the report (tolls to charge, refunds, Congestion Relief Zone
rows excluded, rows without a lease, rows already on file) and prints the rows kept for review with
their line numbers and reasons (the first --show of them; all are in the admin). Importing the same
file again changes nothing.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from batpay.errors import DomainError
from tolls.imports import import_tolls
from tolls.models import Toll


class Command(BaseCommand):
    help = "Import E-ZPass tolls from the account's transaction export (CSV)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument("--show", type=int, default=20, help="rows kept for review to print (default 20)")

    def handle(self, *args, file: Path, show: int, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            batch = self._import(file, verbosity=options["verbosity"])
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc
        self.stdout.write(
            f"Import #{batch.pk} of {batch.file_name}: {batch.rows} rows; {batch.charges} tolls to charge "
            f"({batch.charged_amount}), {batch.refunds} refunds ({batch.refunded_amount}), {batch.excluded} "
            f"Congestion Relief Zone rows not charged ({batch.excluded_amount}), {batch.unmatched} without a lease, "
            f"{batch.already_imported} already imported, {batch.invalid} with bad data. Charged by the Sunday "
            "task tolls.post_due (or its Run now in the admin's job runs)."
        )
        kept = [
            (row.line_number, f"bad data: {row.reason}") for row in batch.kept_rows.order_by("line_number")[:show]
        ] + [
            (toll.line_number, f"no lease: {toll.reason}")
            for toll in batch.tolls.filter(status=Toll.Status.UNMATCHED).order_by("line_number")[:show]
        ]
        for line, text in sorted(kept)[:show]:
            self.stdout.write(f"  line {line}: {text}")
        if batch.kept_for_review > show:
            self.stdout.write(f"  … and {batch.kept_for_review - show} more (admin: E-ZPass tolls, toll rows kept).")
        style = self.style.WARNING if batch.kept_for_review else self.style.SUCCESS
        self.stdout.write(style("Done."))

    def _import(self, file: Path, *, verbosity: int):
        size = file.stat().st_size
        with (
            file.open("rb") as stream,
            tqdm(
                total=size, unit="B", unit_scale=True, desc="import_tolls", file=sys.stderr, disable=verbosity == 0
            ) as bar,
        ):

            def progress(total: int, done: int) -> None:
                bar.update(done - bar.n)

            try:
                return import_tolls(stream=stream, file_name=file.name, progress=progress, size=size)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
