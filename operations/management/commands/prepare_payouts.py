"""manage.py prepare_payouts [--period YYYY-MM-DD]

What the Sunday 06:00 task does, by hand: the payout run of a closed period (default: the one that
ended last night), as a recorded job run locked per period. A period whose run exists is left as it
is; a Controller approves the run in the admin or the API.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from batpay.errors import DomainError
from batpay.periods import last_closed_period, not_to_come, parse_period
from operations.jobs import prepare_payouts, triggered_by
from operations.models import JobRun


class Command(BaseCommand):
    help = "Prepare the payout run of a closed payment period (a Controller approves it)."

    def add_arguments(self, parser):
        parser.add_argument("--period", help="the period's Sunday, YYYY-MM-DD (default: the last closed period)")

    def handle(self, *args, period: str | None, **options):
        try:
            paying = not_to_come(parse_period(period)) if period else last_closed_period()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(desc=f"payouts {paying}", unit="step", disable=options["verbosity"] < 1, file=self.stderr._out)

        def progress(total: int, done: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            with triggered_by(JobRun.Trigger.COMMAND):
                run = prepare_payouts(period=paying, progress=progress)
        except DomainError as exc:
            raise CommandError(f"No payout run for {paying}: {exc}") from exc
        finally:
            bar.close()
        details = run.details
        verb = "prepared" if details["created"] else "already prepared"
        self.stdout.write(
            self.style.SUCCESS(
                f"Payout run {details['run']} for {paying} {verb} ({details['status']}): {run.count} payouts, "
                f"{run.amount}; carried under the minimum: {details['carried']} (job run {run.pk})."
            )
        )
