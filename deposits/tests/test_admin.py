"""Deposits in the admin: terms entered by Finance, early release by a Controller, the driver's page."""

from decimal import Decimal as D

from django.core.management import call_command

from batpay.roles import CONTROLLER, FINANCE, MANAGER
from batpay.testing import set_clock
from deposits.models import Deposit
from ledger import services as ledger
from ledger.models import Category, ObligationBalance


def staff(role, make_user):
    user = make_user(role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_finance_enters_terms_a_controller_releases_and_the_driver_page_shows_what_is_held(
    fleet, client, make_user, monkeypatch
):
    set_clock(monkeypatch, "2025-10-15T10:00:00-04:00")
    lease = fleet.lease()
    driver = lease.primary_driver
    client.force_login(staff(FINANCE, make_user))
    form = {"driver": driver.pk, "lease": lease.pk, "deposit_amount": "400.00", "collection": "INSTALLMENTS",
            "installment_count": "1", "start_week": "NEXT"}  # fmt: skip
    refused = client.post("/admin/deposits/deposit/add/", form)
    assert refused.status_code == 200 and not Deposit.objects.exists()
    assert b"From 2 to 52 weekly installments" in refused.content
    saved = client.post("/admin/deposits/deposit/add/", {**form, "collection": "AT_ONCE"})
    assert saved.status_code == 302, saved.content[:800]
    deposit = Deposit.objects.get()
    balance = ObligationBalance.objects.get(category=Category.DEPOSIT)
    assert (deposit.deposit_id, balance.outstanding) == ("DEP-2025-0001", D("400.00"))
    ledger.apply_earnings(driver=driver, lease=lease, period=balance.due_period, amount=D("250.00"))

    client.force_login(staff(MANAGER, make_user))
    page = client.get(f"/admin/leases/driver/{driver.pk}/change/")
    assert page.status_code == 200 and b"Deposit held" in page.content and b"250.00" in page.content
    assert b"release_selected" not in client.get("/admin/deposits/deposit/").content

    client.force_login(staff(CONTROLLER, make_user))
    action = {"action": "release_selected", "_selected_action": [deposit.pk]}
    asked = client.post("/admin/deposits/deposit/", action)
    assert asked.status_code == 200 and b"Release deposits now" in asked.content
    client.post("/admin/deposits/deposit/", {**action, "confirm": "1", "reason": "Driver moved to another fleet"})
    deposit.refresh_from_db()
    assert (deposit.released_amount, deposit.applied_amount) == (D("250.00"), D("0.00"))
    call_command("check_ledger")
