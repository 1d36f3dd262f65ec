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

What follows a lease in the same transaction (its weekly schedule, `lease_schedules`) registers a
`LeaseFollower` in `LEASE_FOLLOWERS`; the fleet knows nothing of plans or the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, ProtectedError, RestrictedError
from django.utils import timezone

from batpay.audit import AuditAction, audit
from batpay.errors import Conflict, DomainError, ErrorCode, InvalidInput, NotFound
from batpay.money import clean_amount
from batpay.periods import clean_date
from batpay.registry import Registry
from leases.models import Driver, Lease, Medallion, Vehicle

M = TypeVar("M", bound=Model)
Actor = AbstractBaseUser | None

LEASE_NUMBER_SEQUENCE = "leases_lease_number_seq"
OLDEST_VEHICLE_YEAR = 1990
# A lease date this far from today is a typing error (a start that far back would also mean
# thousands of weekly charges); the same bound as an installment plan's length, ten years.
MAX_WEEKS_FROM_TODAY = 520

_ACTIVE = Lease.Status.ACTIVE
_SUSPENDED = Lease.Status.SUSPENDED
OPEN_LEASE_STATUSES = frozenset({_ACTIVE, _SUSPENDED})
CLOSED_LEASE_STATUSES = frozenset({Lease.Status.TERMINATED, Lease.Status.EXPIRED, Lease.Status.CANCELLED})
LEASE_TRANSITIONS: dict[str, frozenset[str]] = {
    _ACTIVE: frozenset({_SUSPENDED}) | CLOSED_LEASE_STATUSES,
    _SUSPENDED: frozenset({_ACTIVE}) | CLOSED_LEASE_STATUSES,
    **{closed: frozenset() for closed in CLOSED_LEASE_STATUSES},
}


@dataclass(frozen=True)
class LeaseFollower:
    """What follows a lease inside the transaction that writes it (the lease schedule does).

    `created(lease=, actor=)` after a lease is created; `changed(lease=, actor=, changed=)` after an
    update, with {field: [old, new]}; `check(lease=, changed=)` before saving an update, writing
    nothing, to refuse a change early with a DomainError naming the field.
    """

    created: Callable[..., None]
    changed: Callable[..., None]
    check: Callable[..., None]


LEASE_FOLLOWERS: Registry[LeaseFollower] = Registry("lease follower")


class FleetAction(AuditAction):
    DRIVER_CREATE = "driver.create"
    DRIVER_UPDATE = "driver.update"
    DRIVER_DELETE = "driver.delete"
    VEHICLE_CREATE = "vehicle.create"
    VEHICLE_UPDATE = "vehicle.update"
    VEHICLE_DELETE = "vehicle.delete"
    MEDALLION_CREATE = "medallion.create"
    MEDALLION_UPDATE = "medallion.update"
    MEDALLION_DELETE = "medallion.delete"
    LEASE_CREATE = "lease.create"
    LEASE_UPDATE = "lease.update"
    LEASE_DELETE = "lease.delete"


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
        save_row(lease)
        if additional:
            lease.additional_drivers.set(additional)
        audit(action=FleetAction.LEASE_CREATE, actor=actor, obj=lease, payload={"values": lease_snapshot(lease)})
        for follower in LEASE_FOLLOWERS:
            follower.created(lease=lease, actor=actor)
    return lease


