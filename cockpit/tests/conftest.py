"""A small fleet with a known history, the same for the dashboard, account and API tests.

Weeks: W = 2025-09-28, W1 = 2025-10-05 (the last closed week), today Wed 2025-10-15 (week 10-12).
- Ana (lease A): LEASE 500.00 due W; REPAIRS 300.00 due W1; EZPASS 20.00 due this week;
  W1's card earnings 100.00 pay the LEASE (400.00 left).
- Ben (lease B): LEASE 150.00 due W1; a cashier's 50.00 today pays it (100.00 left).
- DTRs of W1: A nets 100.00 − 300.00 = −200.00, B nets 0 − 150.00 = −150.00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from batpay.testing import set_clock
from ledger import services
from ledger.selectors import open_balances
from statements.close import close_earnings
from statements.dtr import generate_dtrs

W = dt.date(2025, 9, 28)
W1 = dt.date(2025, 10, 5)
TODAY = dt.date(2025, 10, 15)


@pytest.fixture
def today(monkeypatch):
    set_clock(monkeypatch, "2025-10-15T12:00:00-04:00")
    assert timezone.localdate() == TODAY
    return TODAY


def charge(lease, category, amount, ref, period):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=lease.primary_driver,
        lease=lease,
        period=period,
    )


@pytest.fixture
def history(today, fleet, make_user):
    cashier = make_user("Cashier")
    ana = fleet.driver(first_name="Ana", last_name="Alvarez")
    ben = fleet.driver(first_name="Ben", last_name="Brown")
    lease_a = fleet.lease(driver=ana, start_date=W)
    lease_b = fleet.lease(driver=ben, start_date=W)
    charge(lease_a, "LEASE", "500.00", "A-LEASE-W", W)
    charge(lease_a, "REPAIRS", "300.00", "A-RPR-W1", W1)
    charge(lease_a, "EZPASS", "20.00", "A-EZP-NOW", dt.date(2025, 10, 12))
    charge(lease_b, "LEASE", "150.00", "B-LEASE-W1", W1)
    services.apply_earnings(driver=ana, lease=lease_a, period=W1, amount=D("100.00"))
    close_earnings(period=W1)
    generate_dtrs(period=W1, render=False)
    balance = open_balances(driver_id=ben.pk, lease_id=lease_b.pk).get()
    services.apply_interim_payment(
        driver=ben,
        lease=lease_b,
        amount=D("50.00"),
        method="CASH",
        allocations=[services.Allocation(balance_id=balance.pk, amount=D("50.00"))],
        actor=cashier,
        idempotency_key="test-cashier-ben",
    )
    return {"ana": ana, "ben": ben, "lease_a": lease_a, "lease_b": lease_b, "cashier": cashier}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test (`rep_call`), so the browser fixture can tell a failure
    and keep a screenshot of it."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
