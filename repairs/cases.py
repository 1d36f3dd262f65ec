"""Guided entry of a repair invoice: flow REPAIR with its one step, REPAIR_ENTER_DETAILS."""

from pathlib import Path

from plans.cases import CaseFlow, CaseStep, load_schema, register_flow
from repairs.services import repair_create_from_case

REPAIR_ENTER_DETAILS = "REPAIR_ENTER_DETAILS"
SCHEMA = load_schema(Path(__file__).parent / "schemas" / "repair_enter_details.json")


def enter_details(*, data, actor) -> dict:
    invoice = repair_create_from_case(data=data, actor=actor)
    return {"repair_id": invoice.repair_id, "status": invoice.status}


FLOW = CaseFlow(
    name="REPAIR",
    title="Enter a repair invoice",
    steps=(CaseStep(REPAIR_ENTER_DETAILS, "Invoice details", SCHEMA, enter_details),),
    permissions=("repairs.add_repairinvoice", "repairs.confirm_repairinvoice"),
    view_permissions=("repairs.view_repairinvoice",),
)
register_flow(FLOW)
