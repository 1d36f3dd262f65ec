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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import Conflict, DomainError, ErrorCode, InvalidInput, NotFound
from leases.models import Driver, Lease, Medallion, Vehicle
from plans import services as plans
from plans.lifecycle import PlanStatus
from plans.matrix import clean_plan_amount, split_amount, weekly_installment
from plans.schedule import build_schedule, resolve_start_week
from repairs.models import RepairInvoice
from repairs.plan import REPAIRS
from repairs.selectors import repair_duplicate_of

UNIQUE_INVOICE_CONSTRAINT = "repair_invoice_number_unique_per_vehicle"
FIELDS = (
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
)
EDITABLE_AFTER_CONFIRMATION = frozenset({"repair_description"})


@dataclass(frozen=True)
class RepairInput:
    """Entered values after every rule held: what an invoice is created or rebuilt from."""

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


def _id(value, field: str, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        errors[field] = "This field is required."
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = "Must be an id (an integer)."
        return None


def _lease_part(value, *, field: str, model, lease: Lease | None, errors: dict[str, str]) -> int | None:
    """The lease's vehicle or medallion: taken from the lease when not given, else it must match."""
    noun = model._meta.verbose_name
    expected = getattr(lease, field, None)
    if value is None or value == "":
        return expected
    pk = _id(value, field, errors)
    if pk is None:
        return None
    if not model.objects.filter(pk=pk).exists():
        errors[field] = f"No {noun} with id {pk}."
    elif lease is not None and pk != expected:
        errors[field] = f"Lease {lease.lease_number} has {noun} id {expected}, not {pk}."
    return pk


def _catch(errors: dict[str, str], check: Callable[[], Any]) -> Any:
    try:
        return check()
    except InvalidInput as exc:
        for field, messages in exc.fields.items():
            errors.setdefault(field, messages[0])
        return None


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

    driver = lease = None
    driver_pk = _id(driver_id, "driver_id", errors)
    if driver_pk is not None:
        driver = Driver.objects.filter(pk=driver_pk).first()
        if driver is None:
            errors["driver_id"] = f"No driver with id {driver_pk}."
    lease_pk = _id(lease_id, "lease_id", errors)
    if lease_pk is not None:
        lease = Lease.objects.filter(pk=lease_pk).first()
        if lease is None:
            errors["lease_id"] = f"No lease with id {lease_pk}."
    if (
        driver
        and lease
        and lease.primary_driver_id != driver.pk
        and not lease.additional_drivers.filter(pk=driver.pk).exists()
    ):
        errors["lease_id"] = f"Lease {lease.lease_number} is not a lease of driver {driver.pk}."

    vehicle_pk = _lease_part(vehicle_id, field="vehicle_id", model=Vehicle, lease=lease, errors=errors)
    medallion_pk = _lease_part(medallion_id, field="medallion_id", model=Medallion, lease=lease, errors=errors)

    number = str(invoice_number or "").strip()
    if not number:
        errors["invoice_number"] = "This field is required."
    elif len(number) > 64:
        errors["invoice_number"] = "At most 64 characters."

    if isinstance(invoice_date, str):
        try:
            invoice_date = dt.date.fromisoformat(invoice_date)
        except ValueError:
            errors["invoice_date"] = "A date (YYYY-MM-DD)."
            invoice_date = None
    if invoice_date is None:
        errors.setdefault("invoice_date", "This field is required.")
    elif not isinstance(invoice_date, dt.date):
        errors["invoice_date"] = "A date (YYYY-MM-DD)."
    elif invoice_date > today:
        errors["invoice_date"] = f"{invoice_date.isoformat()} is in the future."

    if workshop_type not in RepairInvoice.WorkshopType.values:
        errors["workshop_type"] = f"One of {', '.join(RepairInvoice.WorkshopType.values)}."

    amount = _catch(errors, lambda: clean_plan_amount(repair_amount, field="repair_amount"))
    week = _catch(errors, lambda: resolve_start_week(start_week, entry_date=entry_date or today))
    if amount is not None and week is not None:
        _catch(errors, lambda: split_amount(amount, field="repair_amount"))

    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"{first}: {errors[first]}", fields=errors)
    return RepairInput(
        driver=driver,
        lease=lease,
        vehicle_id=vehicle_pk,
        medallion_id=medallion_pk,
        invoice_number=number,
        invoice_date=invoice_date,
        workshop_type=workshop_type,
        repair_description=(repair_description or "").strip(),
        repair_amount=amount,
        start_week=week,
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


def _schedule(cleaned: RepairInput):
    amounts = split_amount(cleaned.repair_amount, field="repair_amount")
    return build_schedule(amounts, start=cleaned.start_week, field="repair_amount")


def _create(*, values: Mapping[str, Any], actor, confirm: bool) -> RepairInvoice:
    cleaned = repair_input_clean(**values)
    check_not_duplicate(vehicle_id=cleaned.vehicle_id, invoice_number=cleaned.invoice_number)
    schedule = _schedule(cleaned)
    invoice = RepairInvoice(
        repair_id=REPAIRS.new_plan_id(year=timezone.localdate().year),
        driver=cleaned.driver,
        lease=cleaned.lease,
        vehicle_id=cleaned.vehicle_id,
        medallion_id=cleaned.medallion_id,
        invoice_number=cleaned.invoice_number,
        invoice_date=cleaned.invoice_date,
        workshop_type=cleaned.workshop_type,
        repair_description=cleaned.repair_description,
        repair_amount=cleaned.repair_amount,
        weekly_installment_amount=weekly_installment(cleaned.repair_amount),
        start_week=cleaned.start_week,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        with transaction.atomic():
            invoice.save(force_insert=True)
    except IntegrityError as exc:
        if _is_duplicate_violation(exc):
            raise _duplicate(cleaned.invoice_number) from exc
        raise
    plans.replace_schedule(source=REPAIRS, plan=invoice, schedule=schedule)
    audit(
        action="repairs.create",
        actor=actor,
        obj=invoice,
        object_id=invoice.repair_id,
        payload={
            "invoice_number": invoice.invoice_number,
            "repair_amount": str(invoice.repair_amount),
            "installments": len(schedule),
            "start_week": invoice.start_week.isoformat(),
        },
    )
    if confirm:
        invoice = plans.confirm_plan(source=REPAIRS, plan=invoice, actor=actor)
    return invoice


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
    """Enter a repair invoice: a DRAFT with its computed schedule (or OPEN at once with `confirm`)."""
    values = {
        "driver_id": driver_id,
        "lease_id": lease_id,
        "vehicle_id": vehicle_id,
        "medallion_id": medallion_id,
        "invoice_number": invoice_number,
        "invoice_date": invoice_date,
        "workshop_type": workshop_type,
        "repair_description": repair_description,
        "repair_amount": repair_amount,
        "start_week": start_week,
    }
    with transaction.atomic(durable=True):
        return _create(values=values, actor=actor, confirm=confirm)


def repair_create_from_case(*, data: Mapping[str, Any], actor) -> RepairInvoice:
    """Guided entry's last step: the invoice created and confirmed (OPEN, installments SCHEDULED).

    Runs inside the case submission's transaction, so the case and the invoice commit together.
    """
    values = {field: data.get(field) for field in FIELDS}
    values["repair_description"] = values["repair_description"] or ""
    return _create(values=values, actor=actor, confirm=True)


def _lock(repair_id: str) -> RepairInvoice:
    invoice = RepairInvoice.objects.select_for_update().filter(repair_id=repair_id).first()
    if invoice is None:
        raise NotFound(f"No repair {repair_id}.")
    return invoice


def _current_values(invoice: RepairInvoice) -> dict[str, Any]:
    return {
        "driver_id": invoice.driver_id,
        "lease_id": invoice.lease_id,
        "vehicle_id": invoice.vehicle_id,
        "medallion_id": invoice.medallion_id,
        "invoice_number": invoice.invoice_number,
        "invoice_date": invoice.invoice_date,
        "workshop_type": invoice.workshop_type,
        "repair_description": invoice.repair_description,
        "repair_amount": invoice.repair_amount,
        "start_week": invoice.start_week,
    }


def _differs(field: str, current: Any, new: Any) -> bool:
    """Whether a submitted value changes the stored one (a client may send back what it read)."""
    try:
        if field == "start_week":
            return resolve_start_week(new, entry_date=timezone.localdate()) != current
        if field == "repair_amount":
            return clean_plan_amount(new, field=field) != current
        if field in ("driver_id", "lease_id", "vehicle_id", "medallion_id"):
            return new is not None and new != "" and int(new) != current
        if field == "invoice_date":
            return (dt.date.fromisoformat(new) if isinstance(new, str) else new) != current
        if field in ("invoice_number", "repair_description"):
            return (new or "").strip() != current
    except (DomainError, TypeError, ValueError):
        return True
    return new != current


def repair_update(*, repair_id: str, changes: Mapping[str, Any], actor) -> RepairInvoice:
    """Change an invoice. A DRAFT takes any change and its schedule is rebuilt; after confirmation
    only the description may change (any other changed field → 409 invalid_transition)."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"Unknown field(s): {', '.join(unknown)}.", fields={field: "Not a repair field." for field in unknown}
        )
    with transaction.atomic(durable=True):
        invoice = _lock(repair_id)
        current = _current_values(invoice)
        changed = {field: value for field, value in changes.items() if _differs(field, current[field], value)}
        if not changed:
            return invoice
        if invoice.status != PlanStatus.DRAFT:
            frozen = sorted(set(changed) - EDITABLE_AFTER_CONFIRMATION)
            if frozen:
                raise Conflict(
                    f"{invoice.repair_id} is {invoice.status}: after confirmation only the description can change.",
                    code=ErrorCode.INVALID_TRANSITION,
                    fields={field: f"Cannot change once the invoice is {invoice.status}." for field in frozen},
                )
            invoice.repair_description = (changed["repair_description"] or "").strip()
            invoice.save(update_fields=["repair_description", "updated_at"])
        else:
            cleaned = repair_input_clean(**(current | changed))
            check_not_duplicate(
                vehicle_id=cleaned.vehicle_id, invoice_number=cleaned.invoice_number, exclude_pk=invoice.pk
            )
            schedule = _schedule(cleaned)
            invoice.driver = cleaned.driver
            invoice.lease = cleaned.lease
            invoice.vehicle_id = cleaned.vehicle_id
            invoice.medallion_id = cleaned.medallion_id
            invoice.invoice_number = cleaned.invoice_number
            invoice.invoice_date = cleaned.invoice_date
            invoice.workshop_type = cleaned.workshop_type
            invoice.repair_description = cleaned.repair_description
            invoice.repair_amount = cleaned.repair_amount
            invoice.weekly_installment_amount = weekly_installment(cleaned.repair_amount)
            invoice.start_week = cleaned.start_week
            try:
                with transaction.atomic():
                    invoice.save()
            except IntegrityError as exc:
                if _is_duplicate_violation(exc):
                    raise _duplicate(cleaned.invoice_number) from exc
                raise
            plans.replace_schedule(source=REPAIRS, plan=invoice, schedule=schedule)
        audit(
            action="repairs.update",
            actor=actor,
            obj=invoice,
            object_id=invoice.repair_id,
            payload={field: str(value) for field, value in changed.items()},
        )
        return invoice


def repair_confirm(*, repair_id: str, actor) -> RepairInvoice:
    """DRAFT → OPEN: the schedule is final; the weekly job posts installments as they fall due."""
    with transaction.atomic(durable=True):
        return plans.confirm_plan(source=REPAIRS, plan=_lock(repair_id), actor=actor)


def repair_change_status(*, repair_id: str, status: str, reason: str = "", actor) -> RepairInvoice:
    """HOLD, OPEN (resume) or CANCELLED with a reason, by the lifecycle table."""
    with transaction.atomic(durable=True):
        invoice = RepairInvoice.objects.filter(repair_id=repair_id).first()
        if invoice is None:
            raise NotFound(f"No repair {repair_id}.")
        return plans.change_plan_status(source=REPAIRS, plan=invoice, status=status, reason=reason, actor=actor)


def repair_installments_post(*, installment_ids: Sequence[str], actor) -> plans.PostingSummary:
    """Post the chosen installments now (all or none); 409 for one already posted."""
    with transaction.atomic(durable=True):
        return plans.post_installments(source=REPAIRS, installment_ids=installment_ids, actor=actor)


def repair_installments_post_due(
    *, period: dt.date, actor=None, dry_run: bool = False, progress=None
) -> plans.PostingSummary:
    """The Sunday job for repairs: every due installment of every OPEN repair, batch by batch."""
    return plans.post_due_installments(source=REPAIRS, period=period, actor=actor, dry_run=dry_run, progress=progress)
