"""Every write to the fleet reference data (SPEC §2). The API and the admin both call these
functions, so neither face has a rule the other lacks.

Each write runs in one transaction, normalises its input (trimmed text; VINs, plates, TLC and
medallion numbers upper-case without spaces), checks the rules, saves, and records an audit row
with the acting user. Rules the specification leaves open, as decided here:

- A TLC license, VIN or medallion number already on file is a conflict with the current state:
  409 `duplicate`, naming the field. Malformed values are 400 `invalid`.
- At most one ACTIVE lease per medallion: checked with the medallion row locked, backed by the
  database constraint; a breach is 400 naming `medallion_id`.
- Lease numbers (`LS-000001`) are assigned from a database sequence; clients never choose them.
- A lease moves ACTIVE ⇄ SUSPENDED, and from either to TERMINATED, EXPIRED or CANCELLED. Those
  three are closed: a closed lease is history and is not changed any more.
- Deleting exists to remove a mistaken entry (only superusers hold the delete permissions) and is
  refused with 409 while a lease refers to the row; a driver who stops driving becomes INACTIVE.

Lease schedules (SPEC §2; the rules are in docs/rules.md and `leases.plan`) follow the lease in the
same transaction: created with the lease, rebuilt for the weeks not yet charged when its dates or
rate change, cut at the end date when it is terminated (`lease_terminate`, with an optional
cancellation fee) or closed by a status change. A change that would alter a week already charged
to the ledger is a 409 — void that charge first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any, TypedDict, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, ProtectedError, RestrictedError
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import Conflict, DomainError, ErrorCode, InvalidInput, NotFound
from batpay.money import MAX_AMOUNT, ZERO, to_money
from batpay.periods import WEEK, current_period, next_period, period_end, period_start
from batpay.plans import services as plans
from batpay.plans.lifecycle import InstallmentStatus, PlanStatus
from batpay.plans.matrix import MAX_INSTALLMENTS
from leases.models import Driver, Lease, LeaseInstallment, LeaseSchedule, Medallion, Vehicle
from leases.plan import LEASES, installment_id, last_period, lease_weeks, prorated

M = TypeVar("M", bound=Model)
Actor = AbstractBaseUser | None

LEASE_NUMBER_SEQUENCE = "leases_lease_number_seq"
OLDEST_VEHICLE_YEAR = 1990

_ACTIVE = Lease.Status.ACTIVE
_SUSPENDED = Lease.Status.SUSPENDED
CLOSED_LEASE_STATUSES = frozenset({Lease.Status.TERMINATED, Lease.Status.EXPIRED, Lease.Status.CANCELLED})
LEASE_TRANSITIONS: dict[str, frozenset[str]] = {
    _ACTIVE: frozenset({_SUSPENDED}) | CLOSED_LEASE_STATUSES,
    _SUSPENDED: frozenset({_ACTIVE}) | CLOSED_LEASE_STATUSES,
    **{closed: frozenset() for closed in CLOSED_LEASE_STATUSES},
}


class DriverChanges(TypedDict, total=False):
    first_name: str
    last_name: str
    tlc_license_number: str
    phone: str
    email: str
    status: str
    pay_to_mode: str


class VehicleChanges(TypedDict, total=False):
    vin: str
    plate_number: str
    make: str
    model: str
    year: int


class MedallionChanges(TypedDict, total=False):
    number: str
    medallion_type: str


class LeaseChanges(TypedDict, total=False):
    lease_type: str
    driver_id: int
    additional_driver_ids: list[int]
    vehicle_id: int
    medallion_id: int
    start_date: dt.date
    end_date: dt.date | None
    weekly_rate: Decimal | int | str
    status: str


# --- drivers -----------------------------------------------------------------------------------


def driver_create(
    *,
    actor: Actor,
    first_name: str,
    last_name: str,
    tlc_license_number: str,
    phone: str = "",
    email: str = "",
    status: str = Driver.Status.ACTIVE,
    pay_to_mode: str = Driver.PayTo.ACH,
) -> Driver:
    values: DriverChanges = {
        "first_name": first_name,
        "last_name": last_name,
        "tlc_license_number": tlc_license_number,
        "phone": phone,
        "email": email,
        "status": status,
        "pay_to_mode": pay_to_mode,
    }
    return _create(Driver(), actor=actor, values=values, apply=_driver_apply)


def driver_update(*, actor: Actor, driver: Driver, changes: DriverChanges) -> Driver:
    return _update(driver, actor=actor, changes=changes, apply=_driver_apply)


def driver_validate(*, driver: Driver | None = None, values: DriverChanges) -> dict[str, Any]:
    """Check `values` as driver_create (no `driver`) or driver_update would, writing nothing.

    Returns the values as they would be saved (trimmed, upper-cased…).
    """
    return _validate(driver or Driver(), values=values, apply=_driver_apply)


def driver_delete(*, actor: Actor, driver: Driver) -> None:
    if Lease.objects.filter(additional_drivers=driver).exists():
        # The join rows would cascade away silently, rewriting the leases' history.
        raise Conflict(
            f"Driver {driver} is an additional driver on a lease and cannot be deleted; set the status to INACTIVE.",
        )
    _delete(driver, actor=actor)


def _driver_apply(driver: Driver, values: Mapping[str, Any]) -> None:
    _set(
        driver,
        values,
        {
            "first_name": _text,
            "last_name": _text,
            "tlc_license_number": _code,
            "phone": _text,
            "email": _email,
            "status": str,
            "pay_to_mode": str,
        },
    )
    _validate_fields(driver)
    _ensure_unique(driver, "tlc_license_number", "TLC license number")


# --- vehicles ----------------------------------------------------------------------------------


def vehicle_create(*, actor: Actor, vin: str, plate_number: str, make: str, model: str, year: int) -> Vehicle:
    values: VehicleChanges = {"vin": vin, "plate_number": plate_number, "make": make, "model": model, "year": year}
    return _create(Vehicle(), actor=actor, values=values, apply=_vehicle_apply)


def vehicle_update(*, actor: Actor, vehicle: Vehicle, changes: VehicleChanges) -> Vehicle:
    return _update(vehicle, actor=actor, changes=changes, apply=_vehicle_apply)


def vehicle_validate(*, vehicle: Vehicle | None = None, values: VehicleChanges) -> dict[str, Any]:
    return _validate(vehicle or Vehicle(), values=values, apply=_vehicle_apply)


def vehicle_delete(*, actor: Actor, vehicle: Vehicle) -> None:
    _delete(vehicle, actor=actor)


def _vehicle_apply(vehicle: Vehicle, values: Mapping[str, Any]) -> None:
    _set(vehicle, values, {"vin": _code, "plate_number": _code, "make": _text, "model": _text, "year": int})
    _validate_fields(vehicle)
    # A model year runs ahead of the calendar by at most one year.
    newest = timezone.localdate().year + 1
    if not OLDEST_VEHICLE_YEAR <= vehicle.year <= newest:
        raise InvalidInput(
            f"The model year must be between {OLDEST_VEHICLE_YEAR} and {newest}.",
            fields={"year": f"Must be between {OLDEST_VEHICLE_YEAR} and {newest}."},
        )
    _ensure_unique(vehicle, "vin", "VIN")


# --- medallions --------------------------------------------------------------------------------


def medallion_create(*, actor: Actor, number: str, medallion_type: str = Medallion.Type.REGULAR) -> Medallion:
    values: MedallionChanges = {"number": number, "medallion_type": medallion_type}
    return _create(Medallion(), actor=actor, values=values, apply=_medallion_apply)


def medallion_update(*, actor: Actor, medallion: Medallion, changes: MedallionChanges) -> Medallion:
    return _update(medallion, actor=actor, changes=changes, apply=_medallion_apply)


def medallion_validate(*, medallion: Medallion | None = None, values: MedallionChanges) -> dict[str, Any]:
    return _validate(medallion or Medallion(), values=values, apply=_medallion_apply)


def medallion_delete(*, actor: Actor, medallion: Medallion) -> None:
    _delete(medallion, actor=actor)


def _medallion_apply(medallion: Medallion, values: Mapping[str, Any]) -> None:
    _set(medallion, values, {"number": _code, "medallion_type": str})
    _validate_fields(medallion)
    _ensure_unique(medallion, "number", "Medallion")


# --- leases ------------------------------------------------------------------------------------


def lease_create(
    *,
    actor: Actor,
    lease_type: str,
    driver_id: int,
    vehicle_id: int,
    medallion_id: int,
    start_date: dt.date,
    weekly_rate: Decimal | int | str,
    end_date: dt.date | None = None,
    additional_driver_ids: Iterable[int] = (),
    status: str = Lease.Status.ACTIVE,
) -> Lease:
    values: LeaseChanges = {
        "lease_type": lease_type,
        "driver_id": driver_id,
        "additional_driver_ids": list(additional_driver_ids),
        "vehicle_id": vehicle_id,
        "medallion_id": medallion_id,
        "start_date": start_date,
        "end_date": end_date,
        "weekly_rate": weekly_rate,
        "status": status,
    }
    with transaction.atomic():
        lease = Lease()
        additional = _lease_apply(lease, values)
        lease.lease_number = _next_lease_number()
        _save(lease)
        if additional:
            lease.additional_drivers.set(additional)
        audit(action="lease.create", actor=actor, obj=lease, payload={"values": _lease_snapshot(lease)})
        _schedule_sync(lease=lease, actor=actor, creating=True)
    return lease


def lease_update(*, actor: Actor, lease: Lease, changes: LeaseChanges) -> Lease:
    with transaction.atomic():
        locked = _locked(lease)
        before = _lease_snapshot(locked)
        additional = _lease_apply(locked, changes, before=before)
        _end_on_closing(locked, was=before["status"], end_date_given="end_date" in changes)
        changed = _diff(before, _lease_snapshot(locked, additional, before))
        if changed:
            columns = [_LEASE_ATTNAMES[name] for name in changed if name in _LEASE_ATTNAMES]
            _save(locked, update_fields=[*columns, "updated_at"])
            if additional is not None:
                locked.additional_drivers.set(additional)
            audit(action="lease.update", actor=actor, obj=locked, payload={"changes": changed})
            if set(changed) & _SCHEDULE_FIELDS:
                _schedule_sync(lease=locked, actor=actor, start_changed="start_date" in changed, field=_field(changed))
    return locked


def lease_validate(*, lease: Lease | None = None, values: LeaseChanges) -> dict[str, Any]:
    """Check `values` as lease_create (no `lease`) or lease_update would, writing nothing.

    Returns the values as they would be saved. Inside a caller's transaction (the admin's) the
    medallion stays locked until that transaction ends, so the check still holds when the
    caller then saves.
    """
    with transaction.atomic():
        if lease is None:
            target = Lease()
            additional = _lease_apply(target, values)
        else:
            target = _locked(lease)
            before = _lease_snapshot(target)
            additional = _lease_apply(target, values, before=before)
            _end_on_closing(target, was=before["status"], end_date_given="end_date" in values)
            changed = _diff(before, _lease_snapshot(target, additional, before))
            if set(changed) & _SCHEDULE_FIELDS:
                # The admin's form shows a refused schedule change on the field, before saving.
                schedule = LeaseSchedule.objects.filter(lease=target).first()
                if schedule is not None:
                    _schedule_plan(
                        lease=target,
                        schedule=schedule,
                        start_changed="start_date" in changed,
                        field=_field(changed),
                        today=timezone.localdate(),
                    )
    normalised: dict[str, Any] = {
        name: getattr(target, _LEASE_ATTNAMES[name]) for name in values if name in _LEASE_ATTNAMES
    }
    if additional is not None:
        normalised["additional_driver_ids"] = additional
    return normalised


def lease_delete(*, actor: Actor, lease: Lease) -> None:
    _delete(lease, actor=actor)


def lease_number_for(sequence_value: int) -> str:
    return f"LS-{sequence_value:06d}"


def _next_lease_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [LEASE_NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    return lease_number_for(value)


def _lease_apply(lease: Lease, values: Mapping[str, Any], before: dict[str, Any] | None = None) -> list[int] | None:
    """Put `values` on `lease` (not saved) and check every lease rule; `before` is the saved
    lease's snapshot when updating.

    Returns the additional drivers' ids when `values` names them, else None (unchanged).
    """
    _set(
        lease,
        values,
        {
            "lease_type": str,
            "driver_id": int,
            "vehicle_id": int,
            "medallion_id": int,
            "start_date": _same,
            "end_date": _same,
            "weekly_rate": _weekly_rate,
            "status": str,
            "additional_driver_ids": _same,
        },
        attnames={"driver_id": "primary_driver_id", "additional_driver_ids": None},
    )
    _validate_fields(lease, exclude=["lease_number", "primary_driver", "vehicle", "medallion"])
    if lease.end_date is not None and lease.end_date < lease.start_date:
        raise InvalidInput(
            "A lease cannot end before it starts.", fields={"end_date": "Must be on or after the start date."}
        )
    if "start_date" in values and (before is None or before["start_date"] != _jsonable(lease.start_date)):
        _check_near(lease.start_date, field="start_date")
    additional = None
    if "additional_driver_ids" in values:
        additional = list(dict.fromkeys(int(pk) for pk in values["additional_driver_ids"]))
    if before is not None and _diff(before, _lease_snapshot(lease, additional, before)):
        _check_lease_change(lease=lease, was=before["status"], now=lease.status)
    _check_drivers(lease, additional)
    if not Vehicle.objects.filter(pk=lease.vehicle_id).exists():
        raise InvalidInput(f"No vehicle has id {lease.vehicle_id}.", fields={"vehicle_id": "Unknown vehicle."})
    _check_medallion(lease)
    return additional


def _check_drivers(lease: Lease, additional: list[int] | None) -> None:
    primary = lease.primary_driver_id
    known = set(Driver.objects.filter(pk__in={primary, *(additional or ())}).values_list("pk", flat=True))
    if primary not in known:
        raise InvalidInput(f"No driver has id {primary}.", fields={"driver_id": "Unknown driver."})
    if additional is None:
        clash = lease.pk is not None and lease.additional_drivers.filter(pk=primary).exists()
    else:
        if unknown := ", ".join(str(pk) for pk in additional if pk not in known):
            raise InvalidInput(
                f"No driver has id {unknown}.", fields={"additional_driver_ids": f"Unknown driver id(s): {unknown}."}
            )
        clash = primary in additional
    if clash:
        raise InvalidInput(
            "The primary driver cannot also be an additional driver.",
            fields={"additional_driver_ids": "Must not include the primary driver."},
        )


def _check_medallion(lease: Lease) -> None:
    # The lock serialises every write that could make a second ACTIVE lease on this medallion.
    medallion = Medallion.objects.select_for_update().filter(pk=lease.medallion_id).first()
    if medallion is None:
        raise InvalidInput(f"No medallion has id {lease.medallion_id}.", fields={"medallion_id": "Unknown medallion."})
    if lease.status != _ACTIVE:
        return
    other = (
        Lease.objects.filter(medallion_id=medallion.pk, status=_ACTIVE)
        .exclude(pk=lease.pk)
        .values_list("lease_number", flat=True)
        .first()
    )
    if other:
        raise _second_active_lease(medallion.number, other)


def _second_active_lease(medallion_number: str, other: str = "") -> InvalidInput:
    which = f" ({other})" if other else ""
    return InvalidInput(
        f"Medallion {medallion_number} already has an ACTIVE lease{which}.",
        fields={"medallion_id": f"Medallion {medallion_number} already has an ACTIVE lease{which}."},
    )


def _check_lease_change(*, lease: Lease, was: str, now: str) -> None:
    if was in CLOSED_LEASE_STATUSES:
        raise Conflict(
            f"Lease {lease.lease_number} is {was}; a closed lease is history and cannot be changed.",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"status": f"The lease is {was}."},
        )
    if now != was and now not in LEASE_TRANSITIONS[was]:
        raise Conflict(
            f"A lease cannot go from {was} to {now}.",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"status": f"Cannot go from {was} to {now}."},
        )


# The snapshot's names are the API's; these are the model attributes behind them.
_LEASE_ATTNAMES = {
    "lease_number": "lease_number",
    "lease_type": "lease_type",
    "driver_id": "primary_driver_id",
    "vehicle_id": "vehicle_id",
    "medallion_id": "medallion_id",
    "start_date": "start_date",
    "end_date": "end_date",
    "weekly_rate": "weekly_rate",
    "status": "status",
}


def _lease_snapshot(
    lease: Lease, additional: list[int] | None = None, before: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The lease's values in the API's words, for change detection and the audit trail.

    The additional drivers are `additional` when given, else those in `before`, else the saved ones.
    """
    if additional is None:
        if before is not None:
            additional = before["additional_driver_ids"]
        else:
            additional = list(lease.additional_drivers.values_list("pk", flat=True)) if lease.pk else []
    snapshot = {name: _jsonable(getattr(lease, attname)) for name, attname in _LEASE_ATTNAMES.items()}
    snapshot["additional_driver_ids"] = sorted(additional)
    return snapshot


