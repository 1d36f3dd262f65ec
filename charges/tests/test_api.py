"""The misc charge and credit API and admin: roles, multipart receipts, lists, exports, reversals."""

import json
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from batpay.roles import CASHIER, CONTROLLER, FINANCE, MANAGER
from batpay.testing import set_clock
from charges.models import MiscCharge, MiscChargeType, MiscCredit
from ledger.models import ObligationBalance, Receipt

CHARGES = "/api/misc-charges/"
CREDITS = "/api/misc-credits/"


@pytest.fixture
def lease(fleet, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    set_clock(monkeypatch, "2025-10-15T10:00:00-04:00")
    return fleet.lease()


def body(lease, **extra):
    return {"driver_id": lease.primary_driver.pk, "lease_id": lease.pk, **extra}


def test_finance_enters_a_charge_with_a_receipt_scan_and_a_controller_reverses_it(lease, make_user, api_client_for):
    finance = api_client_for(make_user(FINANCE))
    scan = SimpleUploadedFile("key.png", b"\x89PNG\r\n\x1a\n-image-", content_type="image/png")
    lost_key = MiscChargeType.objects.get(name="Lost key")
    created = finance.post(CHARGES, body(lease, charge_type_id=lost_key.pk, amount="120.00", receipt_file=scan))
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["misc_id"], data["charge_type"], data["amount"], data["outstanding"]) == (
        "MISC-2025-00001",
        "Lost key",
        "120.00",
        "120.00",
    )
    assert data["has_receipt_file"] is True and data["due_period"] == "2025-10-12"
    url = f"{CHARGES}MISC-2025-00001/reverse"
    reason = json.dumps({"reason": "The key was found in the car"})
    for role in (FINANCE, MANAGER, CASHIER):
        assert api_client_for(make_user(role)).post(url, reason, content_type="application/json").status_code == 403
    reversed_ = api_client_for(make_user(CONTROLLER)).post(url, reason, content_type="application/json")
    assert reversed_.status_code == 200, reversed_.json()
    assert (reversed_.json()["status"], reversed_.json()["outstanding"]) == ("REVERSED", "0.00")
    assert ObligationBalance.objects.get(source_reference="MISC-2025-00001").status == "CLOSED"
    call_command("check_ledger")


def test_refusals_name_the_field_and_write_nothing(lease, make_user, api_client_for):
    finance = api_client_for(make_user(FINANCE))
    cleaning = MiscChargeType.objects.get(name="Cleaning").pk
    cases = [
        (body(lease, charge_type_id=cleaning, amount="0"), "amount"),
        (body(lease, charge_type_id=999999, amount="5.00"), "charge_type_id"),
        ({**body(lease, charge_type_id=cleaning, amount="5.00"), "lease_id": 999999}, "lease_id"),
        (body(lease, charge_type_id=cleaning, amount="5.00",
              receipt_file=SimpleUploadedFile("r.pdf", b"not a pdf")), "receipt_file"),
    ]  # fmt: skip
    for sent, field in cases:
        response = finance.post(CHARGES, sent)
        assert response.status_code == 400, response.json()
        assert field in response.json()["fields"], response.json()
    assert not MiscCharge.objects.exists() and not ObligationBalance.objects.exists()
    assert (
        api_client_for(make_user(CASHIER)).post(CHARGES, body(lease, charge_type_id=cleaning, amount="5")).status_code
        == 403
    )
    call_command("check_ledger")