def lease_update(*, actor: Actor, lease: Lease, changes: LeaseChanges) -> Lease:
    with transaction.atomic():
        locked = lock_row(lease)
        before = lease_snapshot(locked)
        additional = _lease_apply(locked, changes, before=before)
        _end_on_closing(locked, was=before["status"], end_date_given="end_date" in changes)
        changed = diff(before, lease_snapshot(locked, additional, before))
        if changed:
            columns = [_LEASE_ATTNAMES[name] for name in changed if name in _LEASE_ATTNAMES]
            save_row(locked, update_fields=[*columns, "updated_at"])
            if additional is not None:
                locked.additional_drivers.set(additional)
            audit(action=FleetAction.LEASE_UPDATE, actor=actor, obj=locked, payload={"changes": changed})
            for follower in LEASE_FOLLOWERS:
                follower.changed(lease=locked, actor=actor, changed=changed)
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
            target = lock_row(lease)
            before = lease_snapshot(target)
            additional = _lease_apply(target, values, before=before)
            _end_on_closing(target, was=before["status"], end_date_given="end_date" in values)
            changed = diff(before, lease_snapshot(target, additional, before))
            for follower in LEASE_FOLLOWERS:
                # The admin's form shows a refused change (a week already charged) on the field.
                follower.check(lease=target, changed=changed)
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
            "start_date": _start_date,
            "end_date": _end_date,
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
    if "start_date" in values and (before is None or before["start_date"] != jsonable(lease.start_date)):
        check_near(lease.start_date, field="start_date")
    additional = None
    if "additional_driver_ids" in values:
        additional = list(dict.fromkeys(int(pk) for pk in values["additional_driver_ids"]))
    if before is not None and diff(before, lease_snapshot(lease, additional, before)):
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


def lease_snapshot(
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
    snapshot = {name: jsonable(getattr(lease, attname)) for name, attname in _LEASE_ATTNAMES.items()}
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
        save_row(obj)
        audit(
            action=FleetAction(f"{obj._meta.model_name}.create"),
            actor=actor,
            obj=obj,
            payload={"values": _snapshot(obj)},
        )
    return obj


def _update(obj: M, *, actor: Actor, changes: Mapping[str, Any], apply: Callable[[M, Mapping[str, Any]], None]) -> M:
    with transaction.atomic():
        locked = lock_row(obj)
        before = _snapshot(locked)
        apply(locked, changes)
        changed = diff(before, _snapshot(locked))
        if changed:
            save_row(locked, update_fields=[*changed, "updated_at"])
            audit(
                action=FleetAction(f"{obj._meta.model_name}.update"),
                actor=actor,
                obj=locked,
                payload={"changes": changed},
            )
    return locked


def _validate(obj: M, *, values: Mapping[str, Any], apply: Callable[[M, Mapping[str, Any]], None]) -> dict[str, Any]:
    with transaction.atomic():
        target = lock_row(obj) if obj.pk else obj
        apply(target, values)
    return {name: getattr(target, name) for name in values}


def _delete(obj: Model, *, actor: Actor) -> None:
    with transaction.atomic():
        audit(
            action=FleetAction(f"{obj._meta.model_name}.delete"),
            actor=actor,
            obj=obj,
            payload={"values": _snapshot(obj)},
        )
        try:
            with transaction.atomic():
                obj.delete()
        except (ProtectedError, RestrictedError) as exc:
            blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            raise Conflict(
                f"{obj._meta.verbose_name.capitalize()} {obj} is referred to by {len(blocking)} record(s) "
                "and cannot be deleted.",
            ) from exc


def lock_row(obj: M) -> M:
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


def save_row(obj: Model, update_fields: list[str] | None = None) -> None:
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
        field.attname: jsonable(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        if not field.primary_key and field.name not in ("created_at", "updated_at")
    }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {name: [before[name], value] for name, value in after.items() if before[name] != value}


def jsonable(value: Any) -> Any:
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


def _start_date(value: dt.date | str) -> dt.date:
    return clean_date(value, field="start_date", noun="The start date")


def _end_date(value: dt.date | str | None) -> dt.date | None:
    return None if value in (None, "") else clean_date(value, field="end_date", noun="The end date")


def _weekly_rate(value: Decimal | int | str) -> Decimal:
    return clean_amount(value, field="weekly_rate", noun="The weekly rate")


# --- lease dates ----------------------------------------------------------------------------


def check_near(day: dt.date, *, field: str) -> None:
    """A start or termination more than ten years from today is a typing error (a start that far
    back would also mean thousands of weekly charges); the same bound as an installment plan's length."""
    today = timezone.localdate()
    if abs((day - today).days) > MAX_WEEKS_FROM_TODAY * 7:
        raise InvalidInput(
            f"{field} {day.isoformat()} is more than {MAX_WEEKS_FROM_TODAY} weeks from today.",
            fields={field: f"Must be within {MAX_WEEKS_FROM_TODAY} weeks of today."},
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