# --- shared machinery --------------------------------------------------------------------------

_API_FIELD = {"primary_driver": "driver_id", "vehicle": "vehicle_id", "medallion": "medallion_id"}

# What a database constraint means, for the write that loses a race the checks above could not see.
_CONSTRAINTS: dict[str, Callable[[Any], DomainError]] = {
    "leases_driver_tlc_license_number_key": lambda driver: _duplicate(
        "tlc_license_number", "TLC license number", driver.tlc_license_number
    ),
    "leases_vehicle_vin_key": lambda vehicle: _duplicate("vin", "VIN", vehicle.vin),
    "leases_medallion_number_key": lambda medallion: _duplicate("number", "Medallion", medallion.number),
    "one_active_lease_per_medallion": lambda lease: _second_active_lease(lease.medallion.number),
}


def _create(obj: M, *, actor: Actor, values: Mapping[str, Any], apply: Callable[[M, Mapping[str, Any]], None]) -> M:
    with transaction.atomic():
        apply(obj, values)
        _save(obj)
        audit(action=f"{obj._meta.model_name}.create", actor=actor, obj=obj, payload={"values": _snapshot(obj)})
    return obj


def _update(obj: M, *, actor: Actor, changes: Mapping[str, Any], apply: Callable[[M, Mapping[str, Any]], None]) -> M:
    with transaction.atomic():
        locked = _locked(obj)
        before = _snapshot(locked)
        apply(locked, changes)
        changed = _diff(before, _snapshot(locked))
        if changed:
            _save(locked, update_fields=[*changed, "updated_at"])
            audit(action=f"{obj._meta.model_name}.update", actor=actor, obj=locked, payload={"changes": changed})
    return locked


