"""The payouts admin: bank details entered whole and shown by their last four digits, a run prepared
by Finance and approved by a Controller, its files, a return and a voided check typed in."""

import datetime as dt

import pytest
from django.urls import reverse

from leases.models import Driver
from payouts import nacha
from payouts.models import BankAccount, Payout, PayoutRun
from payouts.tests.helpers import CHASE, at, close_week, earn

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)


def staff(user):
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def closed_week(fleet, monkeypatch):
    at(monkeypatch, dt.date(2025, 10, 1))
    ach = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.ACH))
    check = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.CHECK))
    earn(ach, P1, "250.00")
    earn(check, P1, "90.00")
    at(monkeypatch, P2, 5)
    close_week(P1)
    at(monkeypatch, P2, 7)
    return ach, check


def test_finance_and_a_controller_pay_a_week_from_the_admin(client, make_user, closed_week):
    ach, _ = closed_week
    finance, controller = staff(make_user("Finance")), staff(make_user("Controller"))
    client.force_login(finance)

    added = client.post(
        reverse("admin:payouts_bankaccount_add"),
        {"driver": ach.primary_driver_id, "routing_number": CHASE, "account_type": "CHECKING",
         "account_number": "0099887766"},
    )  # fmt: skip
    assert added.status_code == 302, added.content[:2000]
    account = BankAccount.objects.get(driver=ach.primary_driver)
    assert account.account_last4 == "7766" and "0099887766" not in account.account_number_encrypted
    page = client.get(reverse("admin:payouts_bankaccount_changelist")).content.decode()
    assert "••••7766" in page and "0099887766" not in page
    wrong = client.post(
        reverse("admin:payouts_bankaccount_add"),
        {"driver": ach.primary_driver_id, "routing_number": "021000022", "account_type": "CHECKING",
         "account_number": "1234"},
    )  # fmt: skip
    assert wrong.status_code == 200 and "check digit" in wrong.content.decode()

    prepared = client.post(reverse("admin:payouts_payoutrun_prepare"), {"period": "2025-09-28"})
    assert prepared.status_code == 302
    run = PayoutRun.objects.get()
    assert (run.status, run.total, run.prepared_by) == ("PREPARED", 340, finance)
    changelist = reverse("admin:payouts_payoutrun_changelist")
    client.post(changelist, {"action": "approve_selected", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == "PREPARED"  # Finance holds no approve permission: the action is not offered

    client.force_login(controller)
    client.post(changelist, {"action": "approve_selected", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert (run.status, run.approved_by) == ("APPROVED", controller)

    client.force_login(finance)
    file = client.get(reverse("admin:payouts_payoutrun_nacha", args=[run.pk]))
    assert file.status_code == 200
    assert [e.amount for e in nacha.parse(file.content.decode("ascii")).entries] == [250]
    assert client.get(reverse("admin:payouts_payoutrun_checks", args=[run.pk])).content.startswith(b"%PDF")

    payout = Payout.objects.get(method="ACH")
    payouts = reverse("admin:payouts_payout_changelist")
    client.post(
        payouts,
        {"action": "return_selected", "_selected_action": [payout.pk], "confirm": "yes", "return_code": "R02"},
    )
    payout.refresh_from_db()
    assert (payout.status, payout.return_code) == ("RETURNED", "R02")

    client.force_login(controller)
    check = Payout.objects.get(method="CHECK")
    client.post(
        payouts,
        {"action": "void_selected", "_selected_action": [check.pk], "confirm": "yes", "reason": "Payee never got it"},
    )
    check.refresh_from_db()
    assert check.status == "VOIDED"
