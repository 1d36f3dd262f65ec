"""Guided entry (SPEC §4): create-case, case state, step submission validated by the app's JSON schema."""

import pytest

from plans.models import Case
from repairs.models import RepairInvoice


@pytest.fixture
def api(finance, api_client_for):
    return api_client_for(finance)


def details(lease, **overrides):
    data = {
        "driver_id": lease.primary_driver_id,
        "lease_id": lease.pk,
        "invoice_number": "GE-1",
        "invoice_date": "2025-09-30",
        "workshop_type": "BIG_APPLE",
        "repair_description": "Windshield",
        "repair_amount": "1200.00",
        "start_week": "2025-09-28",
    }
    data.update(overrides)
    return data


def test_guided_entry_creates_a_confirmed_invoice(api, fleet):
    lease = fleet.lease()
    response = api.post("/api/repairs/create-case")
    assert response.status_code == 201
    case = response.json()
    case_no = case["case_no"]
    assert case_no.startswith("CASE-") and case["current_step"] == "REPAIR_ENTER_DETAILS"
    assert case["steps"][0]["status"] == "CURRENT"
    assert "repair_amount" in case["steps"][0]["schema"]["properties"]
    assert api.get(f"/api/cases/{case_no}").json()["status"] == "OPEN"

    response = api.post(
        f"/api/cases/{case_no}", {"step_id": "REPAIR_ENTER_DETAILS", "data": details(lease)}, format="json"
    )
    assert response.status_code == 200, response.json()
    state = response.json()
    assert state["status"] == "COMPLETED" and state["current_step"] is None
    assert state["steps"][0]["status"] == "DONE"
    invoice = RepairInvoice.objects.get(repair_id=state["result"]["repair_id"])
    assert invoice.status == "OPEN"
    assert set(invoice.installments.values_list("status", flat=True)) == {"SCHEDULED"}
    assert invoice.installments.count() == 5

    again = api.post(
        f"/api/cases/{case_no}/", {"step_id": "REPAIR_ENTER_DETAILS", "data": details(lease)}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert RepairInvoice.objects.count() == 1


@pytest.mark.parametrize(
    ("data_change", "field"),
    [
        ({"repair_amount": "12,00"}, "repair_amount"),
        ({"invoice_date": "30/09/2025"}, "invoice_date"),
        ({"workshop_type": "GARAGE"}, "workshop_type"),
        ({"driver_id": "seven"}, "driver_id"),
        ({"start_week": "LATER"}, "start_week"),
        ({"colour": "red"}, "colour"),
        ({"invoice_number": None}, "invoice_number"),
    ],
)
def test_the_schema_rejects_bad_data_naming_the_field(api, fleet, data_change, field):
    lease = fleet.lease()
    case_no = api.post("/api/repairs/create-case").json()["case_no"]
    response = api.post(
        f"/api/cases/{case_no}",
        {"step_id": "REPAIR_ENTER_DETAILS", "data": details(lease, **data_change)},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert Case.objects.get(case_no=case_no).status == "OPEN"
    assert not RepairInvoice.objects.exists()


def test_missing_fields_and_business_rules_after_the_schema(api, fleet):
    lease, other = fleet.lease(), fleet.lease()
    case_no = api.post("/api/repairs/create-case").json()["case_no"]
    data = details(lease)
    del data["repair_amount"]
    response = api.post(f"/api/cases/{case_no}", {"step_id": "REPAIR_ENTER_DETAILS", "data": data}, format="json")
    assert response.status_code == 400 and "repair_amount" in response.json()["fields"]
    # Valid by the schema, refused by the rules: the case stays where it was, nothing is created.
    response = api.post(
        f"/api/cases/{case_no}",
        {"step_id": "REPAIR_ENTER_DETAILS", "data": details(lease, lease_id=other.pk, start_week="2025-09-29")},
        format="json",
    )
    assert response.status_code == 400
    assert {"lease_id", "start_week"} <= set(response.json()["fields"])
    assert (
        api.post(f"/api/cases/{case_no}", {"step_id": "LOAN_ENTER_DETAILS", "data": {}}, format="json").status_code
        == 400
    )
    assert api.get("/api/cases/CASE-1999-000001").status_code == 404
    assert not RepairInvoice.objects.exists()


def test_cases_follow_the_flow_permissions(make_user, api_client_for, api):
    case_no = api.post("/api/repairs/create-case").json()["case_no"]
    manager = api_client_for(make_user("Manager"))
    assert manager.get(f"/api/cases/{case_no}").status_code == 200
    response = manager.post(f"/api/cases/{case_no}", {"step_id": "REPAIR_ENTER_DETAILS", "data": {}}, format="json")
    assert response.status_code == 403
    assert api_client_for(make_user("Cashier")).get(f"/api/cases/{case_no}").status_code == 403