def _validate(obj: M, *, values: Mapping[str, Any], apply: Callable[[M, Mapping[str, Any]], None]) -> dict[str, Any]:
    with transaction.atomic():
        target = _locked(obj) if obj.pk else obj
        apply(target, values)
    return {name: getattr(target, name) for name in values}


def _delete(obj: Model, *, actor: Actor) -> None:
    with transaction.atomic():
        audit(action=f"{obj._meta.model_name}.delete", actor=actor, obj=obj, payload={"values": _snapshot(obj)})
        try:
            with transaction.atomic():
                obj.delete()
        except (ProtectedError, RestrictedError) as exc:
            blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            raise Conflict(
                f"{obj._meta.verbose_name.capitalize()} {obj} is referred to by {len(blocking)} record(s) "
                "and cannot be deleted.",
            ) from exc


def _locked(obj: M) -> M:
    found = type(obj)._default_manager.select_for_update().filter(pk=obj.pk).first()
    if found is None:
        raise NotFound(f"{obj._meta.verbose_name.capitalize()} {obj.pk} no longer exists.")
    return found


def _set(
    obj: Model,
    values: Mapping[str, Any],
    normalisers: Mapping[str, Callable[[Any], Any]],
    attnames: Mapping[str, str | None] | None = None,
) -> None:
    if unknown := set(values) - set(normalisers):
        raise TypeError(f"{type(obj).__name__} has no settable field(s) {sorted(unknown)}")
    for name, value in values.items():
        attname = (attnames or {}).get(name, name)
        if attname is not None:
            setattr(obj, attname, normalisers[name](value))


