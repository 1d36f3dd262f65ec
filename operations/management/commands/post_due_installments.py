"""manage.py post_due_installments --source leases|repairs|loans|all --period YYYY-MM-DD [--dry-run]

Posts every due installment of every OPEN plan of the source(s) for the period (SPEC §4's
posting rule), with a progress bar per source and a summary. Sources are the registered plan
sources (`plans.source.register_source`); `all` runs every one of them. Each source's run
is a recorded job run locked per period (`operations.jobs`), exactly as the Sunday task runs it, so
a second run — or one started while another is running — posts nothing twice. A dry run counts
what is due and writes nothing (not even a job run).
"""

import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from batpay.periods import last_closed_period, not_to_come, parse_period
from operations.jobs import run_posting_job, triggered_by
from operations.models import JobRun
from plans.services import post_due_installments
from plans.source import get_source, registered_sources


class Command(BaseCommand):
    help = "Post due installments of open plans to the ledger for a period (idempotent)."

    def add_arguments(self, parser):
        names = [source.name for source in registered_sources()]
        parser.add_argument("--source", required=True, choices=[*names, "all"], help="plan source, or all")
        parser.add_argument(
            "--period", help="the period's Sunday, YYYY-MM-DD (default: the last closed period, as the Sunday run)"
        )
        parser.add_argument("--dry-run", action="store_true", help="count what is due; post nothing")
        parser.add_argument(
            "--shard-leases", type=int, help="leases per shard, each one transaction (default: CLOSE_SHARD_LEASES)"
        )
        parser.add_argument("--batch-size", type=int, default=5000, help="no longer used (a shard is one transaction)")

    def handle(self, *args, source: str, period: str | None, dry_run: bool, batch_size: int, shard_leases, **options):
        try:
            period_start = not_to_come(parse_period(period)) if period else last_closed_period()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if shard_leases is not None and shard_leases < 1:
            raise CommandError("--shard-leases must be at least 1")
        sources = registered_sources() if source == "all" else [get_source(source)]
        total_count, total_amount, failed = 0, Decimal("0.00"), []
        for plan_source in sources:
            if dry_run:
                summary = post_due_installments(source=plan_source, period=period_start, dry_run=True)
                self.stdout.write(
                    f"{plan_source.name}: {summary.installments} installment(s) due (dry run, nothing posted), "
                    f"amount {summary.amount}"
                )
                total_count += summary.installments
                total_amount += summary.amount
                continue
            bar = tqdm(
                desc=f"{plan_source.name} {period_start}",
                unit="shard",
                disable=options["verbosity"] < 1,
                file=self.stderr._out,
            )

            def progress(total: int, done: int, bar=bar) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            started = time.perf_counter()
            try:
                with triggered_by(JobRun.Trigger.COMMAND):
                    run = run_posting_job(
                        source=plan_source.name, period=period_start, shard_leases=shard_leases, progress=progress
                    )
            except Exception as exc:  # one source failing does not stop the others; the run recorded why
                bar.close()
                failed.append(plan_source.name)
                self.stderr.write(self.style.ERROR(f"{plan_source.name}: failed: {exc}"))
                continue
            bar.close()
            self.stdout.write(
                f"{plan_source.name}: {run.count} installment(s) posted, amount {run.amount} "
                f"(job run {run.pk}, {time.perf_counter() - started:.2f} s)"
            )
            total_count += run.count
            total_amount += run.amount
        if len(sources) > 1:
            self.stdout.write(f"all: {total_count} installment(s), amount {total_amount}")
        if failed:
            raise CommandError(f"Period {period_start}: {', '.join(failed)} failed (see the job runs in the admin).")
        self.stdout.write(self.style.SUCCESS(f"Period {period_start}: done."))
