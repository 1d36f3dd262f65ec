"""manage.py post_due_installments --source repairs|…|all --period YYYY-MM-DD [--dry-run]

Posts every due installment of every OPEN plan of the source(s) for the period (SPEC §4's
posting rule), with a progress bar and a summary. Sources are the registered plan sources
(`batpay.plans.source.register_source`): each app adds itself, `all` runs every one of them.
Idempotent: a second run posts nothing.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from batpay.periods import last_closed_period, parse_period
from batpay.plans.services import post_due_installments
from batpay.plans.source import get_source, registered_sources


class Command(BaseCommand):
    help = "Post due installments of open plans to the ledger for a period (idempotent)."

    def add_arguments(self, parser):
        names = [source.name for source in registered_sources()]
        parser.add_argument("--source", required=True, choices=[*names, "all"], help="plan source, or all")
        parser.add_argument(
            "--period", help="the period's Sunday, YYYY-MM-DD (default: the last closed period, as the Sunday run)"
        )
        parser.add_argument("--dry-run", action="store_true", help="count what is due; post nothing")
        parser.add_argument("--batch-size", type=int, default=5000, help="installments per transaction")

    def handle(self, *args, source: str, period: str | None, dry_run: bool, batch_size: int, **options):
        try:
            period_start = parse_period(period) if period else last_closed_period()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        sources = registered_sources() if source == "all" else [get_source(source)]
        total_count, total_amount = 0, Decimal("0.00")
        for plan_source in sources:
            bar = tqdm(
                desc=f"{plan_source.name} {period_start}",
                unit="inst",
                disable=dry_run or options["verbosity"] < 1,
                file=self.stderr._out,
            )

            def progress(total: int, done: int, bar=bar) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            summary = post_due_installments(
                source=plan_source, period=period_start, dry_run=dry_run, batch_size=batch_size, progress=progress
            )
            bar.close()
            verb = "due (dry run, nothing posted)" if dry_run else "posted"
            self.stdout.write(
                f"{plan_source.name}: {summary.installments} installment(s) {verb}, amount {summary.amount}"
            )
            total_count += summary.installments
            total_amount += summary.amount
        if len(sources) > 1:
            self.stdout.write(f"all: {total_count} installment(s), amount {total_amount}")
        self.stdout.write(self.style.SUCCESS(f"Period {period_start}: done."))
