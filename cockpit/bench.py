"""`manage.py bench dashboard`: the dashboard and a driver's account page at 10,000 leases, p50/p95.

The fleet is `seed_demo`'s (10,000 leases) with seven closed weeks of lease installments posted by
the Sunday job (LEASE charges, none paid by earnings: everything past due), cashier payments on one
lease in fifty, 10,000 open repairs and 10,000 open loans (`bench sunday`'s
seeding, their first installments due and unposted). Each page is served by the test client to a
superuser (who sees every panel), full request and template included, after one warm-up request.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client

from batpay.periods import current_period, period_end, previous_period
from leases.models import Lease
from ledger import selectors as ledger_selectors
from ledger import services
from operations.bench import BARE_FLEET, Report, benchmark
from operations.bench.fleet import seed_plans
from operations.jobs import run_posting_job

LEASES = 10_000
WEEKS = 8
REQUESTS = 40
DASHBOARD_BUDGET_MS = 300


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def _seed(report: Report, leases: int, rng: random.Random) -> None:
    week = current_period()
    weeks = [week]
    for _ in range(WEEKS - 1):
        weeks.append(previous_period(weeks[-1]))
    with report.timed("seed") as t:
        call_command("seed_demo", leases=leases, as_of=period_end(weeks[-1]), **BARE_FLEET, stdout=io.StringIO())
        fleet = list(Lease.objects.values_list("pk", "primary_driver_id", "weekly_rate"))
        # The Sunday job of each closed week posts the leases' installments (oldest week first).
        for period in reversed(weeks[1:]):
            run_posting_job(source="leases", period=period)
        seed_plans(repairs=leases, loans=leases, period=previous_period(week), rng=rng)
        # Cashier payments on a sample of the leases: the collections series and partly paid balances.
        paid = rng.sample(fleet, max(1, len(fleet) // 50))
        leases = Lease.objects.select_related("primary_driver").in_bulk([lease_id for lease_id, _, _ in paid])
        for lease_id, driver_id, rate in paid:
            balance = ledger_selectors.open_balances(driver_id=driver_id, lease_id=lease_id).first()
            services.apply_interim_payment(
                driver=leases[lease_id].primary_driver,
                lease=leases[lease_id],
                amount=min(balance.outstanding, rate / 2),
                method="CASH",
                allocations=[services.Allocation(balance_id=balance.pk, amount=min(balance.outstanding, rate / 2))],
                actor=None,
                idempotency_key=f"bench-dash-{lease_id}",
            )
        # Bulk-loaded tables have no statistics (and posted installments leave dead index entries) until
        # autovacuum gets to them; a live database has had it.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    report.line("seed: leases, 7 weeks of lease postings, repairs, loans, payments", f"{t['seconds']:.1f} s")


def _time_pages(client: Client, urls: list[str]) -> list[float]:
    client.get(urls[0])  # warm-up: templates compiled, connections open
    samples = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return samples


@benchmark("dashboard")
def dashboard_benchmark(report: Report) -> None:
    rng = random.Random(15)
    leases = report.n(LEASES)
    _seed(report, leases, rng)
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
    client = Client()
    client.force_login(user)
    drivers = list(Lease.objects.values_list("primary_driver_id", flat=True))
    dashboard = _time_pages(client, ["/admin/"] * REQUESTS)
    account = _time_pages(client, [f"/admin/account/drivers/{rng.choice(drivers)}/" for _ in range(REQUESTS)])
    report.line(f"{'page (' + str(leases) + ' leases, ' + str(REQUESTS) + ' requests)':<40}", "p50 ms    p95 ms")
    for label, samples in (("dashboard (/admin/)", dashboard), ("driver account page", account)):
        p50, p95 = _percentiles(samples)
        report.line(f"{label:<40}", f"{p50:6.1f}    {p95:6.1f}")
    report.line("load average (1 min) when measured", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU(s)")
    p50, p95 = _percentiles(dashboard)
    report.budget("dashboard p95 under 300 ms", p95 < DASHBOARD_BUDGET_MS, f"p95 {p95:.1f} ms")