def _validate_fields(obj: Model, exclude: list[str] | None = None) -> None:
    """The model's own field rules (lengths, choices, formats): one source for API and admin."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        fields = {_API_FIELD.get(name, name): messages for name, messages in exc.message_dict.items()}
        name, messages = next(iter(fields.items()))
        raise InvalidInput(f"{name}: {messages[0]}", fields=fields) from exc


def _ensure_unique(obj: Model, field: str, label: str) -> None:
    value = getattr(obj, field)
    if type(obj)._default_manager.filter(**{field: value}).exclude(pk=obj.pk).exists():
        raise _duplicate(field, label, value)


def _duplicate(field: str, label: str, value: str = "") -> Conflict:
    which = f" {value}" if value else ""
    return Conflict(
        f"{label}{which} is already on file.",
        code=ErrorCode.DUPLICATE,
        fields={field: f"{label}{which} is already on file."},
    )


def _save(obj: Model, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError as exc:
        name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if name not in _CONSTRAINTS:
            raise
        raise _CONSTRAINTS[name](obj) from exc


def _snapshot(obj: Model) -> dict[str, Any]:
    return {
        field.attname: _jsonable(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        if not field.primary_key and field.name not in ("created_at", "updated_at")
    }


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {name: [before[name], value] for name, value in after.items() if before[name] != value}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date):
        return str(value)
    return value


def _same(value: Any) -> Any:
    return value


def _text(value: str) -> str:
    """Trimmed, with inner runs of whitespace collapsed: "  Ana   María " → "Ana María"."""
    return " ".join(str(value).split())


def _code(value: str) -> str:
    """An identifier printed on documents (VIN, plate, TLC or medallion number): no spaces, upper case."""
    return "".join(str(value).split()).upper()


def _email(value: str) -> str:
    return BaseUserManager.normalize_email(str(value).strip())


def _weekly_rate(value: Decimal | int | str) -> Decimal:
    try:
        rate = to_money(value)
        exact = rate == Decimal(str(value).strip())
    except (ValueError, ArithmeticError) as exc:  # ArithmeticError: too many digits to hold in cents
        raise InvalidInput("The weekly rate is not an amount.", fields={"weekly_rate": "Not an amount."}) from exc
    if not exact:
        raise InvalidInput("The weekly rate is in whole cents.", fields={"weekly_rate": "At most two decimal places."})
    if not ZERO < rate <= MAX_AMOUNT:
        raise InvalidInput(
            "The weekly rate must be more than 0.00.", fields={"weekly_rate": f"Must be between 0.01 and {MAX_AMOUNT}."}
        )
    return rate


# --- lease schedules ---------------------------------------------------------------------------

OPEN_LEASE_STATUSES = frozenset({_ACTIVE, _SUSPENDED})
# Lease changes the schedule follows (the API's names).
_SCHEDULE_FIELDS = frozenset({"start_date", "end_date", "weekly_rate", "status", "driver_id"})
_ON_LEDGER = (InstallmentStatus.POSTED, InstallmentStatus.PAID)


def _field(changed: Mapping[str, Any]) -> str:
    """The changed field a refused schedule change is reported on."""
    return next((name for name in ("start_date", "end_date", "status", "weekly_rate") if name in changed), "status")


def _check_near(day: dt.date, *, field: str) -> None:
    """A start or termination more than ten years from today is a typing error (a start that far
    back would also mean thousands of weekly charges); the same bound as an installment plan's length."""
    today = timezone.localdate()
    if abs((day - today).days) > MAX_INSTALLMENTS * 7:
        raise InvalidInput(
            f"{field} {day.isoformat()} is more than {MAX_INSTALLMENTS} weeks from today.",
            fields={field: f"Must be within {MAX_INSTALLMENTS} weeks of today."},
        )