def test_lists_filter_order_and_export(lease, fleet, make_user, api_client_for):
    finance = api_client_for(make_user(FINANCE))
    other = fleet.lease()
    cleaning = MiscChargeType.objects.get(name="Cleaning").pk
    for target, amount in ((lease, "10.00"), (lease, "30.00"), (other, "20.00")):
        assert finance.post(CHARGES, body(target, charge_type_id=cleaning, amount=amount)).status_code == 201
    manager = api_client_for(make_user(MANAGER))
    listed = manager.get(CHARGES, {"driver_id": lease.primary_driver.pk, "ordering": "-amount"}).json()
    assert [row["amount"] for row in listed["results"]] == ["30.00", "10.00"]
    assert manager.get(CHARGES, {"amount_min": "15", "amount_max": "25"}).json()["count"] == 1
    assert manager.get(CHARGES, {"ordering": "note"}).status_code == 400
    assert manager.get(CHARGES, {"lease": "1"}).status_code == 400
    assert manager.get(f"{CHARGES}MISC-2025-00002/").json()["amount"] == "30.00"
    assert manager.get(f"{CHARGES}MISC-2025-00099/").status_code == 404
    exported = manager.get(f"{CHARGES}export", {"format": "csv", "status": "POSTED"})
    assert exported.status_code == 200
    lines = exported.getvalue().decode().strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("Charge ID,Status,Type")
    assert api_client_for(make_user(CASHIER)).get(f"{CHARGES}export").status_code == 403
    call_command("check_ledger")


def test_a_credit_through_the_api_pays_what_is_owed_and_shows_what_is_due(lease, make_user, api_client_for):
    finance = api_client_for(make_user(FINANCE))
    cleaning = MiscChargeType.objects.get(name="Cleaning").pk
    finance.post(CHARGES, body(lease, charge_type_id=cleaning, amount="60.00"))
    created = finance.post(CREDITS, body(lease, amount="100.00", note="Overcharged last week"), format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["credit_id"], data["applied"], data["due_to_driver"]) == ("MCR-2025-00001", "60.00", "40.00")
    assert Receipt.objects.get(pk=data["receipt_id"]).kind == "DRIVER_CREDIT"
    refused = finance.post(CREDITS, body(lease, amount="10.00", note=""), format="json")
    assert refused.status_code == 400 and "note" in refused.json()["fields"]
    controller = api_client_for(make_user(CONTROLLER))
    reversed_ = controller.post(
        f"{CREDITS}MCR-2025-00001/reverse", {"reason": "Entered on the wrong driver"}, format="json"
    )
    assert reversed_.status_code == 200, reversed_.json()
    assert (reversed_.json()["status"], reversed_.json()["due_to_driver"]) == ("REVERSED", "0.00")
    assert ObligationBalance.objects.get(source_reference="MISC-2025-00001").outstanding == D("60.00")
    assert MiscCredit.objects.get().reversal_charge.source_reference == "MCR-2025-00001-REV"
    call_command("check_ledger")


def staff(role, make_user):
    user = make_user(role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_the_admin_enters_a_charge_and_a_controller_reverses_it_with_a_reason(lease, client, make_user):
    client.force_login(staff(FINANCE, make_user))
    page = client.get("/admin/charges/misccharge/add/")
    assert page.status_code == 200 and b"receipt_file" in page.content
    cleaning = MiscChargeType.objects.get(name="Cleaning").pk
    form = {"driver": lease.primary_driver.pk, "lease": lease.pk, "charge_type": cleaning, "amount": "-5", "note": ""}
    refused = client.post("/admin/charges/misccharge/add/", form)
    assert refused.status_code == 200 and not MiscCharge.objects.exists()
    saved = client.post("/admin/charges/misccharge/add/", {**form, "amount": "45.00"})
    assert saved.status_code == 302, saved.content[:500]
    charge = MiscCharge.objects.get()
    assert (charge.misc_id, charge.amount, charge.obligation.outstanding) == ("MISC-2025-00001", D("45.00"), D("45.00"))
    assert client.get(f"/admin/charges/misccharge/{charge.pk}/change/").status_code == 200

    client.force_login(staff(CONTROLLER, make_user))
    action = {"action": "reverse_selected", "_selected_action": [charge.pk]}
    asked = client.post("/admin/charges/misccharge/", action)
    assert asked.status_code == 200 and b"Reverse misc charges" in asked.content
    client.post("/admin/charges/misccharge/", {**action, "confirm": "1", "reason": "Charged twice by mistake"})
    charge.refresh_from_db()
    assert charge.status == "REVERSED"
    call_command("check_ledger")
