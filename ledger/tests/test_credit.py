"""Credit nothing will consume: a Controller applies it to another balance of the driver or
refunds it — through the API and the admin, with every refusal writing nothing."""

import json
from decimal import Decimal as D

import pytest

from batpay.roles import CASHIER, CONTROLLER, FINANCE, MANAGER
from ledger import services
from ledger.models import Category, ObligationBalance, Posting, Receipt, Refund

RECEIPTS = "/api/ledger/receipts/"


def charge(lease, category, amount, ref):
    return services.create_obligation(
        category=category, amount=D(amount), source_reference=ref, driver=lease.primary_driver, lease=lease
    )


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def counts():
    return (Posting.objects.count(), Refund.objects.count(), list(Receipt.objects.values_list("pk", "unapplied")))


@pytest.fixture
def stranded(fleet):
    """A driver's credit of 300.00 on one lease with nothing to pay, and a fee open on another."""
    lease = fleet.lease()
    driver = lease.primary_driver
    receipt = services.record_prepayment(driver=driver, lease=lease, amount=D("300.00"), method="CASH")
    other = fleet.lease(driver=driver)
    fee = charge(other, Category.CANCELLATION_FEE, "120.00", other.lease_number)
    taxes = charge(other, Category.TAXES, "10.00", "TAX-X")
    stranger = charge(fleet.lease(), Category.MISC, "50.00", "MISC-X")
    return {"receipt": receipt, "fee": fee, "taxes": taxes, "stranger": stranger, "lease": lease}


def test_a_controller_applies_credit_to_another_lease_then_refunds_the_rest(stranded, make_user, api_client_for):
    controller = api_client_for(make_user(CONTROLLER))
    receipt, fee = stranded["receipt"], stranded["fee"]

    applied = post_json(
        controller, f"{RECEIPTS}{receipt.pk}/apply-credit", {"balance_id": fee.pk, "reason": "Fee of the new lease"}
    )
    assert applied.status_code == 201, applied.json()
    body = applied.json()
    assert (body["amount"], body["category"], body["entry_type"], body["receipt_id"]) == (
        "120.00",
        "CANCELLATION_FEE",
        "CREDIT",
        receipt.pk,
    )
    refunded = post_json(
        controller,
        f"{RECEIPTS}{receipt.pk}/refund/",
        {"method": "CHECK", "reference": "CHK-77", "reason": "Driver left the fleet", "amount": "100.00"},
    )
    assert refunded.status_code == 201, refunded.json()
    assert (refunded.json()["amount"], refunded.json()["reference"]) == ("100.00", "CHK-77")

    receipt.refresh_from_db()
    fee.refresh_from_db()
    assert (receipt.unapplied, fee.status) == (D("80.00"), "CLOSED")
    listed = controller.get("/api/ledger/refunds/?method=CHECK").json()
    assert [(r["amount"], r["receipt_id"]) for r in listed["results"]] == [("100.00", receipt.pk)]
    waiting = controller.get(f"{RECEIPTS}?has_credit=true").json()
    assert [r["id"] for r in waiting["results"]] == [receipt.pk]


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"balance": "fee", "reason": "short"}, 400, "reason"),
        ({"balance": "taxes", "reason": "Taxes are earnings' job"}, 400, "balance_id"),
        ({"balance": "stranger", "reason": "Another driver's charge"}, 400, "balance_id"),
        ({"balance": "fee", "reason": "More than the balance", "amount": "120.01"}, 400, "amount"),
        ({"balance": "fee", "reason": "Exponent is not money", "amount": "1e2"}, 400, "amount"),
        ({"balance": 99999999, "reason": "No such balance here"}, 400, "balance_id"),
    ],
)
def test_apply_credit_refusals_write_nothing(stranded, admin_api, body, status, field):
    body = dict(body)
    balance = body.pop("balance")
    body["balance_id"] = stranded[balance].pk if isinstance(balance, str) else balance
    before = counts()
    response = post_json(admin_api, f"{RECEIPTS}{stranded['receipt'].pk}/apply-credit", body)
    assert response.status_code == status, response.json()
    assert field in response.json()["fields"]
    assert counts() == before


def test_refund_refusals_and_roles(stranded, make_user, api_client_for, admin_api):
    receipt = stranded["receipt"]
    url = f"{RECEIPTS}{receipt.pk}/refund"
    good = {"method": "ACH", "reference": "TRACE-1", "reason": "Driver left the fleet"}
    before = counts()
    for role in (CASHIER, FINANCE, MANAGER):
        assert post_json(api_client_for(make_user(role)), url, good).status_code == 403
    assert post_json(admin_api, url, {**good, "reference": ""}).status_code == 400
    assert post_json(admin_api, url, {**good, "method": "BITCOIN"}).status_code == 400
    assert post_json(admin_api, url, {**good, "amount": "300.01"}).status_code == 400
    assert post_json(admin_api, url, {**good, "refunded_on": "2999-01-01"}).status_code == 400
    assert post_json(admin_api, f"{RECEIPTS}987654/refund", good).status_code == 404
    assert counts() == before

    assert post_json(admin_api, url, good).status_code == 201
    again = post_json(admin_api, url, good)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    earnings = services.apply_earnings(
        driver=stranded["lease"].primary_driver, lease=stranded["lease"], period=receipt.period, amount=D("10.00")
    )
    refused = post_json(admin_api, f"{RECEIPTS}{earnings.pk}/refund", good)
    assert refused.status_code == 400 and "receipt_id" in refused.json()["fields"]


def test_the_admin_credit_page_applies_and_refunds(stranded, client, make_user):
    user = make_user(CONTROLLER)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    receipt, fee = stranded["receipt"], stranded["fee"]
    change = client.get(f"/admin/ledger/receipt/{receipt.pk}/change/")
    assert "Apply or refund this credit" in change.content.decode()
    url = f"/admin/ledger/receipt/{receipt.pk}/credit/"
    page = client.get(url)
    assert page.status_code == 200 and "Credit waiting: 300.00" in page.content.decode()

    before = counts()
    short = client.post(url, {"do": "apply", "apply-balance": fee.pk, "apply-reason": "short"})
    assert short.status_code == 200 and "at least 10 characters" in short.content.decode()
    assert counts() == before

    done = client.post(url, {"do": "apply", "apply-balance": fee.pk, "apply-reason": "Fee of the other lease"})
    assert done.status_code == 302
    refund = client.post(
        url,
        {
            "do": "refund",
            "refund-method": "CASH",
            "refund-reference": "VOUCHER-9",
            "refund-reason": "Paid back at the window",
        },
    )
    assert refund.status_code == 302
    receipt.refresh_from_db()
    assert receipt.unapplied == D("0.00")
    assert Refund.objects.get().amount == D("180.00")
    assert ObligationBalance.objects.get(pk=fee.pk).status == "CLOSED"
    assert client.get("/admin/ledger/refund/").status_code == 200
    assert client.get("/admin/ledger/receipt/?credit=ended").status_code == 200

    cashier = make_user(CASHIER)
    cashier.is_staff = True
    cashier.save(update_fields=["is_staff"])
    client.force_login(cashier)
    assert client.get(url).status_code == 403
