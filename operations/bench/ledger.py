"""`manage.py bench ledger`: the bulk posting path beside a raw COPY, and the earnings waterfall."""

from __future__ import annotations

import datetime as dt
import io
import random
from decimal import Decimal

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from leases.models import Lease
from ledger import services
from ledger.models import PRIORITY, ObligationBalance
from operations.bench import BARE_FLEET, Report, benchmark

PERIOD = dt.date(2025, 9, 28)
FUTURE = dt.date(2025, 10, 26)
# Per lease: six charges due by PERIOD (what earnings may pay) and four due later.
CHARGES = [
    ("TAXES", PERIOD),
    ("EZPASS", PERIOD),
    ("LEASE", PERIOD),
    ("PVB", PERIOD),
    ("REPAIRS", PERIOD),
    ("LOANS", PERIOD),
    ("LEASE", FUTURE),
    ("REPAIRS", FUTURE),
    ("LOANS", FUTURE),
    ("MISC", FUTURE),
]


def demo_fleet(report: Report, leases: int) -> list[tuple[int, int, int, int]]:
    if Lease.objects.count() < leases:
        with report.timed("seed_demo") as t:
            call_command(
                "seed_demo",
                leases=leases - Lease.objects.count(),
                **BARE_FLEET,
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
        report.rate("fleet: seed_demo leases", leases, t["seconds"])
    return list(
        Lease.objects.order_by("id").values_list("id", "primary_driver_id", "vehicle_id", "medallion_id")[:leases]
    )


def obligation_rows(fleet, count: int, rng: random.Random) -> list[services.ObligationRow]:
    rows = []
    for index in range(count):
        lease_id, driver_id, vehicle_id, medallion_id = fleet[index % len(fleet)]
        category, period = CHARGES[(index // len(fleet)) % len(CHARGES)]
        rows.append(
            services.ObligationRow(
                category=category,
                source_reference=f"BENCH-{index:07d}",
                amount=Decimal(rng.randint(1_000, 80_000)).scaleb(-2),
                driver_id=driver_id,
                lease_id=lease_id,
                period=period,
                vehicle_id=vehicle_id,
                medallion_id=medallion_id,
                description=f"bench charge {index}",
            )
        )
    return rows


POSTING_COLUMNS = (
    "id, entry_type, category, amount, obligation_id, driver_id, lease_id, vehicle_id, medallion_id, "
    "period, effective_date, status, idempotency_key, description, reason, created_at"
)
BALANCE_COLUMNS = (
    "id, category, priority, source_reference, original_amount, outstanding, status, due_period, driver_id, "
    "lease_id, vehicle_id, medallion_id, description, created_at, updated_at"
)


def posting_row(number: int, r: services.ObligationRow, now) -> tuple:
    """The DEBIT posting the bulk path writes for row `r`, as a COPY row."""
    return (
        number, "DEBIT", r.category, r.amount, number, r.driver_id, r.lease_id, r.vehicle_id, r.medallion_id,
        r.period, r.period, "POSTED", f"obligation:{r.category}:{r.source_reference}", r.description, "", now,
    )  # fmt: skip


def balance_row(number: int, r: services.ObligationRow, now) -> tuple:
    """The OPEN balance the bulk path writes for row `r`, as a COPY row."""
    return (
        number, r.category, PRIORITY[r.category], r.source_reference, r.amount, r.amount, "OPEN", r.period,
        r.driver_id, r.lease_id, r.vehicle_id, r.medallion_id, r.description, now, now,
    )  # fmt: skip


def raw_copy_postings(rows: list[services.ObligationRow]) -> None:
    """A second floor: the postings those rows become, COPYed into a posting-shaped scratch table
    (same columns, no index, constraint or trigger)."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_postings (LIKE ledger_posting INCLUDING DEFAULTS) ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY bench_postings ({POSTING_COLUMNS}) FROM STDIN") as copy:
            for number, r in enumerate(rows, start=1):
                copy.write_row(posting_row(number, r, now))


def raw_copy_into_indexed_tables(rows: list[services.ObligationRow]) -> None:
    """A third floor: the balances and postings COPYed into tables with the ledger's own columns,
    CHECKs and indexes (no foreign keys, no logic) — what the schema itself costs."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_balances (LIKE ledger_obligationbalance INCLUDING ALL)")
        cursor.execute("CREATE TABLE bench_indexed_postings (LIKE ledger_posting INCLUDING ALL)")
        with cursor.cursor.copy(f"COPY bench_balances ({BALANCE_COLUMNS}) FROM STDIN") as copy:
            for number, r in enumerate(rows, start=1):
                copy.write_row(balance_row(number, r, now))
        with cursor.cursor.copy(f"COPY bench_indexed_postings ({POSTING_COLUMNS}) FROM STDIN") as copy:
            for number, r in enumerate(rows, start=1):
                copy.write_row(posting_row(number, r, now))
        cursor.execute("DROP TABLE bench_balances, bench_indexed_postings")


def raw_copy(rows: list[services.ObligationRow]) -> None:
    """The floor: COPY the same rows, same columns, into a scratch table with no constraints."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_copy (category text, source_reference text, amount numeric(12,2), "
            "driver_id bigint, lease_id bigint, vehicle_id bigint, medallion_id bigint, period date, "
            "description text) ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            "COPY bench_copy (category, source_reference, amount, driver_id, lease_id, vehicle_id, medallion_id, "
            "period, description) FROM STDIN"
        ) as copy:
            for r in rows:
                copy.write_row(
                    (
                        r.category,
                        r.source_reference,
                        r.amount,
                        r.driver_id,
                        r.lease_id,
                        r.vehicle_id,
                        r.medallion_id,
                        r.period,
                        r.description,
                    )
                )


@benchmark("ledger")
def ledger_benchmark(report: Report) -> None:
    leases, count = report.n(10_000), report.n(100_000)
    fleet = demo_fleet(report, leases)
    rows = obligation_rows(fleet, count, random.Random(20250928))

    with report.timed("copy") as copy_time:
        raw_copy(rows)
    copy_rate = report.rate("raw COPY of the input rows (9 columns)", count, copy_time["seconds"])
    with report.timed("copy postings") as copy_postings_time:
        raw_copy_postings(rows)
    with report.timed("copy indexed") as copy_indexed_time:
        raw_copy_into_indexed_tables(rows)
    indexed_rate = report.rate(
        "raw COPY into balance + posting tables with the ledger's indexes", count, copy_indexed_time["seconds"]
    )
    posting_copy_rate = report.rate(
        "raw COPY of the same rows as postings (16 columns)", count, copy_postings_time["seconds"]
    )
    with report.timed("post") as post_time, transaction.atomic():
        posted = services.post_obligations(rows=rows)
    post_rate = report.rate("post_obligations (balances + postings)", len(posted), post_time["seconds"])
    if len(posted) != count:
        raise RuntimeError(f"expected {count} new postings on a fresh database, got {len(posted)}")
    ratio = post_rate / copy_rate
    report.line("ratio bulk path / raw COPY of the input rows", f"{ratio:.2f}")
    report.line("ratio bulk path / raw COPY of posting-shaped rows", f"{post_rate / posting_copy_rate:.2f}")
    fair = post_rate / indexed_rate
    report.line("ratio bulk path / raw COPY into the indexed ledger tables", f"{fair:.2f}")
    report.budget("budget: bulk path >= 1/4 of raw COPY (input rows)", ratio >= 0.25, f"{ratio:.2f}")
    # The fair floor: what the ledger's own indexes and checks cost, written by COPY (issue 16).
    report.budget("budget: bulk path >= 1/2 of the fair floor (indexed tables)", fair >= 0.5, f"{fair:.2f}")

    with report.timed("repost") as again, transaction.atomic():
        reposted = services.post_obligations(rows=rows)
    report.line("re-posting the same rows (idempotent no-op)", f"{len(reposted)} posted in {again['seconds']:.3f} s")

    open_per_lease = ObligationBalance.objects.filter(due_period__lte=PERIOD, status="OPEN").count() / len(fleet)
    rng = random.Random(7)
    earnings = [
        services.EarningsRow(
            driver_id=driver_id,
            lease_id=lease_id,
            period=PERIOD,
            amount=Decimal(rng.randint(20_000, 200_000)).scaleb(-2),
        )
        for lease_id, driver_id, _, _ in fleet
    ]
    with report.timed("waterfall") as waterfall, transaction.atomic():
        result = services.apply_earnings_bulk(rows=earnings)
    report.rate(
        f"apply_earnings_bulk ({open_per_lease:.1f} payable balances per lease)", len(fleet), waterfall["seconds"]
    )
    report.line(
        "  received / applied / unapplied",
        f"{result.received:,} / {result.applied:,} / {result.unapplied:,}; {result.closed:,} balances closed",
    )
    report.budget(
        "budget: waterfall for 10,000 leases × 6 balances < 2 s",
        waterfall["seconds"] * 10_000 / len(fleet) < 2,
        f"{waterfall['seconds']:.2f} s for {len(fleet):,} leases",
    )
    with report.timed("check") as check:
        call_command("check_ledger", stdout=io.StringIO())
    report.line("check_ledger over the whole bench ledger", f"sound, {check['seconds']:.2f} s")
