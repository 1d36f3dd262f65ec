"""Repairs benchmark (issue 4): the list endpoint over 100,000 invoices and a 10,000-row xlsx export.

`manage.py bench repairs` runs it on a scratch database of its own (it writes a synthetic fleet
and invoices).

Invoices are bulk-inserted (entering 100,000 through the service, one durable transaction each,
would measure the entry path, not the list); their due installments are then posted through the
real weekly job, so totals are read from a ledger that holds ~200,000 obligations.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from batpay.periods import WEEK, period_end
from leases.models import Driver, Lease, Medallion, Vehicle
from operations.bench import Report, benchmark
from plans.lifecycle import PlanStatus
from plans.matrix import split_amount, weekly_installment
from plans.services import post_due_installments
from repairs.models import RepairInstallment, RepairInvoice
from repairs.plan import REPAIRS

FIRST_WEEK = dt.date(2024, 1, 7)
STATUSES = [PlanStatus.OPEN] * 12 + [PlanStatus.CLOSED] * 4 + [PlanStatus.DRAFT, PlanStatus.HOLD, PlanStatus.CANCELLED]


def seed(*, invoices: int = 100_000, leases: int = 2_000, seed_value: int = 4) -> None:
    """A synthetic fleet and `invoices` repair invoices with their schedules (set-based inserts)."""
    rng = random.Random(seed_value)
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    with transaction.atomic():
        drivers = Driver.objects.bulk_create(
            Driver(first_name=f"Bench{n}", last_name=f"Driver{n % 97}", tlc_license_number=f"{8000000 + n}")
            for n in range(leases)
        )
        vehicles = Vehicle.objects.bulk_create(
            Vehicle(vin=f"3BENCH00{n:09d}", plate_number=f"B{n:06d}", make="Toyota", model="Camry", year=2022)
            for n in range(leases)
        )
        medallions = Medallion.objects.bulk_create(
            Medallion(number=f"{n % 10}{letters[n // 1000 % 23]}{n // 10 % 100:02d}") for n in range(leases)
        )
        fleet = Lease.objects.bulk_create(
            Lease(
                lease_number=f"BENCH-{n:05d}",
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
    for start in range(0, invoices, 10_000):
        with transaction.atomic():
            plans, schedules = [], []
            for n in range(start, min(start + 10_000, invoices)):
                lease = fleet[rng.randrange(len(fleet))]
                amount = Decimal(rng.randrange(5_000, 450_000)) / 100
                week = FIRST_WEEK + WEEK * rng.randrange(0, 95)
                plans.append(
                    RepairInvoice(
                        repair_id=f"RPR-2024-{n + 1:06d}",
                        driver_id=lease.primary_driver_id,
                        lease_id=lease.pk,
                        vehicle_id=lease.vehicle_id,
                        medallion_id=lease.medallion_id,
                        invoice_number=f"W-{n:07d}",
                        invoice_date=week - dt.timedelta(days=rng.randrange(1, 20)),
                        workshop_type=rng.choice(RepairInvoice.WorkshopType.values),
                        repair_description="Synthetic benchmark repair",
                        repair_amount=amount,
                        weekly_installment_amount=weekly_installment(amount),
                        start_week=week,
                        status=rng.choice(STATUSES),
                    )
                )
                schedules.append(split_amount(amount))
            RepairInvoice.objects.bulk_create(plans, batch_size=2_000)
            RepairInstallment.objects.bulk_create(
                (
                    RepairInstallment(
                        plan=plan,
                        installment_id=REPAIRS.installment_id(plan.repair_id, k),
                        sequence=k,
                        period_start=plan.start_week + WEEK * (k - 1),
                        period_end=period_end(plan.start_week + WEEK * (k - 1)),
                        amount=part,
                        status="CANCELLED" if plan.status == PlanStatus.CANCELLED else "SCHEDULED",
                    )
                    for plan, parts in zip(plans, schedules, strict=True)
                    for k, part in enumerate(parts, start=1)
                ),
                batch_size=5_000,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _timed(client: APIClient, url: str, params: dict, runs: int) -> tuple[list[float], int]:
    timings = []
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params} answered {response.status_code}: {response.content[:500]!r}")
    count = len(queries.captured_queries)
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - started) * 1000)
    return timings, count


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(*, invoices: int = 100_000, runs: int = 60, export_rows: int = 10_000) -> dict:
    """Seed (when the database has fewer invoices), post due installments, then time the list and export."""
    report: dict = {}
    if RepairInvoice.objects.count() < invoices:
        started = time.perf_counter()
        seed(invoices=invoices)
        report["seed_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        summary = post_due_installments(source=REPAIRS, period=dt.date(2025, 6, 1))
        elapsed = time.perf_counter() - started
        report["posting"] = {
            "installments": summary.installments,
            "amount": str(summary.amount),
            "seconds": round(elapsed, 2),
            "per_second": round(summary.installments / elapsed) if elapsed else None,
        }
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    client = APIClient()
    client.force_authenticate(user)
    sample = RepairInvoice.objects.order_by("pk").values("driver_id", "lease_id", "vehicle_id")[invoices // 2]
    cases = {
        "no filter": {},
        "page 200": {"page": 200},
        "driver_id": {"driver_id": sample["driver_id"]},
        "lease_id + status": {"lease_id": sample["lease_id"], "status": "OPEN"},
        "status=HOLD, ordering=-repair_amount": {"status": "HOLD", "ordering": "-repair_amount"},
        "invoice date range": {"invoice_date_after": "2024-06-01", "invoice_date_before": "2024-06-30"},
        "amount range, ordering=invoice_date": {
            "repair_amount_min": "1000",
            "repair_amount_max": "1500",
            "ordering": "invoice_date",
        },
        "search invoice number": {"search": "W-0049"},
        "search repair id": {"search": "RPR-2024-050000"},
    }
    report["list"] = {}
    everything: list[float] = []
    for name, params in cases.items():
        timings, queries = _timed(client, "/api/repairs/", {"page_size": 50, **params}, runs)
        everything += timings
        report["list"][name] = {
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(_pct(timings, 95), 1),
            "queries": queries,
        }
    report["list_all"] = {"p50_ms": round(statistics.median(everything), 1), "p95_ms": round(_pct(everything, 95), 1)}

    low, high = _export_window(export_rows)
    started = time.perf_counter()
    response = client.get(
        "/api/repairs/export", {"format": "xlsx", "invoice_date_after": low, "invoice_date_before": high}
    )
    if response.status_code != 200:
        raise RuntimeError(f"the export answered {response.status_code}: {response.content[:500]!r}")
    report["export_xlsx"] = {
        "rows": RepairInvoice.objects.filter(invoice_date__range=(low, high)).count(),
        "seconds": round(time.perf_counter() - started, 2),
        "bytes": len(response.content),
    }
    return report


def _export_window(rows: int) -> tuple[str, str]:
    """An invoice-date range holding about `rows` invoices."""
    dates = RepairInvoice.objects.order_by("invoice_date").values_list("invoice_date", flat=True)
    return dates[0].isoformat(), dates[rows - 1].isoformat()


@benchmark("repairs")
def repairs_benchmark(report: Report) -> None:
    figures = run(invoices=report.n(100_000), export_rows=report.n(10_000))
    report.line("seed invoices and schedules (bulk inserts)", f"{figures['seed_seconds']} s")
    posting = figures["posting"]
    report.line(
        "weekly job: post every due repair installment",
        f"{posting['installments']:,} in {posting['seconds']} s = {posting['per_second']:,}/s",
    )
    for name, row in figures["list"].items():
        report.line(
            f"GET /api/repairs/ page_size=50, {name}",
            f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, {row['queries']} queries",
        )
    overall = figures["list_all"]
    report.budget(
        "budget: list p95 < 50 ms", overall["p95_ms"] < 50, f"p50 {overall['p50_ms']} ms, p95 {overall['p95_ms']} ms"
    )
    export = figures["export_xlsx"]
    report.line("xlsx export", f"{export['rows']:,} rows in {export['seconds']} s ({export['bytes']:,} bytes)")
    report.budget("budget: xlsx export of 10,000 rows < 10 s", export["seconds"] < 10, f"{export['seconds']} s")
