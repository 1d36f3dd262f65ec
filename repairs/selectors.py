"""Reads of repair invoices and installments. Paid figures come from the ledger (plans.selectors)."""

from __future__ import annotations

from django.db.models import QuerySet

from plans.lifecycle import PlanStatus
from repairs.models import RepairInstallment, RepairInvoice


def repair_list() -> QuerySet[RepairInvoice]:
    """Invoices with the related rows a response names joined in (constant queries per page)."""
    return RepairInvoice.objects.select_related("driver", "lease", "vehicle", "medallion")


def installment_list() -> QuerySet[RepairInstallment]:
    return RepairInstallment.objects.select_related(
        "plan", "plan__driver", "plan__vehicle", "plan__medallion", "plan__lease"
    ).order_by("period_start", "plan_id", "sequence")


def repair_duplicate_of(*, vehicle_id: int, invoice_number: str, exclude_pk: int | None = None) -> str | None:
    """The repair id already holding this invoice number for the vehicle (ignoring case and CANCELLED ones)."""
    duplicates = RepairInvoice.objects.filter(vehicle_id=vehicle_id, invoice_number__iexact=invoice_number.strip())
    duplicates = duplicates.exclude(status=PlanStatus.CANCELLED)
    if exclude_pk is not None:
        duplicates = duplicates.exclude(pk=exclude_pk)
    return duplicates.values_list("repair_id", flat=True).first()
