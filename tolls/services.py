"""The writes of the tolls app: the Sunday posting, reassigning a toll, reversing its charge, tags.

Each is one durable transaction with an audit row. The file import is `tolls.imports.import_tolls`;
charging and refunding go through `tolls.posting` and from there through `ledger.services` only.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from batpay.audit import audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.periods import last_closed_period
from batpay.steps import Progress, StepResult
from leases.models import Driver, Lease, Vehicle
from leases.selectors import lease_is_drivers
from ledger.categories import Category
from ledger.selectors import charges
from ledger.services import VOID_REASON_MIN_LENGTH, void_posting
from tolls.audit import TollAction
from tolls.imports import import_tolls
from tolls.models import Toll, TollAssignment, TollTag
from tolls.posting import post_tolls

__all__ = ["import_tolls", "tag_save", "toll_reassign", "toll_reverse", "tolls_post_due"]


def tolls_post_due(*, period: dt.date, actor=None, progress: Progress | None = None) -> StepResult:
    """The Sunday task's work (`tolls.post_due`, 04:15): every toll due by `period` becomes its EZPASS
    charge, every refund due by then is applied. Idempotent: what is charged is not charged again."""
    with transaction.atomic(durable=True):
        result = post_tolls(period=period, actor=actor)
        if result.count or result.details["refunds_applied"]:
            audit(
                action=TollAction.POST_DUE,
                actor=actor,
                object_type="tolls.Toll",
                payload={"period": period.isoformat(), **result.details, "amount": str(result.amount)},
            )
    if progress:
        progress(1, 1)
    return result


def _reason(reason) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) < VOID_REASON_MIN_LENGTH:
        raise InvalidInput(
            f"Give a reason of at least {VOID_REASON_MIN_LENGTH} characters.",
            fields={"reason": f"At least {VOID_REASON_MIN_LENGTH} characters."},
        )
    return reason


def _id(value, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} is not an id.", fields={field: "An id."})
    if not 0 < number < 2**63:
        raise InvalidInput(f"No {field.removesuffix('_id')} {number}.", fields={field: "No such record."})
    return number


def _locked_toll(toll_id) -> Toll:
    toll = Toll.objects.select_for_update(no_key=True).filter(pk=_id(toll_id, "toll_id")).first()
    if toll is None:
        raise NotFound(f"No toll {toll_id}.")
    return toll


def _charge_of(toll: Toll) -> int:
    """The DEBIT posting of the toll's current charge."""
    return charges(category=Category.EZPASS, source_references=[toll.source_reference])[
        toll.source_reference
    ].posting_id


