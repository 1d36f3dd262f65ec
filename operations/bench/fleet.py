"""`manage.py bench sunday`: the Sunday posting run over a fleet, beside a raw COPY of the same rows.

The fleet is `seed_demo`'s (10,000 leases, each with its schedule billed from the period posted),
plus 10,000 open repair invoices and 10,000 open loans bulk-inserted with the real schedule rules,
each starting in that period. The timed part is what the three Sunday tasks do, one after the
other: `run_posting_job` for leases (after adopting unscheduled leases and rolling the horizon),
repairs and loans — one due installment per lease and per plan.
"""

from __future__ import annotations

import io
import random
import time
from decimal import Decimal

from django.core.management import call_command
from django.db import connection, transaction

from batpay.periods import last_closed_period
from lease_schedules.models import LeaseInstallment
from leases.models import Lease
from ledger.selectors import postings
from ledger.services import ObligationRow
from loans.interest import loan_schedule
from loans.models import Loan, LoanInstallment
from loans.plan import LOANS
from operations.bench import BARE_FLEET, Report, benchmark
from operations.bench.ledger import raw_copy
from operations.jobs import run_posting_job
from plans.lifecycle import PlanStatus
from plans.matrix import split_amount, weekly_installment
from plans.schedule import build_schedule
from repairs.models import RepairInstallment, RepairInvoice
from repairs.plan import REPAIRS

SOURCES = ("leases", "repairs", "loans")


def seed_plans(*, repairs: int, loans: int, period, rng: random.Random) -> None:
    """Open repair invoices and loans on the fleet's leases, each starting in `period` (bulk inserts)."""
    fleet = list(Lease.objects.values_list("pk", "primary_driver_id", "vehicle_id", "medallion_id"))
    with transaction.atomic():
        invoices, invoice_schedules = [], []
        for n in range(repairs):
            lease_id, driver_id, vehicle_id, medallion_id = fleet[n % len(fleet)]
            amount = Decimal(rng.randrange(5_000, 450_000)) / 100
            invoices.append(
                RepairInvoice(
                    repair_id=f"RPR-BENCH-{n + 1:06d}",
                    driver_id=driver_id,
                    lease_id=lease_id,
                    vehicle_id=vehicle_id,
                    medallion_id=medallion_id,
                    invoice_number=f"SUN-{n:07d}",
                    invoice_date=period,
                    workshop_type=RepairInvoice.WorkshopType.BIG_APPLE,
                    repair_description="Sunday benchmark repair",
                    repair_amount=amount,
                    weekly_installment_amount=weekly_installment(amount),
                    start_week=period,
                    status=PlanStatus.OPEN,
                )
            )
            invoice_schedules.append(build_schedule(split_amount(amount), start=period))
        RepairInvoice.objects.bulk_create(invoices, batch_size=2_000)
        RepairInstallment.objects.bulk_create(
            (
                RepairInstallment(
                    plan=plan,
                    installment_id=REPAIRS.installment_id(plan.repair_id, item.sequence),
                    sequence=item.sequence,
                    period_start=item.period_start,
                    period_end=item.period_end,
                    amount=item.amount,
                )
                for plan, schedule in zip(invoices, invoice_schedules, strict=True)
                for item in schedule
            ),
            batch_size=5_000,
        )
        plans, loan_schedules = [], []
        for n in range(loans):
            lease_id, driver_id, _, _ = fleet[(n * 7) % len(fleet)]
            amount = Decimal(rng.randrange(10_000, 600_000)) / 100
            rate = Decimal(rng.randrange(0, 2001)) / 100
            schedule = loan_schedule(loan_amount=amount, interest_rate=rate, loan_date=period, start_week=period)
            plans.append(
                Loan(
                    loan_id=f"DL-BENCH-{n + 1:06d}",
                    driver_id=driver_id,
                    lease_id=lease_id,
                    loan_amount=amount,
                    interest_rate=rate,
                    loan_date=period,
                    start_week=period,
                    purpose="Sunday benchmark loan",
                    weekly_installment_amount=weekly_installment(amount),
                    total_interest=sum(item.extra["interest_amount"] for item in schedule),
                    status=PlanStatus.OPEN,
                )
            )
            loan_schedules.append(schedule)
        Loan.objects.bulk_create(plans, batch_size=2_000)
        LoanInstallment.objects.bulk_create(
            (
                LoanInstallment(
                    plan=plan,
                    installment_id=LOANS.installment_id(plan.loan_id, item.sequence),
                    sequence=item.sequence,
                    period_start=item.period_start,
                    period_end=item.period_end,
                    amount=item.amount,
                    **item.extra,
                )
                for plan, schedule in zip(plans, loan_schedules, strict=True)
                for item in schedule
            ),
            batch_size=5_000,
        )