def _end_on_closing(lease: Lease, *, was: str, end_date_given: bool) -> None:
    """A lease TERMINATED or EXPIRED by a status change ends on the end date given with it, else on
    its end date if that has passed, else today: a closed lease has its last day on file, and its
    schedule stops there."""
    if lease.status not in (Lease.Status.TERMINATED, Lease.Status.EXPIRED) or was == lease.status:
        return
    if end_date_given and lease.end_date is not None:
        return
    today = timezone.localdate()
    if lease.start_date > today:
        raise InvalidInput(
            f"Lease {lease.lease_number} has not started yet; a lease that never ran is CANCELLED.",
            fields={"status": "The lease has not started: cancel it (CANCELLED) instead."},
        )
    lease.end_date = today if lease.end_date is None else min(lease.end_date, today)


@dataclass
class _SchedulePlan:
    """What bringing one lease's schedule in line with the lease writes.

    `update`: SCHEDULED rows whose days, rate or amount change; `cancel`: SCHEDULED rows of weeks
    the lease no longer covers; `revive`: CANCELLED rows never posted, of weeks it covers again;
    `add`: weeks with no row yet.
    """

    start_week: dt.date
    through: dt.date | None  # the last period written
    charged: int  # installments on the ledger (POSTED or PAID)
    restart: bool = False  # the start moved before anything was charged: rewrite from scratch
    update: list[LeaseInstallment] = dataclass_field(default_factory=list)
    cancel: list[LeaseInstallment] = dataclass_field(default_factory=list)
    revive: list[LeaseInstallment] = dataclass_field(default_factory=list)
    add: list[LeaseInstallment] = dataclass_field(default_factory=list)


