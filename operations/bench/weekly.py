"""`manage.py bench weekly_close`: a fleet's week from its trips file to its DTRs, and PDFs per second.

A seed_demo fleet of 10,000 leases (`--leases`; with `--weeks K`, K closed weeks of history first,
`operations.bench.history`) gets the week's LEASE charges (and EZPASS on some), and a
trips CSV of about 30 realistic trips per lease (additional drivers drive some; two in three
paid by card). The file is imported, then the week is closed — TAXES charges and EARNINGS
through the waterfall — and every lease gets its DTR snapshot. The DTR PDFs are rendered
separately: a sample of them, one process, so the rate is per core.

`--weeks K` first lives K weeks before the measured one through the real path (each week's charges,
card earnings applied through the waterfall, the week closed, its DTRs issued), so the measured
week starts from history, and prints the DTR step's cost per lease week by week beside the
builder it replaced (statements/tests/snapshots_before.py, timed in a transaction rolled back).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction
from pypdf import PdfReader

from batpay.periods import WEEK, last_closed_period, local_instant, local_zone, period_bounds, period_end
from leases.models import Lease
from ledger import services
from ledger.categories import Category
from operations.bench import BARE_FLEET, Report, benchmark
from operations.bench.history import analyze_like_autovacuum
from statements.close import close_earnings
from statements.dtr import BATCH_SIZE, generate_dtrs
from statements.models import DriverTransactionReport
from statements.pdf import render_pdf
from statements.snapshots import leases_due_a_dtr
from statements.tests import snapshots_before
from statements.trips import COLUMNS, import_trips

TRIPS_PER_LEASE = 30
PDF_SAMPLE = 50
CENT = Decimal("0.01")


def _fleet(report: Report, leases: int, period: dt.date) -> list[tuple]:
    """Leases in force on the week's Saturday, with their drivers, medallion and dates."""
    with report.timed("seed_demo") as t:
        call_command(
            "seed_demo",
            leases=leases,
            as_of=period_end(period),
            **BARE_FLEET,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    report.rate("fleet: seed_demo leases (in force on the week's Saturday)", leases, t["seconds"])
    rows = []
    for lease in Lease.objects.select_related("primary_driver", "medallion").prefetch_related("additional_drivers"):
        extra = [driver.tlc_license_number for driver in lease.additional_drivers.all()]
        rows.append((lease, [lease.primary_driver.tlc_license_number, *extra]))
    return rows


def _charges(fleet, period: dt.date, rng: random.Random) -> None:
    rows = []
    for lease, _ in fleet:
        common = {"driver_id": lease.primary_driver_id, "lease_id": lease.pk, "period": period}
        rows.append(
            services.ObligationRow(
                category=Category.LEASE,
                source_reference=f"BENCH-LEASE-{lease.pk}-{period}",
                amount=lease.weekly_rate,
                description="Weekly lease",
                **common,
            )
        )
        if rng.random() < 0.5:
            rows.append(
                services.ObligationRow(
                    category=Category.EZPASS,
                    source_reference=f"BENCH-EZP-{lease.pk}-{period}",
                    amount=Decimal(rng.randint(500, 6000)) * CENT,
                    description="E-ZPass tolls",
                    **common,
                )
            )
    services.post_obligations(rows=rows)


def _in_force(fleet, period: dt.date) -> list[tuple]:
    end = period_end(period)
    return [row for row in fleet if row[0].start_date <= end and (row[0].end_date is None or row[0].end_date >= period)]


def _old_dtr_step(period: dt.date) -> tuple[int, float]:
    """The DTR step as it was before issue 16 — snapshots read from each lease's whole history,
    rows written by bulk_create — timed in a transaction that is rolled back."""
    due = leases_due_a_dtr(period=period)
    started = time.perf_counter()
    with transaction.atomic():
        for offset in range(0, len(due), BATCH_SIZE):
            snapshots = snapshots_before.build_snapshots(period=period, lease_ids=due[offset : offset + BATCH_SIZE])
            rows = [
                DriverTransactionReport(
                    dtr_number=f"BENCH-{lease_id}",
                    lease_id=lease_id,
                    driver_id=snapshot["driver"]["id"],
                    period=period,
                    snapshot=snapshot,
                    card_earnings=Decimal(snapshot["card_earnings"]),
                    subtotal_of_deductions=Decimal(snapshot["subtotal_of_deductions"]),
                    prior_balance=Decimal(snapshot["totals"]["prior_balance"]),
                    balance_carried_forward=Decimal(snapshot["totals"]["balance_carried_forward"]),
                    total_due_to_driver=Decimal(snapshot["total_due_to_driver"]),
                )
                for lease_id, snapshot in sorted(snapshots.items())
            ]
            DriverTransactionReport.objects.bulk_create(rows, batch_size=1000)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return len(due), seconds


def _per_lease(seconds: float, leases: int) -> float:
    return seconds / max(leases, 1) * 1e6


def _history(report: Report, fleet, period: dt.date, rng: random.Random) -> dict[str, float]:
    """`report.weeks` weeks closed before `period`, oldest first. Earnings run from 60 % to 150 % of
    the week's lease, so some drivers fall behind and arrears build up. Returns the first week's
    cost per lease, new and old."""
    first: dict[str, float] = {}
    for n in range(report.weeks, 0, -1):
        week = period - n * WEEK
        live = _in_force(fleet, week)
        _charges(live, week, rng)
        services.apply_earnings_bulk(
            rows=[
                services.EarningsRow(
                    driver_id=lease.primary_driver_id,
                    lease_id=lease.pk,
                    period=week,
                    amount=(lease.weekly_rate * Decimal(rng.randint(60, 150)) / 100).quantize(CENT),
                )
                for lease, _ in live
            ]
        )
        close_earnings(period=week)
        if not first:
            count, seconds = _old_dtr_step(week)
            first["old"] = _per_lease(seconds, count)
        started = time.perf_counter()
        summary = generate_dtrs(period=week, render=False)
        seconds = time.perf_counter() - started
        first.setdefault("new", _per_lease(seconds, summary.generated))
        per_lease = _per_lease(seconds, summary.generated)
        analyze_like_autovacuum()  # what autovacuum would have done by the next week
        report.line(
            f"  history week {report.weeks - n + 1} ({week}): generate_dtrs",
            f"{summary.generated:>9,} DTRs in {seconds:7.3f} s = {per_lease:6.0f} µs per lease",
        )
    return first


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _trip_row(rng: random.Random, trip_id: str, license_: str, medallion: str, start: dt.datetime) -> list[str]:
    fare = Decimal(rng.randint(800, 6500)) * CENT
    card = rng.random() < 2 / 3
    tips = (fare * Decimal(rng.choice((0, 15, 20, 25))) / 100).quantize(CENT) if card else Decimal("0.00")
    airport = rng.random() < 0.08
    tolls = Decimal("6.94") if airport and rng.random() < 0.5 else Decimal("0.00")
    manhattan = rng.random() < 0.7
    fees = [
        Decimal("0.50"),
        Decimal("1.00"),
        Decimal("2.50") if manhattan else Decimal("0.00"),
        Decimal("0.75") if manhattan else Decimal("0.00"),
        Decimal("1.75") if airport else Decimal("0.00"),
    ]
    total = fare + tips + tolls + sum(fees)
    # Real minutes added to a UTC instant, both times written with their offset: minutes added to a
    # wall time could land in the hour skipped in March, and 01:30 in November means either 01:30.
    start = local_instant(start)
    end = start + dt.timedelta(minutes=rng.randint(6, 55))
    return [
        trip_id,
        license_,
        medallion,
        start.astimezone(local_zone()).isoformat(timespec="seconds"),
        end.astimezone(local_zone()).isoformat(timespec="seconds"),
        "CARD" if card else "CASH",
        _money(fare),
        _money(tips),
        _money(tolls),
        *(_money(fee) for fee in fees),
        _money(total),
    ]


def write_trips(path: Path, fleet, period: dt.date, per_lease: int, rng: random.Random) -> int:
    """The week's trips as the card-payment system exports them; each within its lease's dates."""
    first, _ = period_bounds(period)
    week_start = first.replace(tzinfo=None)
    count = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for lease, licenses in fleet:
            days = [
                day
                for day in range(7)
                if lease.start_date <= period + dt.timedelta(days=day)
                and (lease.end_date is None or lease.end_date >= period + dt.timedelta(days=day))
            ]
            for n in range(per_lease):
                day = rng.choice(days)
                start = week_start + dt.timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 60))
                license_ = licenses[0] if rng.random() < 0.75 else rng.choice(licenses)
                writer.writerow(_trip_row(rng, f"{lease.lease_number}-{period:%Y%m%d}-{n:03d}", license_,
                                          lease.medallion.number, start))  # fmt: skip
                count += 1
    return count