def posted_rows(period) -> list[ObligationRow]:
    """The charges the run wrote, as the bulk path's input rows: what the raw COPY writes again."""
    return [
        ObligationRow(
            category=category,
            source_reference=reference,
            amount=amount,
            driver_id=driver_id,
            lease_id=lease_id,
            period=due,
            vehicle_id=vehicle_id,
            medallion_id=medallion_id,
            description=description,
        )
        for category, reference, amount, driver_id, lease_id, vehicle_id, medallion_id, due, description in postings()
        .filter(period=period, entry_type="DEBIT", receipt__isnull=True)
        .values_list(
            "category",
            "obligation__source_reference",
            "amount",
            "driver_id",
            "lease_id",
            "vehicle_id",
            "medallion_id",
            "period",
            "description",
        )
    ]


@benchmark("sunday")
def sunday_benchmark(report: Report) -> None:
    period = last_closed_period()
    leases, plans = report.n(10_000), report.n(10_000)
    with report.timed("seed_demo") as seeded:
        call_command("seed_demo", leases=leases, as_of=period, **BARE_FLEET, stdout=io.StringIO(), stderr=io.StringIO())
    report.line(
        f"fleet: seed_demo {leases:,} leases with their schedules",
        f"{LeaseInstallment.objects.count():,} lease installments, {seeded['seconds']:.1f} s",
    )
    with report.timed("plans") as planted:
        seed_plans(repairs=plans, loans=plans, period=period, rng=random.Random(20251005))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    report.line(
        f"plans: {plans:,} open repairs + {plans:,} open loans starting {period}",
        f"{RepairInstallment.objects.count() + LoanInstallment.objects.count():,} installments, "
        f"{planted['seconds']:.1f} s",
    )

    runs = []
    started = time.perf_counter()
    for source in SOURCES:
        runs.append(run_posting_job(source=source, period=period))
    total_seconds = time.perf_counter() - started
    for run in runs:
        report.rate(f"{run.job} (amount {run.amount:,})", run.count, (run.finished_at - run.started_at).total_seconds())
    count = sum(run.count for run in runs)
    rate = report.rate("the Sunday posting, all three jobs", count, total_seconds)

    rows = posted_rows(period)
    with report.timed("copy") as copied:
        raw_copy(rows)
    copy_rate = report.rate("raw COPY of the same rows (9 columns, no constraint)", len(rows), copied["seconds"])
    report.line("ratio Sunday posting / raw COPY", f"{rate / copy_rate:.2f}")
    report.budget(
        f"budget: Sunday posting of {leases:,} leases and {2 * plans:,} plans < 10 s",
        total_seconds < 10,
        f"{total_seconds:.2f} s, {count:,} postings",
    )

    started = time.perf_counter()
    again = sum(run_posting_job(source=source, period=period).count for source in SOURCES)
    report.line("the same run again (posts nothing)", f"{again} posted in {time.perf_counter() - started:.2f} s")
    with report.timed("check") as checked:
        call_command("check_ledger", stdout=io.StringIO())
    report.line("check_ledger", f"sound, {checked['seconds']:.2f} s")