def _schedule_plan(
    *, lease: Lease, schedule: LeaseSchedule, start_changed: bool, field: str, today: dt.date
) -> _SchedulePlan:
    """Work out the changes (read-only); refuse one that would alter a week already charged."""
    installments = list(LeaseInstallment.objects.filter(plan=schedule).order_by("period_start"))
    charged = [item for item in installments if item.status in _ON_LEDGER]
    start_week = schedule.start_week
    restart = False
    if start_changed and period_start(lease.start_date) != start_week:
        # Rewriting from scratch drops every row: none may have been on the ledger, even voided.
        _refuse_start_change(lease, [item for item in installments if item.posting_id is not None])
        start_week, restart, installments = period_start(lease.start_date), True, []
    if lease.status == Lease.Status.CANCELLED:
        wanted: dict[dt.date, int] = {}
        through = None
    else:
        through = last_period(first_period=start_week, end_date=lease.end_date, today=today)
        weeks = lease_weeks(
            start_date=lease.start_date, end_date=lease.end_date, first_period=start_week, through=through
        )
        wanted = {week.period: week.days for week in weeks if prorated(lease.weekly_rate, week.days) > ZERO}
    for item in charged:
        if wanted.get(item.period_start) != item.days:
            covered = wanted.get(item.period_start, 0)
            raise Conflict(
                f"Lease {lease.lease_number} is already charged {item.amount} for {item.days} day(s) of the week "
                f"of {item.period_start}; the change would make it {covered}. Void that charge first.",
                code=ErrorCode.INVALID_TRANSITION,
                fields={field: f"The week of {item.period_start} is already charged."},
            )
    # A new rate applies from the week in progress; weeks already over keep the rate they ran at.
    rate_from = current_period(today)
    plan = _SchedulePlan(start_week=start_week, through=through, charged=len(charged), restart=restart)
    present = {item.period_start for item in installments}
    for item in installments:
        days = wanted.get(item.period_start)
        rate = lease.weekly_rate if item.period_start >= rate_from else item.weekly_rate
        if item.status == InstallmentStatus.SCHEDULED:
            if days is None:
                plan.cancel.append(item)
            elif (days, rate) != (item.days, item.weekly_rate) or prorated(rate, days) != item.amount:
                item.days, item.weekly_rate, item.amount = days, rate, prorated(rate, days)
                plan.update.append(item)
        elif item.status == InstallmentStatus.CANCELLED and item.posting_id is None and days is not None:
            item.days, item.weekly_rate, item.amount = days, rate, prorated(rate, days)
            plan.revive.append(item)
    plan.add = [
        LeaseInstallment(
            plan=schedule,
            installment_id=installment_id(lease.lease_number, period),
            sequence=(period - start_week).days // 7 + 1,
            period_start=period,
            period_end=period_end(period),
            amount=prorated(lease.weekly_rate, days),
            days=days,
            weekly_rate=lease.weekly_rate,
        )
        for period, days in sorted(wanted.items())
        if period not in present
    ]
    return plan


