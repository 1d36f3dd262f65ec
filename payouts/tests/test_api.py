"""The payouts API: maker-checker by role and by person, files only of approved runs, returns and
voided checks idempotent, account numbers never shown whole."""

import datetime as dt
from decimal import Decimal as D

import pytest

from batpay.models import AuditEvent
from leases.models import Driver
from ledger.due import due_by_driver
from ledger.models import Category
from payouts import crypto, nacha, services
from payouts.models import BankAccount, Payout, PayoutRun
from payouts.tests.helpers import CHASE, at, charge, close_week, earn

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)


@pytest.fixture
def week(fleet, monkeypatch):
    """A closed week: an ACH driver with 250.00 due, a check driver with 90.00 due."""
    at(monkeypatch, dt.date(2025, 10, 1))
    ach = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.ACH))
    check = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.CHECK))
    services.set_bank_account(
        driver=ach.primary_driver, routing_number=CHASE, account_number="000111222333", account_type="CHECKING"
    )
    charge(ach, Category.LEASE, "50.00", "L-A", P1)
    earn(ach, P1, "300.00")
    earn(check, P1, "90.00")
    at(monkeypatch, P2, 5)
    close_week(P1)
    at(monkeypatch, P2, 7)
    return {"ach": ach, "check": check}


def test_finance_prepares_a_controller_approves_and_finance_downloads(week, make_user, api_client_for):
    maker, checker = make_user("Finance"), make_user("Controller")
    finance, controller = api_client_for(maker), api_client_for(checker)

    assert controller.post("/api/payouts/runs/", {"period": "2025-09-28"}, format="json").status_code == 403
    created = finance.post("/api/payouts/runs/", {"period": "2025-09-28"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["payout_count"], body["total"], body["ach_total"]) == (
        "PREPARED",
        2,
        "340.00",
        "250.00",
    )
    again = finance.post("/api/payouts/runs/", {"period": "2025-09-28"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    run_id = body["id"]

    refused = finance.get(f"/api/payouts/runs/{run_id}/nacha")
    assert refused.status_code == 404 and "only an approved run" in refused.json()["message"]
    assert finance.post(f"/api/payouts/runs/{run_id}/approve").status_code == 403  # Finance is not the checker
    approved = controller.post(f"/api/payouts/runs/{run_id}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED"

    file = finance.get(f"/api/payouts/runs/{run_id}/nacha")
    assert file.status_code == 200 and file["Content-Type"].startswith("text/plain")
    parsed = nacha.parse(file.content.decode("ascii"))
    assert [(e.account_number, e.amount) for e in parsed.entries] == [("000111222333", D("250.00"))]
    pdf = finance.get(f"/api/payouts/runs/{run_id}/check-register")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    csv = finance.get(f"/api/payouts/runs/{run_id}/positive-pay").content.decode()
    assert ",100001,2025-10-05,90.00," in csv

    listed = finance.get("/api/payouts/payouts/", {"run_id": run_id, "method": "ACH"}).json()["results"]
    assert [(p["amount"], p["account_last4"], p["status"]) for p in listed] == [("250.00", "2333", "ISSUED")]
    assert "000111222333" not in str(finance.get("/api/payouts/payouts/").json())
    assert finance.post(f"/api/payouts/runs/{run_id}/paid").json()["status"] == "PAID"


def test_the_preparer_cannot_approve_even_with_both_roles(week, make_user, api_client_for):
    both = make_user("Finance")
    both.groups.add(*make_user("Controller").groups.all())
    client = api_client_for(both)
    run_id = client.post("/api/payouts/runs/", {"period": "2025-09-28"}, format="json").json()["id"]
    refused = client.post(f"/api/payouts/runs/{run_id}/approve")
    assert refused.status_code == 409
    assert "another user must approve" in refused.json()["message"]
    assert PayoutRun.objects.get(pk=run_id).status == "PREPARED"
    assert not Payout.objects.filter(status="ISSUED").exists()


def test_a_period_not_closed_is_refused(week, admin_api):
    response = admin_api.post("/api/payouts/runs/", {"period": "2025-10-05"}, format="json")
    assert response.status_code == 400 and "period" in response.json()["fields"]  # not even over yet
    response = admin_api.post("/api/payouts/runs/", {"period": "2025-09-21"}, format="json")
    assert response.status_code == 409 and "not closed" in response.json()["message"]


def test_returns_and_check_voids_through_the_api_are_idempotent(week, make_user, api_client_for):
    maker, checker = make_user("Finance"), make_user("Controller")
    run, _ = services.prepare_run(period=P1, actor=maker)
    services.approve_run(run_id=run.pk, actor=checker)
    trace = Payout.objects.get(method="ACH").trace_number
    finance, controller = api_client_for(maker), api_client_for(checker)

    body = {"trace_number": trace, "return_code": "R03"}
    first = finance.post("/api/payouts/returns/", body, format="json")
    assert first.status_code == 200 and first.json()["status"] == "RETURNED"
    assert finance.post("/api/payouts/returns/", body, format="json").json()["return_code"] == "R03"
    assert due_by_driver(until=P1) == {week["ach"].primary_driver_id: D("250.00")}
    bad = finance.post("/api/payouts/returns/", {"trace_number": "12", "return_code": "R03"}, format="json")
    assert bad.status_code == 400 and "trace_number" in bad.json()["fields"]

    assert (
        finance.post("/api/payouts/check-voids/", {"check_number": 100001, "reason": "Lost in mail"}).status_code == 403
    )
    short = controller.post("/api/payouts/check-voids/", {"check_number": 100001, "reason": "lost"}, format="json")
    assert short.status_code == 400 and "reason" in short.json()["fields"]
    voided = controller.post(
        "/api/payouts/check-voids/", {"check_number": 100001, "reason": "Lost in the mail"}, format="json"
    )
    assert voided.status_code == 200 and voided.json()["status"] == "VOIDED"
    assert due_by_driver(until=P1)[week["check"].primary_driver_id] == D("90.00")
    missing = controller.post("/api/payouts/check-voids/", {"check_number": 999, "reason": "Lost in the mail"})
    assert missing.status_code == 400 and "check_number" in missing.json()["fields"]


def test_a_cancelled_run_pays_nothing_and_its_period_can_be_prepared_again(week, make_user, api_client_for):
    maker, checker = make_user("Finance"), make_user("Controller")
    run, _ = services.prepare_run(period=P1, actor=maker)
    response = api_client_for(checker).post(
        f"/api/payouts/runs/{run.pk}/cancel", {"reason": "Wrong minimum configured"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    assert due_by_driver(until=P1) == {
        week["ach"].primary_driver_id: D("250.00"),
        week["check"].primary_driver_id: D("90.00"),
    }
    again, created = services.prepare_run(period=P1, actor=maker)
    assert created and again.pk != run.pk and again.total == D("340.00")
    assert api_client_for(maker).post(f"/api/payouts/runs/{run.pk}/paid").status_code == 409


def test_bank_details_are_encrypted_audited_and_rotated(fleet, make_user, settings):
    from cryptography.fernet import Fernet

    finance = make_user("Finance")
    driver = fleet.driver()
    old_key = Fernet.generate_key().decode()
    settings.PAYOUT_ENCRYPTION_KEYS = [old_key]
    account = services.set_bank_account(
        driver=driver, routing_number=CHASE, account_number="44445555", account_type="SAVINGS", actor=finance
    )
    stored = BankAccount.objects.get(pk=account.pk)
    assert "44445555" not in stored.account_number_encrypted and stored.account_last4 == "5555"
    assert Fernet(old_key).decrypt(stored.account_number_encrypted.encode()) == b"44445555"
    event = AuditEvent.objects.get(action="payouts.set_bank_account")
    assert event.actor == finance and "44445555" not in str(event.payload)
    assert event.payload["after"]["account_last4"] == "5555"

    new_key = Fernet.generate_key().decode()
    settings.PAYOUT_ENCRYPTION_KEYS = [new_key, old_key]
    assert services.rotate_keys() == 1
    settings.PAYOUT_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(BankAccount.objects.get(pk=account.pk).account_number_encrypted) == "44445555"

    with pytest.raises(Exception, match="check digit"):
        services.set_bank_account(
            driver=driver, routing_number="021000022", account_number=None, account_type="CHECKING"
        )