@benchmark("weekly_close")
def weekly_close_benchmark(report: Report) -> None:
    leases = report.leases or report.n(10_000)
    period = last_closed_period()
    rng = random.Random(20250928)
    fleet = _fleet(report, leases, period)
    first = _history(report, fleet, period, rng) if report.weeks else {}
    _charges(fleet, period, rng)
    report.line("week", f"{period} – {period_end(period)}; LEASE charges for every lease, EZPASS for about half")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trips.csv"
        with report.timed("write csv") as written:
            rows = write_trips(path, fleet, period, TRIPS_PER_LEASE, rng)
        report.rate(f"trips CSV written ({path.stat().st_size / 1e6:.1f} MB)", rows, written["seconds"])
        with report.timed("import") as imported, path.open("rb") as stream:
            batch = import_trips(stream=stream, file_name=path.name)
        report.rate("import_trips (parse, COPY, match, insert)", batch.imported, imported["seconds"])
        report.line(
            "  rows / new / kept for review",
            f"{batch.rows:,} / {batch.imported:,} / {batch.kept_for_review:,}",
        )
        per_100k = imported["seconds"] * 100_000 / max(batch.rows, 1)
        report.budget("budget: 100,000 rows import < 20 s", per_100k < 20, f"{per_100k:.1f} s per 100,000 rows")
        with report.timed("reimport") as again, path.open("rb") as stream:
            repeat = import_trips(stream=stream, file_name=path.name)
        report.line(
            "re-importing the same file (no-op)",
            f"{repeat.imported} new, {repeat.already_imported:,} already imported in {again['seconds']:.2f} s",
        )

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with report.timed("close") as close_time:
        summary = close_earnings(period=period)
    report.rate("close_earnings: TAXES + EARNINGS, waterfall (leases)", summary.leases, close_time["seconds"])
    report.line(
        "  taxes / earnings / applied / due to drivers",
        f"{summary.taxes:,} / {summary.earnings:,} / {summary.applied:,} / {summary.unapplied:,}",
    )
    old_count, old_seconds = _old_dtr_step(period)
    with report.timed("dtrs") as dtr_time:
        dtrs = generate_dtrs(period=period, render=False)
    report.rate("generate_dtrs: DTR snapshots", dtrs.generated, dtr_time["seconds"])
    report.rate("  the step before issue 16 (whole history, bulk_create; rolled back)", old_count, old_seconds)
    new_now, old_now = _per_lease(dtr_time["seconds"], dtrs.generated), _per_lease(old_seconds, old_count)
    report.line("  new / old time per lease", f"{new_now:.0f} / {old_now:.0f} µs = ×{old_now / new_now:.1f} faster")
    if first:
        report.line(
            f"  µs per lease, history week 1 → this week ({report.weeks} weeks deep)",
            f"new {first['new']:.0f} → {new_now:.0f} (×{new_now / first['new']:.2f}); "
            f"old {first['old']:.0f} → {old_now:.0f} (×{old_now / first['old']:.2f})",
        )
    total = close_time["seconds"] + dtr_time["seconds"]
    scaled = total * 10_000 / leases
    report.line("weekly_close (close_earnings + generate_dtrs)", f"{total:.2f} s for {leases:,} leases")
    report.budget("budget: weekly_close for 10,000 leases < 60 s", scaled < 60, f"{scaled:.1f} s per 10,000 leases")
    report.line("  with the trips import before it", f"{total + imported['seconds']:.2f} s")

    with report.timed("rerun") as rerun:
        again_close = close_earnings(period=period)
        again_dtrs = generate_dtrs(period=period, render=False)
    report.line(
        "re-running both steps (idempotent no-op)",
        f"closed already: {again_close.already_closed}, {again_dtrs.generated} DTRs in {rerun['seconds']:.2f} s",
    )
    with report.timed("check") as check:
        call_command("check_ledger", stdout=io.StringIO())
    report.line("check_ledger over the whole bench ledger", f"sound, {check['seconds']:.2f} s")

    sample = list(DriverTransactionReport.objects.order_by("?")[:PDF_SAMPLE])
    render_pdf(sample[0])  # the first render loads WeasyPrint and the fonts
    with report.timed("pdf") as pdf_time:
        pdfs = [render_pdf(dtr) for dtr in sample]
    rate = len(sample) / pdf_time["seconds"]
    pages = sum(len(PdfReader(io.BytesIO(content)).pages) for content in pdfs)
    report.line(
        f"DTR PDFs rendered in one process ({len(sample)}, {pages} pages)",
        f"{pdf_time['seconds']:.2f} s = {rate:.1f} PDFs per second per core",
    )
    report.line("  a week's PDFs for 10,000 leases on one core", f"{10_000 / rate / 60:.0f} min")
