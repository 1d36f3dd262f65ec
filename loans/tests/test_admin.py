import io
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from openpyxl import load_workbook

from loans import services
from loans.models import Loan

CHANGELIST = "/admin/loans/loan/"
INSTALLMENTS = "/admin/loans/loaninstallment/"
INLINE = {
    "installments-TOTAL_FORMS": "0",
    "installments-INITIAL_FORMS": "0",
    "installments-MIN_NUM_FORMS": "0",
    "installments-MAX_NUM_FORMS": "0",
}


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
        "loan_amount": "1200.00",
        "interest_rate": "10",
        "loan_date": "2025-10-01",
        "start_week": "CURRENT",
        "purpose": "Rent deposit",
    }
    data.update(overrides)
    return data


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_add_form_previews_the_schedule_with_interest_without_saving(staff, fleet):
    lease = fleet.lease()
    page = staff.get(f"{CHANGELIST}add/")
    assert page.status_code == 200 and 'name="_preview"' in page.content.decode()

    response = staff.post(f"{CHANGELIST}add/", {**form(lease), "_preview": "Preview schedule"})
    assert response.status_code == 200
    assert not Loan.objects.exists()
    html = response.content.decode()
    assert "Schedule preview" in html and "errornote" not in html
    preview = response.context["preview"]
    assert [
        (r["interest_days"], r["outstanding"], r["principal_amount"], r["interest_amount"], r["item"].amount)
        for r in preview["rows"]
    ] == [
        (4, D("1200.00"), D("250.00"), D("1.32"), D("251.32")),
        (7, D("950.00"), D("250.00"), D("1.82"), D("251.82")),
        (7, D("700.00"), D("250.00"), D("1.34"), D("251.34")),
        (7, D("450.00"), D("250.00"), D("0.86"), D("250.86")),
        (7, D("200.00"), D("200.00"), D("0.38"), D("200.38")),
    ]
    assert (preview["total_interest"], preview["total_due"]) == (D("5.72"), D("1205.72"))
    assert "1.32" in html and "1205.72" in html
    # The form keeps what was typed, ready to save.
    assert response.context["adminform"].form["loan_amount"].value() == "1200.00"

    # A refused rule in a preview is shown on the form, as when saving.
    response = staff.post(f"{CHANGELIST}add/", {**form(lease, interest_rate="21"), "_preview": "1"})
    assert "interest_rate" in response.context["adminform"].form.errors
    assert "preview" not in response.context


def test_saving_makes_a_draft_shown_with_its_schedule_then_confirm(staff, fleet):
    lease = fleet.lease()
    response = staff.post(f"{CHANGELIST}add/", form(lease, interest_rate="", loan_date=""))
    loan = Loan.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{CHANGELIST}{loan.pk}/change/"
    assert (loan.status, loan.interest_rate) == ("DRAFT", 0)  # the configured default rate, 0

    staff.post(response["Location"], {**form(lease), **INLINE})
    loan.refresh_from_db()
    assert (loan.interest_rate, str(loan.total_interest)) == (10, "5.72")
    page = staff.get(response["Location"]).content.decode()
    assert f"{loan.loan_id}-05" in page and "200.38" in page
    assert "5 weekly installments" in page and ">Confirm<" in page and 'name="_preview"' in page

    response = staff.post(f"{CHANGELIST}{loan.pk}/transition/confirm/")
    loan.refresh_from_db()
    assert loan.status == "OPEN" and any("Confirmed" in m for m in said(response))
    page = staff.get(f"{CHANGELIST}{loan.pk}/change/")
    assert set(page.context["adminform"].form.fields) == {"purpose"}
    assert 'name="_preview"' not in page.content.decode()


def test_admin_shows_refused_rules_on_the_form(staff, fleet):
    lease, other = fleet.lease(), fleet.lease()
    response = staff.post(
        f"{CHANGELIST}add/",
        form(lease, lease=other.pk, loan_amount="0", interest_rate="-1", start_week="2025-10-01"),
    )
    assert response.status_code == 200
    assert {"lease", "loan_amount", "interest_rate", "start_week"} <= set(response.context["adminform"].form.errors)
    response = staff.post(f"{CHANGELIST}add/", form(lease, start_week="2025-09-21"))
    assert "loan_date" in response.context["adminform"].form.errors
    assert not Loan.objects.exists()


