"""Security deposits: collected by the Sunday posting, held, released after the lease ends — every
amount to the cent, each scenario ending with check_ledger."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from batpay.errors import Conflict, InvalidInput
from batpay.roles import CONTROLLER, FINANCE, MANAGER
from batpay.testing import set_clock
from deposits import selectors, services
from deposits.models import Deposit
from lease_schedules.services import lease_terminate
from ledger import services as ledger
from ledger.models import Category, ObligationBalance, Receipt
from operations.jobs import run_deposit_release, run_posting_job
from statements.snapshots import build_snapshots


def at(monkeypatch, day: str):
    set_clock(monkeypatch, f"{day}T10:00:00-05:00")


def held(deposit):
    deposit = Deposit.objects.get(pk=deposit.pk)
    selectors.attach_held([deposit])
    return deposit.deposit_held


@pytest.fixture
def collected(fleet, finance, monkeypatch):
    """A 300.00 deposit in 3 weekly installments from 2025-10-19; two collected from earnings,
    then the lease is terminated on Saturday 2025-11-01 with an 80.00 fee and a 30.00 misc charge open."""
    at(monkeypatch, "2025-10-15")
    lease = fleet.lease()
    driver = lease.primary_driver
    deposit = services.deposit_create(
        driver_id=driver.pk, lease_id=lease.pk, deposit_amount="300.00", collection="INSTALLMENTS",
        installment_count=3, actor=finance,
    )  # fmt: skip
    assert [(str(i.period_start), i.amount) for i in deposit.installments.order_by("sequence")] == [
        ("2025-10-19", D("100.00")),
        ("2025-10-26", D("100.00")),
        ("2025-11-02", D("100.00")),
    ]
    at(monkeypatch, "2025-10-19")
    assert run_posting_job(source="deposits", period=dt.date(2025, 10, 19)).count == 1
    at(monkeypatch, "2025-10-26")
    first = ledger.apply_earnings(driver=driver, lease=lease, period=dt.date(2025, 10, 19), amount=D("150.00"))
    assert run_posting_job(source="deposits", period=dt.date(2025, 10, 26)).count == 1
    at(monkeypatch, "2025-11-02")
    second = ledger.apply_earnings(driver=driver, lease=lease, period=dt.date(2025, 10, 26), amount=D("100.00"))
    lease_terminate(
        actor=finance, lease=lease, termination_date=dt.date(2025, 11, 1), reason="Driver left", cancellation_fee="80"
    )
    ledger.create_obligation(
        category=Category.MISC, amount=D("30.00"), source_reference="MISC-T", driver=driver, lease=lease
    )
    # The Sunday run cancels the installment of the week after the lease's last day instead of posting it.
    run = run_posting_job(source="deposits", period=dt.date(2025, 11, 2))
    assert (run.count, run.details["installments_cancelled"]) == (0, 1)
    return {"deposit": deposit, "lease": lease, "first": first, "second": second, "driver": driver}


def test_a_deposit_collected_in_installments_is_released_30_days_after_the_lease_ends(collected, monkeypatch):
    deposit, first, second = collected["deposit"], collected["first"], collected["second"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.unapplied, second.unapplied) == (D("50.00"), D("0.00"))
    assert held(deposit) == D("200.00")
    assert selectors.held_for_driver(driver_id=collected["driver"].pk) == D("200.00")

    at(monkeypatch, "2025-11-30")  # 29 days after the last day: still held
    assert run_deposit_release().count == 0
    assert held(deposit) == D("200.00")

    at(monkeypatch, "2025-12-01")
    run = run_deposit_release()
    assert (run.count, run.amount, run.details["applied"]) == (1, D("200.00"), "110.00")
    deposit.refresh_from_db()
    assert (deposit.released_amount, deposit.applied_amount, deposit.status) == (D("200.00"), D("110.00"), "CLOSED")
    assert held(deposit) == D("0.00")
    # MISC (30.00) before the cancellation fee (80.00), oldest receipt first: the first week's returned
    # 100.00 pays 30.00 + 70.00, the second's pays 10.00 and leaves 90.00.
    outstanding = dict(
        ObligationBalance.objects.exclude(category=Category.DEPOSIT).values_list("category", "outstanding")
    )
    assert outstanding == {"MISC": D("0.00"), "CANCELLATION_FEE": D("0.00")}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.unapplied, second.unapplied) == (D("50.00"), D("90.00"))  # 140.00 due to the driver
    assert set(ObligationBalance.objects.filter(category=Category.DEPOSIT).values_list("outstanding", "status")) == {
        (D("0.00"), "CLOSED")
    }
    assert set(deposit.installments.values_list("status", flat=True)) == {"CANCELLED"}
    # The statements: held at the end of the week of the last collection; released in the week of 2025-11-30,
    # whose statement pays out what the release left to the driver (90.00 handed back to the second week's
    # earnings; the first week's 50.00 was due on its own statement).
    lease_id = collected["lease"].pk
    held_week = build_snapshots(period=dt.date(2025, 10, 26), lease_ids=[lease_id])[lease_id]
    release_week = build_snapshots(period=dt.date(2025, 11, 30), lease_ids=[lease_id])[lease_id]
    assert (held_week["format"], held_week["deposit_held"]) == (3, "200.00")
    assert (release_week["deposit_held"], release_week["earnings_returned"]) == ("0.00", "90.00")
    assert release_week["total_due_to_driver"] == "90.00"
    # The next day's run finds nothing: nothing is released twice.
    at(monkeypatch, "2025-12-02")
    assert run_deposit_release().count == 0
    with pytest.raises(Conflict):
        services.deposit_release(deposit_id=deposit.deposit_id, reason="Once more, by mistake")
    call_command("check_ledger")


def test_a_controller_releases_early_through_the_api(collected, make_user, api_client_for, monkeypatch):
    deposit = collected["deposit"]
    url = f"/api/deposits/{deposit.deposit_id}/release"
    body = json.dumps({"reason": "Driver settled everything in person"})
    for role in (FINANCE, MANAGER):
        refused = api_client_for(make_user(role)).post(url, data=body, content_type="application/json")
        assert refused.status_code == 403
    controller = api_client_for(make_user(CONTROLLER))
    short = controller.post(url, data=json.dumps({"reason": "short"}), content_type="application/json")
    assert short.status_code == 400 and "reason" in short.json()["fields"]
    response = controller.post(url, data=body, content_type="application/json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["deposit_held"], data["released_amount"], data["applied_amount"]) == ("0.00", "200.00", "110.00")
    again = controller.post(url, data=body, content_type="application/json")
    assert again.status_code == 409
    due = Receipt.objects.filter(pk__in=[collected["first"].pk, collected["second"].pk]).values_list(
        "unapplied", flat=True
    )
    assert sum(due) == D("140.00")
    call_command("check_ledger")


def test_a_deposit_at_once_is_charged_now_and_paid_like_any_charge(
    fleet, finance, monkeypatch, make_user, api_client_for
):
    at(monkeypatch, "2025-10-15")
    lease = fleet.lease()
    response = api_client_for(make_user(FINANCE)).post(
        "/api/deposits/",
        data=json.dumps({"driver_id": lease.primary_driver.pk, "lease_id": lease.pk, "deposit_amount": "250.00",
                         "collection": "AT_ONCE"}),
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["deposit_held"] == "0.00"
    balance = ObligationBalance.objects.get(category=Category.DEPOSIT)
    assert (balance.outstanding, str(balance.due_period)) == (D("250.00"), "2025-10-12")
    ledger.apply_interim_payment(
        driver=lease.primary_driver, lease=lease, amount=D("250.00"), method="CASH",
        allocations=[ledger.Allocation(balance.pk, D("250.00"))],
    )  # fmt: skip
    assert held(Deposit.objects.get()) == D("250.00")
    with pytest.raises(InvalidInput) as refused:
        services.deposit_create(
            driver_id=lease.primary_driver.pk, lease_id=lease.pk, deposit_amount="10", collection="AT_ONCE"
        )
    assert "lease_id" in refused.value.fields
    listed = api_client_for(make_user(MANAGER)).get("/api/deposits/", {"driver_id": lease.primary_driver.pk})
    assert listed.status_code == 200 and listed.json()["results"][0]["deposit_held"] == "250.00"
    call_command("check_ledger")
