"""Writes of repair invoices (SPEC §4). The API, the admin, guided entry and the weekly job all call these.

Rules that are ours to choose (written down in docs/rules.md):
- The lease must be the driver's (primary or additional driver). The vehicle and medallion are
  the lease's own: they default to them and, when given, must match — a repair billed to a lease
  for a car that is not on it is a data-entry error.
- CURRENT and NEXT are resolved against the day the invoice is entered (or re-entered while a DRAFT).
- The invoice number is unique per vehicle ignoring case; a CANCELLED invoice does not count.
- While DRAFT everything can change and the schedule is rebuilt. After confirmation only the
  description can; any other change is a 409 invalid_transition (cancel and re-enter instead,
  which is allowed while nothing is posted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from batpay.errors import Conflict, ErrorCode
from batpay.periods import clean_date
from leases.models import Driver, Lease, Medallion, Vehicle
from plans import services as plans
from plans.matrix import clean_plan_amount, split_amount, weekly_installment
from plans.schedule import ScheduledInstallment, build_schedule, resolve_start_week
from repairs.models import RepairInvoice
from repairs.plan import REPAIRS
from repairs.selectors import repair_duplicate_of

UNIQUE_INVOICE_CONSTRAINT = "repair_invoice_number_unique_per_vehicle"


@dataclass(frozen=True)
class RepairInput:
    """Entered values after every rule held: what an invoice is created or rebuilt from (each
    field is the invoice's own)."""

    driver: Driver
    lease: Lease
    vehicle_id: int
    medallion_id: int
    invoice_number: str
    invoice_date: dt.date
    workshop_type: str
    repair_description: str
    repair_amount: Decimal
    start_week: dt.date


def _lease_part(value, *, field: str, model, lease: Lease | None, errors: dict[str, str]) -> int | None:
    """The lease's vehicle or medallion: taken from the lease when not given, else it must match."""
    noun = model._meta.verbose_name
    expected = getattr(lease, field, None)
    if value is None or value == "":
        return expected
    pk = plans.clean_id(value, field, errors)
    if pk is None:
        return None
    if not model.objects.filter(pk=pk).exists():
        errors[field] = f"No {noun} with id {pk}."
    elif lease is not None and pk != expected:
        errors[field] = f"Lease {lease.lease_number} has {noun} id {expected}, not {pk}."
    return pk


def repair_input_clean(
    *,
    driver_id,
    lease_id,
    vehicle_id=None,
    medallion_id=None,
    invoice_number,
    invoice_date,
    workshop_type,
    repair_description: str = "",
    repair_amount,
    start_week,
    entry_date: dt.date | None = None,
) -> RepairInput:
    """Check every rule on entered values (read-only); raise one InvalidInput naming every bad field."""
    today = timezone.localdate()
    errors: dict[str, str] = {}

    driver, lease = plans.clean_driver_and_lease(driver_id=driver_id, lease_id=lease_id, errors=errors)
    vehicle_pk = _lease_part(vehicle_id, field="vehicle_id", model=Vehicle, lease=lease, errors=errors)
    medallion_pk = _lease_part(medallion_id, field="medallion_id", model=Medallion, lease=lease, errors=errors)

    number = str(invoice_number or "").strip()
    if not number:
        errors["invoice_number"] = "This field is required."
    elif len(number) > 64:
        errors["invoice_number"] = "At most 64 characters."

    if invoice_date in (None, ""):
        errors["invoice_date"] = "This field is required."
        invoice_date = None
    else:
        invoice_date = plans.collect_errors(errors, lambda: clean_date(invoice_date, field="invoice_date"))
    if invoice_date is not None and invoice_date > today:
        errors["invoice_date"] = f"{invoice_date.isoformat()} is in the future."

    if workshop_type not in RepairInvoice.WorkshopType.values:
        errors["workshop_type"] = f"One of {', '.join(RepairInvoice.WorkshopType.values)}."

    amount = plans.collect_errors(errors, lambda: clean_plan_amount(repair_amount, field="repair_amount"))
    week = plans.collect_errors(errors, lambda: resolve_start_week(start_week, entry_date=entry_date or today))
    if amount is not None and week is not None:
        plans.collect_errors(errors, lambda: split_amount(amount, field="repair_amount"))

    plans.raise_if_invalid(errors)
    return RepairInput(
        invoice_number=number,
        invoice_date=invoice_date,
        workshop_type=workshop_type,
        repair_description=(repair_description or "").strip(),
        repair_amount=amount,
        start_week=week,
        driver=driver,
        lease=lease,
        vehicle_id=vehicle_pk,
        medallion_id=medallion_pk,
    )


def check_not_duplicate(*, vehicle_id: int, invoice_number: str, exclude_pk: int | None = None) -> None:
    """409 duplicate_invoice when the vehicle already has this invoice number (read-only check)."""
    existing = repair_duplicate_of(vehicle_id=vehicle_id, invoice_number=invoice_number, exclude_pk=exclude_pk)
    if existing:
        raise _duplicate(invoice_number, existing)


def _duplicate(invoice_number: str, existing: str | None = None) -> Conflict:
    where = f" (it is {existing})" if existing else ""
    return Conflict(
        f"Invoice {invoice_number} is already entered for this vehicle{where}.",
        code=ErrorCode.DUPLICATE_INVOICE,
        fields={"invoice_number": "Already entered for this vehicle."},
    )


def _is_duplicate_violation(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == UNIQUE_INVOICE_CONSTRAINT


def _checked(
    values: Mapping[str, Any], *, exclude_pk: int | None = None
) -> tuple[RepairInput, list[ScheduledInstallment]]:
    """Entered values by every rule, the duplicate check included, and the schedule they make."""
    cleaned = repair_input_clean(**values)
    check_not_duplicate(vehicle_id=cleaned.vehicle_id, invoice_number=cleaned.invoice_number, exclude_pk=exclude_pk)
    return cleaned, repair_schedule(cleaned)


def repair_schedule(checked: RepairInput) -> list[ScheduledInstallment]:
    """The installments checked values make (read-only: the admin's preview shows them unsaved)."""
    amounts = split_amount(checked.repair_amount, field="repair_amount")
    return build_schedule(amounts, start=checked.start_week, field="repair_amount")


def _save(invoice: RepairInvoice, cleaned: RepairInput) -> None:
    """Set the checked values on the invoice and save it; a duplicate that got in since the
    check (a concurrent entry) is the same 409 as one found by it."""
    plans.set_entered(invoice, cleaned)
    invoice.weekly_installment_amount = weekly_installment(cleaned.repair_amount)
    try:
        with transaction.atomic():
            invoice.save()
    except IntegrityError as exc:
        if _is_duplicate_violation(exc):
            raise _duplicate(cleaned.invoice_number) from exc
        raise


def _create(*, values: Mapping[str, Any], actor, confirm: bool) -> RepairInvoice:
    cleaned, schedule = _checked(values)
    invoice = plans.new_plan(source=REPAIRS, actor=actor)
    _save(invoice, cleaned)
    payload = {
        "invoice_number": invoice.invoice_number,
        "repair_amount": str(invoice.repair_amount),
        "installments": len(schedule),
        "start_week": invoice.start_week.isoformat(),
    }
    return plans.add_plan(
        source=REPAIRS, plan=invoice, schedule=schedule, actor=actor, confirm=confirm, payload=payload
    )


def repair_create(
    *,
    driver_id: int,
    lease_id: int,
    vehicle_id: int | None = None,
    medallion_id: int | None = None,
    invoice_number: str,
    invoice_date: dt.date,
    workshop_type: str,
    repair_description: str = "",
    repair_amount: Decimal,
    start_week: str | dt.date,
    actor,
    confirm: bool = False,
) -> RepairInvoice:
    """Enter a repair invoice: a DRAFT with its computed schedule (or OPEN at once with `confirm`).
    The vehicle and medallion default to the lease's; given, they must be the lease's."""
    entered = locals()  # the arguments, by name: nothing else is bound yet
    with transaction.atomic(durable=True):
        return _create(values={field: entered[field] for field in REPAIRS.fields}, actor=actor, confirm=confirm)


def repair_create_from_case(*, data: Mapping[str, Any], actor) -> RepairInvoice:
    """Guided entry's last step: the invoice created and confirmed (OPEN, installments SCHEDULED).

    Runs inside the case submission's transaction, so the case and the invoice commit together.
    """
    return _create(values={field: data.get(field) for field in REPAIRS.fields}, actor=actor, confirm=True)


def _text(value) -> str:
    return (value or "").strip()


def _readers(invoice: RepairInvoice, changes: Mapping[str, Any]) -> dict[str, Any]:
    """How an edit's values read as stored; CURRENT and NEXT are read against today."""
    today = timezone.localdate()
    return {
        "driver_id": plans.stored_id,
        "lease_id": plans.stored_id,
        "vehicle_id": plans.stored_id,
        "medallion_id": plans.stored_id,
        "invoice_number": _text,
        "invoice_date": plans.stored_date,
        "repair_description": _text,
        "repair_amount": lambda value: clean_plan_amount(value, field="repair_amount"),
        "start_week": lambda value: resolve_start_week(value, entry_date=today),
    }


def _rebuild(invoice: RepairInvoice, values: dict[str, Any]) -> list[ScheduledInstallment]:
    cleaned, schedule = _checked(values, exclude_pk=invoice.pk)
    _save(invoice, cleaned)
    return schedule


def repair_update(*, repair_id: str, changes: Mapping[str, Any], actor) -> RepairInvoice:
    """Change an invoice. A DRAFT takes any change and its schedule is rebuilt; after confirmation
    only the description may change (any other changed field → 409 invalid_transition)."""
    return plans.plan_update(
        source=REPAIRS, plan_id=repair_id, changes=changes, actor=actor, readers=_readers, rebuild=_rebuild
    )


def repair_confirm(*, repair_id: str, actor) -> RepairInvoice:
    """DRAFT → OPEN: the schedule is final; the weekly job posts installments as they fall due.
    From then on only the description can change: to correct more, cancel and enter it again."""
    return plans.plan_confirm(source=REPAIRS, plan_id=repair_id, actor=actor)


def repair_change_status(*, repair_id: str, status: str, reason: str = "", actor) -> RepairInvoice:
    """HOLD, OPEN (resume) or CANCELLED with a reason, by the lifecycle table. A cancelled
    invoice no longer holds its number, so a wrongly entered one can be entered again."""
    return plans.plan_change_status(source=REPAIRS, plan_id=repair_id, status=status, reason=reason, actor=actor)


def repair_installments_post(*, installment_ids: Sequence[str], actor) -> plans.PostingSummary:
    """Post the chosen installments now (all or none); 409 for one already posted. Each charge
    carries the invoice's vehicle and medallion, as the weekly job's do."""
    return plans.plan_installments_post(source=REPAIRS, installment_ids=installment_ids, actor=actor)


def repair_installments_post_due(
    *, period: dt.date, actor=None, dry_run: bool = False, progress=None
) -> plans.PostingSummary:
    """The Sunday job for repairs: every due installment of every OPEN repair, batch by batch."""
    return plans.post_due_installments(source=REPAIRS, period=period, actor=actor, dry_run=dry_run, progress=progress)
