"""manage.py weekly_close [--period YYYY-MM-DD]

What the Sunday 05:00 task does (SPEC §6), by hand: close the period (default: the one that ended
last night) — first every posting job that has not completed for it, then each registered close
step in order — each a recorded job run locked per period (`operations.jobs.weekly_close`). Running it
again redoes only what is idempotent to redo; a close that failed part-way resumes.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from batpay.periods import last_closed_period, not_to_come, parse_period
from operations.jobs import triggered_by, weekly_close
from operations.models import JobRun


class Command(BaseCommand):
    help = "Close a payment period: the posting jobs it still needs, then the close steps."

    def add_arguments(self, parser):
        parser.add_argument("--period", help="the period's Sunday, YYYY-MM-DD (default: the last closed period)")

    def handle(self, *args, period: str | None, **options):
        try:
            closing = not_to_come(parse_period(period)) if period else last_closed_period()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(desc=f"weekly close {closing}", unit="job", disable=options["verbosity"] < 1, file=self.stderr._out)

        def progress(total: int, done: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        started = timezone.now()
        try:
            with triggered_by(JobRun.Trigger.COMMAND):
                runs = weekly_close(period=closing, progress=progress)
        except Exception as exc:
            raise CommandError(f"The weekly close of {closing} failed: {exc} (see the job runs in the admin).") from exc
        finally:
            bar.close()
        for run in runs:
            when = "completed earlier" if run.started_at < started else f"{run.duration.total_seconds():.2f} s"
            self.stdout.write(
                f"{run.job}: {run.status}, {run.count} done, amount {run.amount} (job run {run.pk}, {when})"
            )
        self.stdout.write(self.style.SUCCESS(f"Period {closing}: closed."))