def _schedule_sync(
    *,
    lease: Lease,
    actor: Actor,
    start_changed: bool = False,
    field: str = "status",
    creating: bool = False,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Bring the lease's schedule in line with the lease, inside the caller's transaction.

    Creates it with the lease (none for a lease entered already closed: that is history); a lease
    that has none when it changes was loaded in bulk and is adopted like `lease_schedules_adopt`
    does, billed from the current week. Weeks not yet charged follow the lease's dates, rate and
    status; charged weeks never change (a change that would alter one is a 409). Returns how many
    installments were added, changed, cancelled.
    """
    today = today or timezone.localdate()
    schedule = LeaseSchedule.objects.select_for_update().filter(lease=lease).first()
    if schedule is None:
        if lease.status not in OPEN_LEASE_STATUSES:
            return {}
        first = period_start(lease.start_date)
        start_changed = False  # a new schedule starts where it starts, whatever changed on the lease
        schedule = LeaseSchedule.objects.create(
            schedule_id=lease.lease_number,
            lease=lease,
            driver_id=lease.primary_driver_id,
            start_week=first if creating else max(first, current_period(today)),
            status=PlanStatus.OPEN,
            confirmed_at=timezone.now(),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    if schedule.status == PlanStatus.CANCELLED:
        return {}
    plan = _schedule_plan(lease=lease, schedule=schedule, start_changed=start_changed, field=field, today=today)
    if lease.status == Lease.Status.CANCELLED and not plan.charged:
        plans.change_plan_status(
            source=LEASES, plan=schedule, status=PlanStatus.CANCELLED, reason="The lease was cancelled.", actor=actor
        )
        return {"cancelled": len(plan.cancel)}
    _lock_unchanged(schedule, plan.update + plan.cancel, InstallmentStatus.SCHEDULED, field)
    _lock_unchanged(schedule, plan.revive, InstallmentStatus.CANCELLED, field)
    if plan.restart:
        rows = list(LeaseInstallment.objects.select_for_update().filter(plan=schedule).order_by("pk"))
        _refuse_start_change(lease, [item for item in rows if item.posting_id is not None])
        LeaseInstallment.objects.filter(plan=schedule).delete()
    LeaseInstallment.objects.filter(pk__in=[item.pk for item in plan.cancel]).update(status=InstallmentStatus.CANCELLED)
    LeaseInstallment.objects.bulk_update(plan.update, ["days", "weekly_rate", "amount"])
    for item in plan.revive:
        item.status = InstallmentStatus.SCHEDULED
    LeaseInstallment.objects.bulk_update(plan.revive, ["days", "weekly_rate", "amount", "status"])
    LeaseInstallment.objects.bulk_create(plan.add)
    schedule.start_week = plan.start_week
    schedule.scheduled_through = plan.through
    schedule.driver_id = lease.primary_driver_id
    schedule.save(update_fields=["start_week", "scheduled_through", "driver", "updated_at"])
    plans.settle_plans(source=LEASES, plan_pks=[schedule.pk])
    counts = {
        "added": len(plan.add),
        "changed": len(plan.update) + len(plan.revive),
        "cancelled": len(plan.cancel),
    }
    if any(counts.values()):
        audit(
            action="leases.schedule",
            actor=actor,
            obj=schedule,
            object_id=schedule.schedule_id,
            payload={**counts, "weekly_rate": str(lease.weekly_rate), "scheduled_through": _jsonable(plan.through)},
        )
    return counts


def _refuse_start_change(lease: Lease, on_ledger: Sequence[LeaseInstallment]) -> None:
    if on_ledger:
        raise Conflict(
            f"Lease {lease.lease_number} is already charged for the week of {on_ledger[0].period_start}; "
            "its start date can no longer change.",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"start_date": "Weeks of this lease are already charged."},
        )


def _lock_unchanged(schedule: LeaseSchedule, items: Sequence[LeaseInstallment], status: str, field: str) -> None:
    """Lock the rows about to change and make sure none moved on meanwhile (a charge posted by the
    weekly job between the read and the write): the change is then refused, to be retried."""
    if not items:
        return
    pks = sorted(item.pk for item in items)
    locked = list(
        LeaseInstallment.objects.select_for_update().filter(pk__in=pks, plan=schedule, status=status).order_by("pk")
    )
    if len(locked) != len(pks):
        raise Conflict(
            "A week of this lease was charged while the change was made; look at the schedule and try again.",
            fields={field: "The schedule changed meanwhile."},
        )


def lease_terminate(
    *,
    actor: Actor,
    lease: Lease,
    termination_date: dt.date,
    reason: str,
    cancellation_fee: Decimal | int | str | None = None,
) -> Lease:
    """End a lease early (SPEC §2): the lease is TERMINATED with `termination_date` as its last day,
    its installments after that week are cancelled and the last week is prorated to that day; a fee,
    when given, becomes a CANCELLATION_FEE obligation due in the termination week."""
    from ledger.services import create_obligation

    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput("Give a reason for the termination.", fields={"reason": "A reason is required."})
    fee = _cancellation_fee(cancellation_fee)
    if not isinstance(termination_date, dt.date):
        raise InvalidInput("The termination date is a date.", fields={"termination_date": "A date (YYYY-MM-DD)."})
    _check_near(termination_date, field="termination_date")
    with transaction.atomic(durable=True):
        locked = _locked(lease)
        if locked.status not in OPEN_LEASE_STATUSES:
            raise Conflict(
                f"Lease {locked.lease_number} is {locked.status}; only an ACTIVE or SUSPENDED lease can be terminated.",
                code=ErrorCode.INVALID_TRANSITION,
                fields={"status": f"The lease is {locked.status}."},
            )
        if termination_date < locked.start_date:
            raise InvalidInput(
                f"Lease {locked.lease_number} starts on {locked.start_date}; a lease that never ran is CANCELLED.",
                fields={"termination_date": f"On or after the start date {locked.start_date}."},
            )
        if locked.end_date is not None and termination_date > locked.end_date:
            raise InvalidInput(
                f"Lease {locked.lease_number} already ends on {locked.end_date}.",
                fields={"termination_date": f"On or before the end date {locked.end_date}."},
            )
        before = _lease_snapshot(locked)
        locked.status = Lease.Status.TERMINATED
        locked.end_date = termination_date
        schedule = LeaseSchedule.objects.select_for_update().filter(lease=locked).first()
        if schedule is not None:
            # Refused before anything is written if a week already charged runs past the last day.
            _schedule_plan(
                lease=locked,
                schedule=schedule,
                start_changed=False,
                field="termination_date",
                today=timezone.localdate(),
            )
        _save(locked, update_fields=["status", "end_date", "updated_at"])
        cancelled = 0
        if schedule is not None:
            cancelled = plans.cancel_scheduled_installments(
                source=LEASES, plan=schedule, from_period=next_period(termination_date), actor=actor, reason=reason
            )
            _schedule_sync(lease=locked, actor=actor, field="termination_date")
        if fee is not None:
            create_obligation(
                category="CANCELLATION_FEE",
                amount=fee,
                source_reference=locked.lease_number,
                driver=locked.primary_driver,
                lease=locked,
                period=period_start(termination_date),
                description=f"Cancellation fee: lease {locked.lease_number} terminated on {termination_date}",
                actor=actor,
            )
        audit(
            action="lease.terminate",
            actor=actor,
            obj=locked,
            reason=reason,
            payload={
                "changes": _diff(before, _lease_snapshot(locked)),
                "termination_date": termination_date.isoformat(),
                "installments_cancelled": cancelled,
                "cancellation_fee": str(fee) if fee is not None else None,
            },
        )
    return locked


def _cancellation_fee(value: Decimal | int | str | None) -> Decimal | None:
    """An optional fee: empty or 0.00 means none; otherwise a positive amount in whole cents."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        raise InvalidInput(
            "The cancellation fee is an amount like 250.00.", fields={"cancellation_fee": "Not an amount."}
        )
    try:
        fee = to_money(value)
        exact = fee == Decimal(str(value).strip())
    except (ValueError, ArithmeticError) as exc:
        raise InvalidInput(
            "The cancellation fee is an amount like 250.00.", fields={"cancellation_fee": "Not an amount."}
        ) from exc
    if not exact:
        raise InvalidInput(
            "The cancellation fee is in whole cents.", fields={"cancellation_fee": "At most 2 decimals."}
        )
    if fee < ZERO or fee > MAX_AMOUNT:
        raise InvalidInput(
            "The cancellation fee cannot be negative.", fields={"cancellation_fee": f"Between 0.00 and {MAX_AMOUNT}."}
        )
    return fee if fee > ZERO else None


