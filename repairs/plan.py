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
)