def toll_reassign(*, toll_id, lease_id, reason: str, driver_id=None, actor=None) -> Toll:
    """Charge a toll to another lease and driver (the lease's primary driver unless named).

    A charged toll's charge is reversed (`ledger.services.void_posting`: what was paid on it goes back
    to where it came from) and a new charge is made, keyed `<Lane Txn ID>/<n>`, with the reason on
    both. A toll not charged yet — one kept for review without a lease included — is charged now if its
    week's Sunday run is past, else on Sunday. A refund can be reassigned until it is applied.
    """
    reason = _reason(reason)
    lease_id = _id(lease_id, "lease_id")
    with transaction.atomic(durable=True):
        # The lock charging takes (tolls.posting.post_tolls), taken first: two reassignments would
        # otherwise each hold a row and wait for the other's table.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE tolls_toll IN SHARE ROW EXCLUSIVE MODE")
        toll = _locked_toll(toll_id)
        if toll.status == Toll.Status.EXCLUDED:
            raise Conflict(f"Toll {toll.lane_txn_id} is not charged to anyone: {toll.reason}",
                           code=ErrorCode.INVALID_TRANSITION)  # fmt: skip
        if toll.status == Toll.Status.APPLIED:
            raise Conflict(
                f"Refund {toll.lane_txn_id} is already applied; void its payment in the ledger instead.",
                code=ErrorCode.INVALID_TRANSITION,
            )
        lease = Lease.objects.filter(pk=lease_id).select_related("vehicle").first()
        if lease is None:
            raise InvalidInput(f"No lease {lease_id}.", fields={"lease_id": "No such lease."})
        if driver_id in (None, ""):
            driver = lease.primary_driver
        else:
            driver = Driver.objects.filter(pk=_id(driver_id, "driver_id")).first()
            if driver is None or not lease_is_drivers(lease, driver):
                raise InvalidInput(
                    f"Driver {driver_id} does not drive lease {lease.lease_number}.",
                    fields={"driver_id": "A driver of the lease."},
                )
        charged = toll.status == Toll.Status.POSTED
        if toll.status in (Toll.Status.PENDING, Toll.Status.POSTED) and (toll.lease_id, toll.driver_id) == (
            lease.pk,
            driver.pk,
        ):
            raise Conflict(
                f"Toll {toll.lane_txn_id} is already charged to {driver.full_name} on lease {lease.lease_number}.",
                code=ErrorCode.INVALID_TRANSITION,
            )
        trail = TollAssignment(
            toll=toll,
            from_lease_id=toll.lease_id,
            from_driver_id=toll.driver_id,
            to_lease=lease,
            to_driver=driver,
            reason=reason,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if charged:
            trail.reversal = void_posting(
                posting=_charge_of(toll), reason=f"E-ZPass {toll.lane_txn_id} reassigned: {reason}", actor=actor
            )
            toll.assignment += 1  # the next charge gets the next key
        toll.lease, toll.driver = lease, driver
        toll.vehicle_id = toll.vehicle_id or lease.vehicle_id
        toll.attribution = Toll.Attribution.STAFF
        toll.trip = None
        toll.status = Toll.Status.PENDING
        toll.reason = f"Reassigned: {reason}"
        toll.save()
        if charged or toll.period <= last_closed_period():
            post_tolls(period=max(toll.period, last_closed_period()), actor=actor, toll_ids=[toll.pk])
        toll.refresh_from_db()
        trail.charge_reference = toll.source_reference if toll.status == Toll.Status.POSTED else ""
        trail.save()
        audit(
            action=TollAction.REASSIGN,
            actor=actor,
            obj=toll,
            reason=reason,
            payload={
                "from_lease": trail.from_lease_id,
                "from_driver": trail.from_driver_id,
                "to_lease": lease.pk,
                "to_driver": driver.pk,
                "reversal": trail.reversal_id,
                "charge": trail.charge_reference,
            },
        )
    return toll


def toll_reverse(*, toll_id, reason: str, actor=None) -> Toll:
    """Charge a toll to nobody (a disputed toll the agency took back, a plate misread): its charge, if
    made, is reversed with the reason; the toll stays on file as REVERSED and can be reassigned later."""
    reason = _reason(reason)
    with transaction.atomic(durable=True):
        toll = _locked_toll(toll_id)
        if toll.kind != Toll.Kind.CHARGE or toll.status not in (
            Toll.Status.PENDING,
            Toll.Status.POSTED,
            Toll.Status.UNMATCHED,
        ):
            raise Conflict(
                f"Toll {toll.lane_txn_id} is {toll.get_status_display().lower()}: there is no charge to reverse.",
                code=ErrorCode.INVALID_TRANSITION,
            )
        reversal = None
        if toll.status == Toll.Status.POSTED:
            reversal = void_posting(
                posting=_charge_of(toll), reason=f"E-ZPass {toll.lane_txn_id} reversed: {reason}", actor=actor
            )
            toll.assignment += 1  # charged again after a reassignment, under the next key
        toll.status = Toll.Status.REVERSED
        toll.reason = f"Reversed: {reason}"
        toll.save(update_fields=["status", "reason", "assignment", "updated_at"])
        audit(
            action=TollAction.REVERSE,
            actor=actor,
            obj=toll,
            reason=reason,
            payload={"reversal": reversal.pk if reversal else None, "amount": str(toll.amount)},
        )
    return toll


def tag_save(*, tag_number: str, vehicle_id, actor=None, tag: TollTag | None = None) -> TollTag:
    """Record (or move) an E-ZPass tag on a vehicle."""
    digits = "".join((tag_number or "").split()).replace("-", "") if isinstance(tag_number, str) else ""
    if not digits.isascii() or not digits.isdigit() or not 6 <= len(digits) <= 20:
        raise InvalidInput("A tag number is 6 to 20 digits.", fields={"tag_number": "6 to 20 digits."})
    vehicle = Vehicle.objects.filter(pk=_id(vehicle_id, "vehicle_id")).first()
    if vehicle is None:
        raise InvalidInput(f"No vehicle {vehicle_id}.", fields={"vehicle_id": "No such vehicle."})
    # Not durable: the admin's add and change pages save inside their own transaction.
    with transaction.atomic():
        clash = TollTag.objects.filter(tag_number=digits).exclude(pk=tag.pk if tag else None).first()
        if clash is not None:
            raise Conflict(f"Tag {digits} is already on vehicle {clash.vehicle}.", fields={"tag_number": "Taken."})
        tag = tag or TollTag()
        tag.tag_number, tag.vehicle = digits, vehicle
        tag.save()
        audit(action=TollAction.SAVE_TAG, actor=actor, obj=tag, payload={"tag": digits, "vehicle": vehicle.pk})
    return tag
