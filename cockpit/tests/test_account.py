"""A driver's account (docs/rules.md, "The cockpit"): ageing buckets, plans with paid and outstanding,
the statement for a date range from as-of reads (its closing equals the as-of balance to the cent),
the same account over the API, and a query count that does not grow with the driver's history."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from cockpit import account as accounts
from cockpit.tests.conftest import TODAY, W1, W, charge
from ledger import services
from ledger.selectors import balances_as_of
from plans.services import post_due_installments
from repairs.plan import REPAIRS
from repairs.services import repair_create

pytestmark = pytest.mark.django_db


def staff_client(user) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_ageing_buckets_by_days_since_the_due_week_began(history, today):
    found = accounts.account(driver=history["ana"], today=today)
    # 10-15 − 09-28 = 17 days (8–30); 10-15 − 10-05 = 10 days (8–30); 10-15 − 10-12 = 3 days (0–7).
    rows = {row.category: row.buckets for row in found.ageing}
    assert rows == {
        "EZPASS": (D("20.00"), 0, 0, 0, 0),
        "LEASE": (0, D("400.00"), 0, 0, 0),
        "REPAIRS": (0, D("300.00"), 0, 0, 0),
    }
    assert found.outstanding == D("720.00")
    later = accounts.account(driver=history["ana"], today=today + dt.timedelta(days=100))  # 117 and 103 days
    assert {row.category: row.buckets for row in later.ageing}["LEASE"] == (0, 0, 0, 0, D("400.00"))
    assert {row.category: row.buckets for row in later.ageing}["EZPASS"] == (0, 0, 0, 0, D("20.00"))
    call_command("check_ledger")


def test_plans_show_paid_and_outstanding_from_the_ledger(today, fleet, make_user):
    finance = make_user("Finance")
    lease = fleet.lease(start_date=W)
    repair = repair_create(
        actor=finance,
        driver_id=lease.primary_driver_id,
        lease_id=lease.pk,
        vehicle_id=lease.vehicle_id,
        medallion_id=lease.medallion_id,
        invoice_number="INV-1",
        invoice_date=W,
        workshop_type="BIG_APPLE",
        repair_description="Brakes",
        repair_amount=D("450.00"),
        start_week=W,
        confirm=True,
    )
    post_due_installments(source=REPAIRS, period=W1)  # 2 × 100.00 posted of 100 × 4 + 50
    services.apply_earnings(driver=lease.primary_driver, lease=lease, period=W1, amount=D("130.00"))
    (line,) = [p for p in accounts.plans_of(driver_id=lease.primary_driver_id) if p.source == "repairs"]
    assert (line.plan_id, line.total, line.paid, line.outstanding) == (
        repair.repair_id,
        D("450.00"),
        D("130.00"),
        D("320.00"),
    )
    call_command("check_ledger")


def test_statement_closing_is_the_as_of_balance(history, today):
    ana = history["ana"]
    found = accounts.statement(driver=ana, date_from=dt.date(2025, 10, 1), date_to=TODAY)
    # Opening: LEASE 500.00 effective 09-28. In range: REPAIRS 300.00 (10-05), earnings 100.00 (10-11),
    # EZPASS 20.00 (10-12).
    assert found.opening == D("500.00")
    assert [(line.category, line.charge, line.payment, line.balance) for line in found.lines] == [
        ("REPAIRS", D("300.00"), 0, D("800.00")),
        ("LEASE", 0, D("100.00"), D("700.00")),
        ("EZPASS", D("20.00"), 0, D("720.00")),
    ]
    as_of = sum(row.outstanding for row in balances_as_of(as_of=TODAY, driver_id=ana.pk))
    assert found.closing == as_of == D("720.00")
    earlier = accounts.statement(driver=ana, date_from=W, date_to=dt.date(2025, 10, 4))
    assert (earlier.opening, earlier.closing) == (0, D("500.00"))
    call_command("check_ledger")


def test_account_pages_and_statement_pdf(history, make_user):
    client = staff_client(make_user("Cashier"))
    ana, lease_a = history["ana"], history["lease_a"]
    page = client.get(f"/admin/account/drivers/{ana.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="account-outstanding"' in html and "720.00" in html
    assert f"/admin/ledger/receipt/interim-payment/?driver={ana.pk}&amp;lease={lease_a.pk}" in html
    lease_page = client.get(f"/admin/account/leases/{lease_a.pk}/")
    assert lease_page.status_code == 200 and "lease " + lease_a.lease_number in lease_page.content.decode()
    pdf = client.get(
        f"/admin/account/drivers/{ana.pk}/statement/", {"date_from": "2025-10-01", "date_to": "2025-10-15"}
    )
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Ana Alvarez" in text and "720.00" in text and "500.00" in text
    wrong = client.get(
        f"/admin/account/drivers/{ana.pk}/statement/", {"date_from": "2025-10-15", "date_to": "2025-10-01"}
    )
    assert wrong.status_code == 200 and "before it starts" in wrong.content.decode()
    assert client.get("/admin/account/drivers/999999/").status_code == 404
    driver_page = client.get(f"/admin/leases/driver/{ana.pk}/change/").content.decode()
    assert f"/admin/account/drivers/{ana.pk}/" in driver_page
    assert (
        f"/admin/account/leases/{lease_a.pk}/"
        in client.get(f"/admin/leases/lease/{lease_a.pk}/change/").content.decode()
    )
    call_command("check_ledger")


def test_account_api(history, make_user, api_client_for):
    ana = history["ana"]
    body = api_client_for(make_user("Manager")).get(f"/api/drivers/{ana.pk}/account").json()
    assert body["outstanding"] == "720.00"
    assert [(row["category"], row["days_0_7"], row["days_8_30"]) for row in body["ageing"]] == [
        ("EZPASS", "20.00", "0.00"),
        ("LEASE", "0.00", "400.00"),
        ("REPAIRS", "0.00", "300.00"),
    ]
    assert [r["amount"] for r in body["receipts"]] == ["100.00"]
    assert [d["period"] for d in body["dtrs"]] == [W1.isoformat()]
    assert api_client_for(make_user("Manager")).get("/api/drivers/999999/account").status_code == 404
    assert api_client_for(make_user()).get(f"/api/drivers/{ana.pk}/account").status_code == 403


def test_account_page_query_count_does_not_grow_with_history(history, make_user, django_assert_max_num_queries):
    client = staff_client(make_user(superuser=True))
    url = f"/admin/account/drivers/{history['ana'].pk}/"
    with django_assert_max_num_queries(40) as small:
        assert client.get(url).status_code == 200
    lease = history["lease_a"]
    for n in range(10):
        charge(lease, "MISC", "5.00", f"MORE-{n}", W1)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


@settings(max_examples=15)
@given(
    charges=st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 50_000), st.sampled_from(["LEASE", "REPAIRS", "MISC"])),
        min_size=1,
        max_size=6,
    ),
    payments=st.lists(st.integers(1, 30_000), max_size=3),
    start=st.integers(0, 40),
    length=st.integers(0, 40),
)
def test_any_statement_closes_on_the_as_of_balance_and_ages_to_the_cent(today, fleet, charges, payments, start, length):
    """Whatever was charged and paid, and whatever range is printed: opening and closing are the as-of
    balances at the range's ends, each line moves the balance by its amount, and the ageing buckets
    add up to what is owed."""
    lease = fleet.lease(start_date=W - dt.timedelta(weeks=6))
    driver = lease.primary_driver
    for n, (weeks_back, cents, category) in enumerate(charges):
        charge(lease, category, str(D(cents) / 100), f"H-{lease.pk}-{n}", W1 - dt.timedelta(weeks=weeks_back))
    for n, cents in enumerate(payments):
        services.apply_interim_payment(
            driver=driver, lease=lease, amount=D(cents) / 100, method="CASH", idempotency_key=f"h-{lease.pk}-{n}"
        )
    date_from = W - dt.timedelta(weeks=6) + dt.timedelta(days=start)
    date_to = min(TODAY, date_from + dt.timedelta(days=length))

    def owed(day):
        return sum((row.outstanding for row in balances_as_of(as_of=day, driver_id=driver.pk)), D(0))

    found = accounts.statement(driver=driver, date_from=date_from, date_to=date_to)
    assert found.opening == owed(date_from - dt.timedelta(days=1))
    assert found.closing == owed(date_to) == found.opening + found.charges - found.payments
    running = found.opening
    for line in found.lines:
        running += line.charge - line.payment
        assert line.balance == running >= 0
    account = accounts.account(driver=driver, today=TODAY)
    assert sum(account.bucket_totals, D(0)) == account.outstanding == owed(TODAY)