def test_hold_cancel_and_refusals_are_messages(staff, make_loan, finance):
    loan = make_loan()
    url = f"{CHANGELIST}{loan.pk}/transition/hold/"
    response = staff.post(url)
    assert response.status_code == 200 and b"Reason" in response.content
    staff.post(url, {"apply": "yes", "reason": "driver on vacation"})
    loan.refresh_from_db()
    assert (loan.status, loan.status_reason) == ("HOLD", "driver on vacation")
    staff.post(f"{CHANGELIST}{loan.pk}/transition/resume/")
    services.loan_installments_post(installment_ids=[f"{loan.loan_id}-01"], actor=finance)
    response = staff.post(f"{CHANGELIST}{loan.pk}/transition/cancel/", {"apply": "yes", "reason": "too late now"})
    assert any("can no longer be cancelled" in m for m in said(response))
    loan.refresh_from_db()
    assert loan.status == "OPEN"


def test_list_actions_search_export_and_posting(staff, make_loan, fleet):
    lease = fleet.lease()
    drafts = [make_loan(confirm=False, lease=lease), make_loan(confirm=False)]
    ids = [str(d.pk) for d in drafts]
    staff.post(CHANGELIST, {"action": "confirm_selected", "_selected_action": ids})
    assert set(Loan.objects.values_list("status", flat=True)) == {"OPEN"}
    response = staff.post(CHANGELIST, {"action": "cancel_selected", "_selected_action": ids[:1]})
    assert response.status_code == 200 and b"Reason" in response.content
    staff.post(CHANGELIST, {"action": "cancel_selected", "_selected_action": ids[:1], "apply": "yes", "reason": "dup"})
    assert Loan.objects.get(pk=ids[0]).status == "CANCELLED"
    for term in (lease.primary_driver.first_name, lease.lease_number, drafts[0].loan_id):
        assert list(staff.get(CHANGELIST, {"q": term}).context["cl"].result_list) == [drafts[0]], term

    response = staff.post(CHANGELIST, {"action": "export_xlsx", "_selected_action": ids})
    rows = list(load_workbook(io.BytesIO(response.getvalue())).active.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[1][rows[0].index("Total interest")] == 5.72 and rows[-1][0] == "Total"

    first = drafts[1].installments.get(sequence=1)
    response = staff.post(INSTALLMENTS, {"action": "post_selected", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.status == "POSTED" and any("251.32" in m for m in said(response))
    response = staff.post(INSTALLMENTS, {"action": "post_selected", "_selected_action": [first.pk]})
    assert any("already posted" in m for m in said(response))
    assert staff.get(f"{INSTALLMENTS}{first.pk}/change/").status_code == 200


def test_a_manager_sees_but_cannot_act(make_user, make_loan, fleet):
    manager = make_user("Manager")
    manager.is_staff = True
    manager.save()
    client = Client()
    client.force_login(manager)
    loan = make_loan(confirm=False)
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(f"{CHANGELIST}{loan.pk}/change/").status_code == 200
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}add/", {**form(fleet.lease()), "_preview": "1"}).status_code == 403
    assert client.post(f"{CHANGELIST}{loan.pk}/transition/confirm/").status_code == 403
    client.post(CHANGELIST, {"action": "confirm_selected", "_selected_action": [loan.pk]})
    loan.refresh_from_db()
    assert loan.status == "DRAFT"


@pytest.mark.parametrize("choice", ["CURRENT", "NEXT"])
def test_a_valid_start_week_choice_is_not_refused_beside_another_field_s_error(staff, fleet, choice):
    lease = fleet.lease()
    data = form(lease, loan_amount="-1")
    del data["start_week"]

    response = staff.post(f"{CHANGELIST}add/", {**data, "start_week_0": choice, "start_week_1": ""})

    errors = response.context["adminform"].form.errors
    assert response.status_code == 200 and set(errors) == {"loan_amount"}, errors
    assert Loan.objects.count() == 0
