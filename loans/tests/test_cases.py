"""Guided entry of a loan (SPEC §4): create-case, then step LOAN_ENTER_DETAILS validated by the app's JSON schema."""

from decimal import Decimal

import pytest

from loans.models import Loan
from plans.models import Case


@pytest.fixture
def api(finance, api_client_for):
    return api_client_for(finance)


def details(lease, **overrides):
    data = {
        "driver_id": lease.primary_driver_id,
        "lease_id": lease.pk,
        "loan_amount": "1200.00",
        "interest_rate": "10",
        "loan_date": "2025-10-01",
        "start_week": "CURRENT",
        "purpose": "Rent deposit",
    }
    data.update(overrides)
    return data


def submit(api, case_no, data):
    return api.post(f"/api/cases/{case_no}", {"step_id": "LOAN_ENTER_DETAILS", "data": data}, format="json")


def test_guided_entry_creates_a_confirmed_loan(api, fleet):
    response = api.post("/api/loans/create-case")
    assert response.status_code == 201
    case = response.json()
    assert case["current_step"] == "LOAN_ENTER_DETAILS" and case["flow"] == "LOAN"
    assert "interest_rate" in case["steps"][0]["schema"]["properties"]

    response = submit(api, case["case_no"], details(fleet.lease(), loan_amount=1200, interest_rate=10.0))
    assert response.status_code == 200, response.json()
    state = response.json()
    assert state["status"] == "COMPLETED"
    assert state["result"]["total_interest"] == "5.72"
    loan = Loan.objects.get(loan_id=state["result"]["loan_id"])
    assert (loan.status, loan.total_interest, loan.installments.count()) == ("OPEN", Decimal("5.72"), 5)
    assert set(loan.installments.values_list("status", flat=True)) == {"SCHEDULED"}
    again = submit(api, case["case_no"], details(fleet.lease()))
    assert again.status_code == 409 and Loan.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"loan_amount": "12,00"}, "loan_amount"),
        ({"interest_rate": "-1"}, "interest_rate"),
        ({"loan_date": "01/10/2025"}, "loan_date"),
        ({"start_week": "LATER"}, "start_week"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_the_schema_rejects_bad_data_naming_the_field(api, fleet, change, field):
    case_no = api.post("/api/loans/create-case").json()["case_no"]
    response = submit(api, case_no, details(fleet.lease(), **change))
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert Case.objects.get(case_no=case_no).status == "OPEN"
    assert not Loan.objects.exists()


def test_business_rules_after_the_schema(api, fleet):
    case_no = api.post("/api/loans/create-case").json()["case_no"]
    response = submit(api, case_no, details(fleet.lease(), interest_rate="25", start_week="2025-09-21"))
    assert response.status_code == 400
    assert {"interest_rate", "loan_date"} <= set(response.json()["fields"])
    assert not Loan.objects.exists()


def test_cases_follow_the_flow_permissions(make_user, api_client_for, api):
    case_no = api.post("/api/loans/create-case").json()["case_no"]
    manager = api_client_for(make_user("Manager"))
    assert manager.get(f"/api/cases/{case_no}").status_code == 200
    assert (
        manager.post(f"/api/cases/{case_no}", {"step_id": "LOAN_ENTER_DETAILS", "data": {}}, format="json").status_code
        == 403
    )
    assert api_client_for(make_user("Cashier")).get(f"/api/cases/{case_no}").status_code == 403
