"""Repair entry in the admin: the start week as Current / Next / a Sunday, its preview, and its errors."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from batpay.testing import set_clock
from repairs.models import RepairInvoice

from .test_admin import CHANGELIST, form

TODAY = "2025-10-08T10:00:00-04:00"  # a Wednesday; its week starts on Sunday 2025-10-05


@pytest.fixture
def staff(finance) -> Client:
    finance.is_staff = True
    finance.save()
    client = Client()
    client.force_login(finance)
    return client


def picked(lease, choice: str, sunday: str = "", **overrides) -> dict:
    """The form as the browser posts it: the start week's choice and its calendar, not the plain field."""
    data = form(lease, **overrides)
    del data["start_week"]
    return {**data, "start_week_0": choice, "start_week_1": sunday}


@pytest.mark.parametrize("choice", ["CURRENT", "NEXT"])
def test_a_valid_current_or_next_is_not_refused_beside_another_field_s_error(staff, fleet, monkeypatch, choice):
    set_clock(monkeypatch, TODAY)
    lease = fleet.lease()

    response = staff.post(f"{CHANGELIST}add/", picked(lease, choice, repair_amount="-5"))

    errors = response.context["adminform"].form.errors
    assert response.status_code == 200 and set(errors) == {"repair_amount"}, errors
    assert "invalid date format" not in response.content.decode()
    # The choice is kept on the re-shown form.
    assert f'<option value="{choice}" selected>' in response.content.decode()
    assert RepairInvoice.objects.count() == 0


@pytest.mark.parametrize(
    ("choice", "sunday", "week"),
    [("CURRENT", "", dt.date(2025, 10, 5)), ("NEXT", "", dt.date(2025, 10, 12)), ("SUNDAY", "2025-09-28", None)],
)
def test_the_start_week_choices_resolve_to_their_sunday(staff, fleet, monkeypatch, choice, sunday, week):
    set_clock(monkeypatch, TODAY)
    lease = fleet.lease()

    response = staff.post(f"{CHANGELIST}add/", picked(lease, choice, sunday))

    assert response.status_code == 302, response.context["adminform"].form.errors
    invoice = RepairInvoice.objects.get()
    assert invoice.start_week == (week or dt.date.fromisoformat(sunday))
    assert list(invoice.installments.values_list("period_start", flat=True))[0] == invoice.start_week


def test_a_sunday_choice_needs_a_sunday(staff, fleet, monkeypatch):
    set_clock(monkeypatch, TODAY)
    lease = fleet.lease()

    not_sunday = staff.post(f"{CHANGELIST}add/", picked(lease, "SUNDAY", "2025-10-08"))
    empty = staff.post(f"{CHANGELIST}add/", picked(lease, "SUNDAY", ""))

    assert "2025-10-08 is not a Sunday." in not_sunday.context["adminform"].form.errors["start_week"]
    assert "start_week" in empty.context["adminform"].form.errors
    assert RepairInvoice.objects.count() == 0


def test_preview_shows_the_schedule_and_saves_nothing(staff, fleet, monkeypatch):
    set_clock(monkeypatch, TODAY)
    lease = fleet.lease()
    page = staff.get(f"{CHANGELIST}add/").content.decode()
    assert 'name="_preview"' in page and 'name="start_week_0"' in page and 'type="date"' in page
    picker = page[page.index('name="start_week_1"') : page.index(">", page.index('name="start_week_1"'))]
    assert "required" not in picker  # CURRENT and NEXT leave the calendar empty

    response = staff.post(f"{CHANGELIST}add/", {**picked(lease, "NEXT", repair_amount="1250.00"), "_preview": "1"})

    assert response.status_code == 200
    preview = response.context["preview"]
    # 1,250 is in the 1,001–3,000 band: 250 a week, five weeks, from the next week.
    assert [(row["item"].period_start, row["item"].amount, row["left"]) for row in preview["rows"]] == [
        (dt.date(2025, 10, 12) + dt.timedelta(weeks=n), 250, 1250 - 250 * (n + 1)) for n in range(5)
    ]
    page = response.content.decode()
    assert "Schedule preview — nothing is saved yet" in page and "2025-11-09 … 2025-11-15" in page
    assert RepairInvoice.objects.count() == 0

    saved = staff.post(f"{CHANGELIST}add/", picked(lease, "NEXT", repair_amount="1250.00"))
    assert saved.status_code == 302
    assert RepairInvoice.objects.get().installments.count() == 5
    call_command("check_ledger")


def test_the_repair_list_shows_lease_paid_outstanding_and_totals_over_the_filtered_invoices(staff, make_repair):
    from ledger import services as ledger
    from ledger.selectors import balances
    from repairs import services

    paid_one = make_repair("300.00")  # 3 × 100 from P1
    make_repair("1200.00")
    services.repair_installments_post(installment_ids=[f"{paid_one.repair_id}-01"], actor=None)
    balance = balances().get(source_reference=f"{paid_one.repair_id}-01")
    ledger.apply_interim_payment(
        driver=paid_one.driver,
        lease=paid_one.lease,
        amount=Decimal("60.00"),
        method="CASH",
        allocations=[ledger.Allocation(balance_id=balance.pk, amount=Decimal("60.00"))],
    )

    page = staff.get(CHANGELIST)
    html = page.content.decode()
    changelist = page.context["cl"]
    row = next(plan for plan in changelist.result_list if plan.pk == paid_one.pk)
    assert (row.total_paid, row.outstanding_balance) == (Decimal("60.00"), Decimal("240.00"))
    assert f'href="/admin/leases/lease/{paid_one.lease_id}/change/">{paid_one.lease.lease_number}</a>' in html
    assert '<td class="field-status_label">Open</td>' in html
    totals = dict(zip(changelist.list_display, changelist.totals_row, strict=True))
    assert (totals["repair_amount"], totals["paid"], totals["outstanding"]) == ("1,500.00", "60.00", "1,440.00")
    filtered = staff.get(CHANGELIST, {"q": paid_one.repair_id}).context["cl"]
    assert dict(zip(filtered.list_display, filtered.totals_row, strict=True))["outstanding"] == "240.00"
    call_command("check_ledger")
