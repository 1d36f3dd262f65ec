"""`manage.py bench demo demo_fleet`: what `seed_demo` costs — the default demo (50 leases and eight
weeks of history, what `make run` loads) and a bare fleet of 10,000 leases with their schedules.
The README quotes these figures. Each runs on its own empty scratch database."""

from __future__ import annotations

import io

from django.core.management import call_command

from lease_schedules.models import LeaseInstallment
from operations.bench import BARE_FLEET, Report, benchmark
from operations.demo_history import DEFAULT_WEEKS
from statements.models import DriverTransactionReport, Trip


@benchmark("demo")
def demo_benchmark(report: Report) -> None:
    leases = report.n(50)
    with report.timed("history") as lived:
        call_command(
            "seed_demo", leases=leases, with_users=True, verbosity=0, stdout=io.StringIO(), stderr=io.StringIO()
        )
    report.line(
        f"seed_demo: {leases} leases and {DEFAULT_WEEKS} weeks of history (make run)",
        f"{lived['seconds']:.1f} s: {Trip.objects.count():,} trips, {DriverTransactionReport.objects.count():,} DTRs",
    )


@benchmark("demo_fleet")
def demo_fleet_benchmark(report: Report) -> None:
    fleet = report.n(10_000)
    with report.timed("fleet") as seeded:
        call_command("seed_demo", leases=fleet, **BARE_FLEET, verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
    installments = LeaseInstallment.objects.count()
    report.line(
        f"seed_demo --history-weeks 0: {fleet:,} leases with their schedules",
        f"{seeded['seconds']:.1f} s: {installments:,} lease installments",
    )
