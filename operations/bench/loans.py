"""Loans benchmark: the interest schedule, entry through the service, and the fleet-wide paths.

`manage.py bench loans` runs it on a scratch database of its own. What it measures is what loans
add to the shared plan mechanism (whose posting path the repairs benchmark measures at scale):

- building schedules with interest (pure Decimal arithmetic, per loan);
- entering loans one by one through `loan_create` (validation, id, schedule, audit: one durable
  transaction each), as finance staff and guided entry do;
- over 50,000 bulk-inserted loans: the weekly job posting every due total, then the list and the
  statistics endpoint with its total interest.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from rest_framework.test import APIClient

from batpay.periods import WEEK
from leases.models import Driver, Lease, Medallion, Vehicle
from loans import services
from loans.interest import loan_schedule
from loans.models import Loan, LoanInstallment
from loans.plan import LOANS
from operations.bench import Report, benchmark
from plans.lifecycle import PlanStatus
from plans.matrix import weekly_installment

FIRST_WEEK = dt.date(2024, 1, 7)
STATUSES = [PlanStatus.OPEN] * 12 + [PlanStatus.CLOSED] * 4 + [PlanStatus.DRAFT, PlanStatus.HOLD]


def _fleet(leases: int) -> list[Lease]:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    with transaction.atomic():
        drivers = Driver.objects.bulk_create(
            Driver(first_name=f"Bench{n}", last_name=f"Loan{n % 97}", tlc_license_number=f"{7000000 + n}")
            for n in range(leases)
        )
        vehicles = Vehicle.objects.bulk_create(
            Vehicle(vin=f"1LXAN000{n:09d}", plate_number=f"D{n:06d}", make="Toyota", model="Sienna", year=2022)
            for n in range(leases)
        )
        medallions = Medallion.objects.bulk_create(
            Medallion(number=f"{n % 10}{letters[n // 1000 % 23]}{n // 10 % 100:02d}") for n in range(leases)
        )
        return Lease.objects.bulk_create(
            Lease(
                lease_number=f"LBENCH-{n:05d}",
                lease_type=Lease.Type.DOV,
                primary_driver=drivers[n],
                vehicle=vehicles[n],
                medallion=medallions[n],
                start_date=dt.date(2023, 12, 31),
                weekly_rate=Decimal("500.00"),
                status=Lease.Status.ACTIVE,
            )
            for n in range(leases)
        )


def _random_loan(rng: random.Random) -> tuple[Decimal, Decimal, dt.date, dt.date]:
    amount = Decimal(rng.randrange(10_000, 600_000)) / 100
    rate = Decimal(rng.randrange(0, 2001)) / 100
    week = FIRST_WEEK + WEEK * rng.randrange(0, 80)
    return amount, rate, week + dt.timedelta(days=rng.randrange(0, 7)), week


def seed(*, loans: int, fleet: list[Lease], rng: random.Random) -> None:
    """`loans` loans with their schedules and interest, inserted in bulk (the schedules are the real rule's)."""
    for start in range(0, loans, 10_000):
        with transaction.atomic():
            plans, schedules = [], []
            for n in range(start, min(start + 10_000, loans)):
                lease = fleet[rng.randrange(len(fleet))]
                amount, rate, day, week = _random_loan(rng)
                schedule = loan_schedule(loan_amount=amount, interest_rate=rate, loan_date=day, start_week=week)
                plans.append(
                    Loan(
                        loan_id=f"DL-2024-{n + 1:06d}",
                        driver_id=lease.primary_driver_id,
                        lease_id=lease.pk,
                        loan_amount=amount,
                        interest_rate=rate,
                        loan_date=day,
                        start_week=week,
                        purpose="Synthetic benchmark loan",
                        weekly_installment_amount=weekly_installment(amount),
                        total_interest=sum(item.extra["interest_amount"] for item in schedule),
                        status=rng.choice(STATUSES),
                    )
                )
                schedules.append(schedule)
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
                    for plan, schedule in zip(plans, schedules, strict=True)
                    for item in schedule
                ),
                batch_size=5_000,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _timed(client: APIClient, url: str, params: dict, runs: int) -> list[float]:
    response = client.get(url, params)
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params} answered {response.status_code}: {response.content[:500]!r}")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, params)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


@benchmark("loans")
def loans_benchmark(report: Report) -> None:
    rng = random.Random(5)
    fleet = _fleet(report.n(2_000))

    count = report.n(20_000)
    samples = [_random_loan(rng) for _ in range(count)]
    with report.timed("schedules") as box:
        weeks = sum(
            len(loan_schedule(loan_amount=a, interest_rate=r, loan_date=d, start_week=w)) for a, r, d, w in samples
        )
    report.line(
        "interest schedules built (pure Decimal)",
        f"{count:,} loans, {weeks:,} weeks in {box['seconds']:.2f} s = {count / box['seconds']:,.0f} loans/s",
    )

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    entered = report.n(500)
    with report.timed("entry") as box:
        for n in range(entered):
            lease = fleet[n % len(fleet)]
            amount, rate, day, week = samples[n]
            services.loan_create(
                driver_id=lease.primary_driver_id,
                lease_id=lease.pk,
                loan_amount=amount,
                interest_rate=rate,
                loan_date=day,
                start_week=week,
                actor=user,
                confirm=True,
            )
    per_loan = box["seconds"] / entered * 1000
    report.line("loan_create + confirm through the service", f"{entered:,} loans, {per_loan:.1f} ms per loan")
    report.budget("budget: entering a loan < 100 ms", per_loan < 100, f"{per_loan:.1f} ms")

    loans = report.n(50_000)
    with report.timed("seed") as box:
        seed(loans=loans, fleet=fleet, rng=rng)
    report.line("seed loans and schedules (bulk inserts)", f"{loans:,} in {box['seconds']:.1f} s")
    with report.timed("posting") as box:
        summary = services.loan_installments_post_due(period=dt.date(2025, 6, 1), actor=user)
    report.rate("weekly job: post every due loan installment (total due)", summary.installments, box["seconds"])
    with connection.cursor() as cursor:
        # What autovacuum does soon after a large posting run; timing reads on statistics from
        # before it would measure a planner that still thinks the ledger is empty.
        cursor.execute("ANALYZE")

    client = APIClient()
    client.force_authenticate(user)
    sample = Loan.objects.order_by("pk").values("driver_id")[loans // 2]
    cases = {
        "GET /api/loans/ page_size=50": ("/api/loans/", {"page_size": 50}),
        "GET /api/loans/ driver_id": ("/api/loans/", {"driver_id": sample["driver_id"]}),
        "GET /api/loans/ rate range, ordering=-loan_amount": (
            "/api/loans/",
            {"interest_rate_min": "15", "ordering": "-loan_amount"},
        ),
        "GET /api/loans/statistics (all loans)": ("/api/loans/statistics", {}),
        "GET /api/loans/statistics driver_id": ("/api/loans/statistics", {"driver_id": sample["driver_id"]}),
    }
    for label, (url, params) in cases.items():
        timings = _timed(client, url, params, runs=20)
        report.line(label, f"p50 {statistics.median(timings):.1f} ms, p95 {_p95(timings):.1f} ms")
