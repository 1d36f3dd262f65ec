import io

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from openpyxl import load_workbook

from repairs import services
from repairs.models import RepairInvoice

from .conftest import P1

CHANGELIST = "/admin/repairs/repairinvoice/"
INSTALLMENTS = "/admin/repairs/repairinstallment/"


@pytest.fixture
def staff(finance) -> Client:
    finance.is_staff = True
    finance.save()
    client = Client()
    client.force_login(finance)
    return client


def form(lease_obj, **overrides):
    data = {
        "driver": lease_obj.primary_driver_id,
        "lease": lease_obj.pk,
        "vehicle": "",
        "medallion": "",
        "invoice_number": "ADM-1",
        "invoice_date": "2025-09-30",
        "workshop_type": "EXTERNAL",
        "repair_description": "Transmission",
        "repair_amount": "1200.00",
        "start_week": P1.isoformat(),
        "installments-TOTAL_FORMS": "0",
        "installments-INITIAL_FORMS": "0",
        "installments-MIN_NUM_FORMS": "0",
        "installments-MAX_NUM_FORMS": "0",
    }
    data.update(overrides)
    return data


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_add_saves_a_draft_and_shows_its_schedule_before_confirmation(staff, fleet):
    lease = fleet.lease()
    assert staff.get(f"{CHANGELIST}add/").status_code == 200
    response = staff.post(f"{CHANGELIST}add/", form(lease))
    invoice = RepairInvoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{invoice.pk}/change/"
    assert (invoice.status, invoice.vehicle_id) == ("DRAFT", lease.vehicle_id)

    page = staff.get(response["Location"]).content.decode()
    assert f"{invoice.repair_id}-05" in page and "200.00" in page
    assert "5 weekly installments" in page and ">Confirm<" in page

    # Still a DRAFT: editing rebuilds the schedule.
    response = staff.post(response["Location"], form(lease, repair_amount="300.00", start_week=P1.isoformat()))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(invoice.installments.values_list("amount", flat=True)) == [100, 100, 100]

    response = staff.post(f"{CHANGELIST}{invoice.pk}/transition/confirm/")
    invoice.refresh_from_db()
    assert invoice.status == "OPEN"
    assert any("Confirmed" in m for m in said(response))


def test_admin_shows_refused_rules_on_the_form(staff, fleet, make_repair):
    lease, other = fleet.lease(), fleet.lease()
    response = staff.post(
        f"{CHANGELIST}add/",
        form(lease, lease=other.pk, repair_amount="0", start_week="2025-10-01", invoice_date="2999-01-01"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"lease", "repair_amount", "start_week", "invoice_date"} <= set(errors)
    make_repair(lease=lease, invoice_number="ADM-1")
    response = staff.post(f"{CHANGELIST}add/", form(lease))
    assert response.status_code == 200
    assert "invoice_number" in response.context["adminform"].form.errors
    assert RepairInvoice.objects.count() == 1


def test_confirmed_invoice_only_takes_a_new_description(staff, make_repair):
    invoice = make_repair()
    page = staff.get(f"{CHANGELIST}{invoice.pk}/change/")
    assert set(page.context["adminform"].form.fields) == {"repair_description"}
    response = staff.post(
        f"{CHANGELIST}{invoice.pk}/change/", {**form(invoice.lease), "repair_description": "Clutch, not gearbox"}
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.repair_description, invoice.repair_amount) == ("Clutch, not gearbox", 1200)


def test_hold_and_cancel_ask_for_a_reason_and_refusals_are_messages(staff, make_repair, finance):
    invoice = make_repair()
    url = f"{CHANGELIST}{invoice.pk}/transition/hold/"
    response = staff.post(url)
    assert response.status_code == 200 and b"Reason" in response.content
    staff.post(url, {"apply": "yes", "reason": "driver on vacation"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.status_reason) == ("HOLD", "driver on vacation")
    staff.post(f"{CHANGELIST}{invoice.pk}/transition/resume/")
    invoice.refresh_from_db()
    assert invoice.status == "OPEN"

    services.repair_installments_post(installment_ids=[f"{invoice.repair_id}-01"], actor=finance)
    response = staff.post(f"{CHANGELIST}{invoice.pk}/transition/cancel/", {"apply": "yes", "reason": "too late now"})
    assert response.status_code == 302
    assert any("can no longer be cancelled" in m for m in said(response))
    invoice.refresh_from_db()
    assert invoice.status == "OPEN"


def test_list_actions_search_and_export(staff, make_repair, fleet):
    lease = fleet.lease()
    drafts = [make_repair(confirm=False, lease=lease), make_repair(confirm=False)]
    ids = [str(d.pk) for d in drafts]
    response = staff.post(CHANGELIST, {"action": "confirm_selected", "_selected_action": ids})
    assert response.status_code == 302
    assert set(RepairInvoice.objects.values_list("status", flat=True)) == {"OPEN"}

    response = staff.post(CHANGELIST, {"action": "cancel_selected", "_selected_action": ids[:1]})
    assert response.status_code == 200 and b"Reason" in response.content
    staff.post(CHANGELIST, {"action": "cancel_selected", "_selected_action": ids[:1], "apply": "yes", "reason": "dup"})
    assert RepairInvoice.objects.get(pk=ids[0]).status == "CANCELLED"

    for term in (lease.vehicle.vin, lease.primary_driver.first_name, lease.medallion.number, drafts[0].repair_id):
        page = staff.get(CHANGELIST, {"q": term})
        assert list(page.context["cl"].result_list) == [drafts[0]], term

    response = staff.post(CHANGELIST, {"action": "export_xlsx", "_selected_action": ids})
    rows = list(load_workbook(io.BytesIO(response.getvalue())).active.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[1][rows[0].index("Repair amount")] == 1200
    assert rows[-1][0] == "Total" and rows[-1][rows[0].index("Repair amount")] == 2400


def test_post_selected_installments_from_the_installment_list(staff, make_repair):
    invoice = make_repair("300.00")
    first = invoice.installments.get(sequence=1)
    response = staff.post(INSTALLMENTS, {"action": "post_selected", "_selected_action": [first.pk]})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == "POSTED"
    response = staff.post(INSTALLMENTS, {"action": "post_selected", "_selected_action": [first.pk]})
    assert any("already posted" in m for m in said(response))
    assert staff.get(INSTALLMENTS, {"q": invoice.repair_id}).status_code == 200
    assert staff.get(f"{INSTALLMENTS}{first.pk}/change/").status_code == 200


def test_a_manager_sees_but_cannot_act(make_user, make_repair):
    manager = make_user("Manager")
    manager.is_staff = True
    manager.save()
    client = Client()
    client.force_login(manager)
    invoice = make_repair(confirm=False)
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{invoice.pk}/transition/confirm/").status_code == 403
    response = client.post(CHANGELIST, {"action": "confirm_selected", "_selected_action": [invoice.pk]})
    invoice.refresh_from_db()
    assert invoice.status == "DRAFT" and response.status_code in (200, 302)
