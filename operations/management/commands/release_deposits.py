"""manage.py release_deposits [--date YYYY-MM-DD]

Releases every security deposit whose lease ended DEPOSIT_HOLD_DAYS (default 30) days ago or more:
the held money pays the lease's open balances in waterfall order, the rest is due to the driver.
The same recorded, locked job run as the daily 03:00 task (`deposits.release_due`), with a
progress bar; a second run finds nothing left to release.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from batpay.errors import InvalidInput
from batpay.periods import clean_date
from operations.jobs import run_deposit_release, triggered_by
from operations.models import JobRun


class Command(BaseCommand):
    help = "Release the security deposits whose hold after the lease's end has passed (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to release as of, YYYY-MM-DD (default: today; not in the future)")

    def handle(self, *args, date: str | None, **options):
        today = timezone.localdate()
        try:
            day = clean_date(date, field="date") if date else today
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        if day > today:
            raise CommandError("--date cannot be in the future.")
        bar = tqdm(desc=f"deposits {day}", unit="deposit", disable=options["verbosity"] < 1, file=self.stderr._out)

        def progress(total: int, done: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        with triggered_by(JobRun.Trigger.COMMAND):
            run = run_deposit_release(today=day, progress=progress)
        bar.close()
        self.stdout.write(
            f"Released {run.count} deposit(s): {run.details.get('returned')} held, "
            f"{run.details.get('applied')} applied to open balances, the rest due to the drivers."
        )
