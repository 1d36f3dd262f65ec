"""Repairs on the shared installment-plan mechanism: the few lines that plug them in."""

from plans.source import PlanSource
from repairs.models import RepairInstallment, RepairInvoice

REPAIRS = PlanSource(
    name="repairs",
    category="REPAIRS",
    plan_model=RepairInvoice,
    installment_model=RepairInstallment,
    id_prefix="RPR",
    id_width=3,
    label="Repair",
    obligation_paths={
        "driver_id": "plan__driver_id",
        "lease_id": "plan__lease_id",
        "vehicle_id": "plan__vehicle_id",
        "medallion_id": "plan__medallion_id",
    },
    noun="repair",
    document="invoice",
    fields=(
        "driver_id",
        "lease_id",
        "vehicle_id",
        "medallion_id",
        "invoice_number",
        "invoice_date",
        "workshop_type",
        "repair_description",
        "repair_amount",
        "start_week",
    ),
    # A confirmed invoice is what the workshop billed; cancel and re-enter it to change more.
    editable_after_confirmation={"repair_description": "description"},
)