def lease_schedules_adopt(*, billed_from: dt.date, actor: Actor = None) -> int:
    """Give every ACTIVE or SUSPENDED lease that has no schedule one, billed from `billed_from` (or
    its start, if later). Leases entered through `lease_create` have theirs already; this is for
    leases loaded in bulk (seed_demo, data brought over from another system), whose earlier
    weeks were billed elsewhere. The installments follow with `lease_schedules_extend`."""
    now = timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None
    missing = Lease.objects.filter(status__in=OPEN_LEASE_STATUSES, schedule__isnull=True).values_list(
        "pk", "lease_number", "primary_driver_id", "start_date"
    )
    schedules = [
        LeaseSchedule(
            schedule_id=number,
            lease_id=pk,
            driver_id=driver_id,
            start_week=max(period_start(start), period_start(billed_from)),
            status=PlanStatus.OPEN,
            confirmed_at=now,
            created_by=user,
        )
        for pk, number, driver_id, start in missing
    ]
    if not schedules:
        return 0
    with transaction.atomic():
        # A concurrent run may adopt the same lease: its schedule stands, ours is skipped.
        LeaseSchedule.objects.bulk_create(schedules, batch_size=2000, ignore_conflicts=True)
        audit(
            action="leases.schedules_adopt",
            actor=actor,
            object_type=LeaseSchedule._meta.label,
            payload={"schedules": len(schedules), "billed_from": period_start(billed_from).isoformat()},
        )
    return len(schedules)


_NEW_INSTALLMENT_COLUMNS = "plan_id, installment_id, sequence, period_start, period_end, amount, days, weekly_rate"


def lease_schedules_extend(*, actor: Actor = None, today: dt.date | None = None, batch_size: int = 5000) -> int:
    """Write every open lease's schedule up to its last period as of `today` (the rolling horizon,
    or the end date): set-based, a batch of schedules per transaction, schedules locked. Returns
    how many installments were added; a second run adds none."""
    today = today or timezone.localdate()
    open_schedules = LeaseSchedule.objects.filter(lease__status__in=OPEN_LEASE_STATUSES).exclude(
        status=PlanStatus.CANCELLED
    )
    behind = [
        pk
        for pk, start_week, through, end_date in open_schedules.values_list(
            "pk", "start_week", "scheduled_through", "lease__end_date"
        )
        if through is None or through < last_period(first_period=start_week, end_date=end_date, today=today)
    ]
    added = 0
    for first in range(0, len(behind), batch_size):
        with transaction.atomic(), connection.cursor() as cursor:
            rows, written, reopen = [], [], []
            locked = (
                open_schedules.filter(pk__in=behind[first : first + batch_size])
                .select_for_update(of=("self",))
                .order_by("pk")
                .values_list(
                    "pk",
                    "status",
                    "start_week",
                    "scheduled_through",
                    "lease__lease_number",
                    "lease__start_date",
                    "lease__end_date",
                    "lease__weekly_rate",
                )
            )
            for pk, status, start_week, through, number, start_date, end_date, rate in locked:
                target = last_period(first_period=start_week, end_date=end_date, today=today)
                if through is not None and through >= target:
                    continue
                weeks = lease_weeks(
                    start_date=start_date,
                    end_date=end_date,
                    first_period=start_week if through is None else through + WEEK,
                    through=target,
                )
                rows.extend(
                    (
                        pk,
                        installment_id(number, week.period),
                        (week.period - start_week).days // 7 + 1,
                        week.period,
                        period_end(week.period),
                        prorated(rate, week.days),
                        week.days,
                        rate,
                    )
                    for week in weeks
                    if prorated(rate, week.days) > ZERO
                )
                written.append((pk, target))
                if status == PlanStatus.CLOSED:
                    reopen.append(pk)
            inserted = _insert_installments(cursor, rows)
            if written:
                cursor.execute(
                    f"""
                    UPDATE {LeaseSchedule._meta.db_table} AS s SET scheduled_through = v.through, updated_at = now()
                    FROM unnest(%s::bigint[], %s::date[]) AS v(id, through) WHERE s.id = v.id
                    """,
                    [[pk for pk, _ in written], [through for _, through in written]],
                )
            if reopen:
                plans.settle_plans(source=LEASES, plan_pks=reopen)
            if inserted:
                audit(
                    action="leases.schedules_extend",
                    actor=actor,
                    object_type=LeaseSchedule._meta.label,
                    payload={"schedules": len(written), "installments": inserted, "as_of": today.isoformat()},
                )
            added += inserted
    return added


def _insert_installments(cursor, rows: list[tuple]) -> int:
    """COPY new SCHEDULED installments in; a row whose id exists already is skipped."""
    if not rows:
        return 0
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS leases_new_installments (plan_id bigint, installment_id text, "
        "sequence integer, period_start date, period_end date, amount numeric(12,2), days smallint, "
        "weekly_rate numeric(12,2)) ON COMMIT DELETE ROWS"
    )
    cursor.execute("TRUNCATE leases_new_installments")
    with cursor.cursor.copy(f"COPY leases_new_installments ({_NEW_INSTALLMENT_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"""
        INSERT INTO {LeaseInstallment._meta.db_table} ({_NEW_INSTALLMENT_COLUMNS}, status)
        SELECT {_NEW_INSTALLMENT_COLUMNS}, %s FROM leases_new_installments ORDER BY plan_id, period_start
        ON CONFLICT DO NOTHING
        """,
        [InstallmentStatus.SCHEDULED],
    )
    return cursor.rowcount
