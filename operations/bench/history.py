"""Weeks of history before a benchmark's measured week: `seed_history(report, weeks=K, through=P)`.

A close costs more as history grows (longer posting histories, more open balances in arrears),
which a benchmark starting one week deep never shows. Each history week goes through the real
services, without trip rows (the measured week has those):

1. every posting job (`operations.jobs.run_posting`, recorded JobRuns);
2. the week's card earnings through `apply_earnings_bulk`, drawn per lease so that about one
   driver in five earns less than the lease costs most weeks (arrears build up week after week,
   paid down in an occasional good week) and the rest earn more (paid out, nothing left owing);
3. the week recorded closed in the same transaction (an `EarningsClose` row, as
   `statements.close.close_earnings` records it), so trips of the week are refused like a real one's;
4. the week's DTRs (`statements.dtr.generate_dtrs`, render=False: PDFs of past weeks are not
   what a benchmark measures).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from batpay.money import ZERO, to_money
from batpay.periods import WEEK, period_end
from lease_schedules.services import lease_schedules_adopt, lease_schedules_extend
from leases.models import Lease
from ledger.selectors import balances
from ledger.services import EarningsRow, apply_earnings_bulk
from operations import demo
from operations.bench import Report
from operations.jobs import run_posting
from operations.names import posting_jobs
from statements.dtr import generate_dtrs
from statements.models import EarningsClose

# A lease's driver is "behind" for the whole history with this chance: most weeks they earn less
# than the lease costs, a good week now and then pays some of it back.
BEHIND_SHARE = 0.2
GOOD_WEEK = 0.15
NO_TRIPS_WEEK = 0.03
FLEET_SEED = 16


def _earnings(rng: random.Random, rate: Decimal, behind: bool) -> Decimal:
    if rng.random() < NO_TRIPS_WEEK:
        return ZERO
    if behind:
        factor = rng.uniform(1.5, 3.0) if rng.random() < GOOD_WEEK else rng.uniform(0.2, 0.9)
    else:
        factor = rng.uniform(1.1, 2.0)
    return to_money(rate * Decimal(f"{factor:.4f}"))


def _arrears(before: dt.date) -> tuple[int, Decimal]:
    """Leases with balances due before `before` still open, and what they owe."""
    found = (
        balances()
        .filter(status="OPEN", due_period__lt=before)
        .aggregate(leases=Count("lease_id", distinct=True), owed=Sum("outstanding"))
    )
    return found["leases"], found["owed"] or ZERO


def seed_fleet(report: Report, *, leases: int, period: dt.date, billed_from: dt.date) -> list[tuple]:
    """seed_demo's fleet in force on the measured week's Saturday, its schedules billed from
    `billed_from` (seed_demo's own steps: with BARE_FLEET it would bill from the measured week only,
    leaving the history weeks without lease charges)."""
    started = time.perf_counter()
    fleet = demo.build_fleet(leases=leases, seed=FLEET_SEED, as_of=period_end(period))
    with transaction.atomic():
        demo.insert_fleet(fleet)
        lease_schedules_adopt(billed_from=billed_from)
        installments = lease_schedules_extend()
    report.line(
        f"fleet: {leases:,} leases billed from the week of {billed_from}",
        f"{installments:,} lease installments scheduled in {time.perf_counter() - started:.1f} s",
    )
    rows = []
    for lease in Lease.objects.select_related("primary_driver", "medallion").prefetch_related("additional_drivers"):
        extra = [driver.tlc_license_number for driver in lease.additional_drivers.all()]
        rows.append((lease, [lease.primary_driver.tlc_license_number, *extra]))
    return rows


def analyze_like_autovacuum() -> list[str]:
    """ANALYZE the tables autovacuum would analyze by now (with its default thresholds: more rows
    changed since the last ANALYZE than 50 + 10 % of the table). A server with autovacuum off (or
    one slower than a benchmark's weeks) would otherwise plan month-old tables as if empty. Tables
    never written stay unanalysed, as autovacuum leaves them: a plan made for an empty table can be
    worse than none (the trips import's checks went quadratic after an ANALYZE of an empty table).
    Returns the tables analyzed."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT relname FROM pg_stat_user_tables
            WHERE schemaname = current_schema() AND n_mod_since_analyze > 50 + 0.1 * n_live_tup
            ORDER BY relname
            """
        )
        tables = [name for (name,) in cursor.fetchall()]
        if tables:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(name) for name in tables))
    return tables


def autovacuum_is_on() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "on"


def seed_history(report: Report, *, weeks: int, through: dt.date) -> None:
    """Close the `weeks` periods ending with `through` (a Sunday), oldest first (see the module).

    The fleet's schedules must bill from the first of them (`lease_schedules_adopt(billed_from=…)`).
    """
    if weeks <= 0:
        return
    periods = [through - (weeks - 1 - n) * WEEK for n in range(weeks)]
    rng = random.Random(f"history-{through}-{weeks}")
    leases = list(
        Lease.objects.order_by("pk").values_list("pk", "primary_driver_id", "weekly_rate", "start_date", "end_date")
    )
    behind = {pk for pk, *_ in leases if rng.random() < BEHIND_SHARE}
    timings = {"posting": 0.0, "earnings": 0.0, "dtrs": 0.0}
    report.line(
        "  statistics",
        "ANALYZE after each week where autovacuum would have"
        + ("" if autovacuum_is_on() else " (autovacuum is off on this server)"),
    )
    started = time.perf_counter()
    analyze_like_autovacuum()
    for n, period in enumerate(periods, 1):
        last_day = period_end(period)
        mark = time.perf_counter()
        for job in posting_jobs():
            run_posting(job=job, period=period)
        posting_done = time.perf_counter()
        timings["posting"] += posting_done - mark
        rows = [
            EarningsRow(driver_id=driver_id, lease_id=pk, period=period, amount=_earnings(rng, rate, pk in behind))
            for pk, driver_id, rate, start, end in leases
            if start <= last_day and (end is None or end >= period)
        ]
        with transaction.atomic(durable=True):
            result = apply_earnings_bulk(rows=rows)
            EarningsClose.objects.create(
                period=period, leases=result.receipts, earnings=result.received, completed_at=timezone.now()
            )
        earnings_done = time.perf_counter()
        timings["earnings"] += earnings_done - posting_done
        dtrs = generate_dtrs(period=period, render=False)
        timings["dtrs"] += time.perf_counter() - earnings_done
        analyze_like_autovacuum()
        in_arrears, owed = _arrears(period + WEEK)
        report.write(
            f"    history week {n}/{weeks} ({period}): {result.receipts:,} earnings receipts, {dtrs.generated:,} DTRs, "
            f"{in_arrears:,} leases in arrears owing ${owed:,.2f} ({time.perf_counter() - started:.1f} s)"
        )
    seconds = time.perf_counter() - started
    in_arrears, owed = _arrears(through + WEEK)
    report.figures["history"] = seconds
    report.line(
        f"history: {weeks} weeks closed ({periods[0]} to {through})",
        f"{seconds:.1f} s (posting {timings['posting']:.1f}, earnings {timings['earnings']:.1f}, "
        f"DTRs {timings['dtrs']:.1f})",
    )
    report.line(
        "  arrears at the end of the history",
        f"{in_arrears:,} leases owe ${owed:,.2f} due before {through + WEEK}",
    )
    report.line(
        "  drivers behind / earning more than their lease",
        f"{len(behind):,} / {len(leases) - len(behind):,}",
    )
