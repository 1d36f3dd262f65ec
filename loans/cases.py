"""Guided entry of a driver loan: flow LOAN with its one step, LOAN_ENTER_DETAILS."""

from pathlib import Path

from loans.services import loan_create_from_case
from plans.cases import CaseFlow, CaseStep, load_schema, register_flow

LOAN_ENTER_DETAILS = "LOAN_ENTER_DETAILS"
SCHEMA = load_schema(Path(__file__).parent / "schemas" / "loan_enter_details.json")


def enter_details(*, data, actor) -> dict:
    loan = loan_create_from_case(data=data, actor=actor)
    return {"loan_id": loan.loan_id, "status": loan.status, "total_interest": f"{loan.total_interest:.2f}"}


FLOW = CaseFlow(
    name="LOAN",
    title="Enter a driver loan",
    steps=(CaseStep(LOAN_ENTER_DETAILS, "Loan details", SCHEMA, enter_details),),
    permissions=("loans.add_loan", "loans.confirm_loan"),
    view_permissions=("loans.view_loan",),
)
register_flow(FLOW)
