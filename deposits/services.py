"""The writes of security deposits: terms entered, collection (the plan mechanism), release.

Money moves only through `ledger.services`: installments are posted as DEPOSIT obligations by the
plan mechanism; a release is `ledger.services.release_deposit`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batpay.audit import AuditAction, audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.money import ZERO, clean_amount, to_money
from batpay.periods import current_period
from deposits.models import Deposit
from deposits.plan import DEPOSITS
from leases.models import Driver, Lease
from ledger.services import release_deposit
from plans.lifecycle import InstallmentStatus, PlanStatus
from plans.schedule import build_schedule, resolve_start_week
from plans.services import (
    add_plan,
    cancel_scheduled_installments,
    clean_driver_and_lease,
    collect_errors,
    lock_plan,
    new_plan,
    post_installments,
    raise_if_invalid,
)

MAX_INSTALLMENTS = 52
REASON_MIN_LENGTH = 10


class DepositAction(AuditAction):
    RELEASE = "deposits.release"


@dataclass(frozen=True)
class ReleaseSummary:
    deposits: int
    returned: Decimal
    applied: Decimal


def split(amount: Decimal, count: int) -> list[Decimal]:
    """`count` weekly amounts: equal whole cents, the last one the rest (never less than the others)."""
    weekly = (amount / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return [weekly] * (count - 1) + [to_money(amount - weekly * (count - 1))]


@dataclass(frozen=True)
class DepositInput:
    driver: Driver
    lease: Lease
    amount: Decimal
    collection: str
    count: int
    start: dt.date


def deposit_input_clean(
    *, driver_id, lease_id, deposit_amount, collection, installment_count=None, start_week=None
) -> DepositInput:
    """A deposit's terms checked by every rule, writing nothing (the admin's form shows the refusals)."""
    errors: dict[str, str] = {}
    driver, lease = clean_driver_and_lease(driver_id=driver_id, lease_id=lease_id, errors=errors)
    amount = collect_errors(errors, lambda: clean_amount(deposit_amount, field="deposit_amount"))
    if collection not in Deposit.Collection.values:
        errors["collection"] = f"One of {', '.join(Deposit.Collection.values)}."
    count = 1
    if collection == Deposit.Collection.INSTALLMENTS:
        try:
            count = int(installment_count)
        except (TypeError, ValueError):
            count = 0
        if not 2 <= count <= MAX_INSTALLMENTS:
            errors["installment_count"] = f"From 2 to {MAX_INSTALLMENTS} weekly installments."
        elif amount is not None and amount < Decimal("0.01") * count:
            errors["installment_count"] = "More installments than cents in the deposit."
    today = timezone.localdate()
    start = current_period(today)
    if collection == Deposit.Collection.INSTALLMENTS:
        start = collect_errors(errors, lambda: resolve_start_week(start_week or "NEXT", entry_date=today))
    if lease is not None and Deposit.objects.filter(lease=lease).exclude(status=PlanStatus.CANCELLED).exists():
        errors["lease_id"] = f"Lease {lease.lease_number} already has a deposit."
    raise_if_invalid(errors)
    return DepositInput(driver, lease, amount, collection, count, start)


def deposit_create(
    *, driver_id, lease_id, deposit_amount, collection, installment_count=None, start_week=None, actor=None
) -> Deposit:
    """A lease's deposit terms. AT_ONCE: one installment, posted now as a DEPOSIT charge of this week.
    INSTALLMENTS: `installment_count` weekly installments from `start_week` (CURRENT, NEXT or a
    Sunday; default NEXT), posted by the Sunday job as they fall due. One deposit per lease."""
    entry = deposit_input_clean(
        driver_id=driver_id,
        lease_id=lease_id,
        deposit_amount=deposit_amount,
        collection=collection,
        installment_count=installment_count,
        start_week=start_week,
    )
    driver, lease, amount, collection = entry.driver, entry.lease, entry.amount, entry.collection
    count, start = entry.count, entry.start
    with transaction.atomic(durable=True):
        deposit = new_plan(source=DEPOSITS, actor=actor)
        deposit.driver = driver
        deposit.lease = lease
        deposit.deposit_amount = amount
        deposit.collection = collection
        deposit.installment_count = count
        deposit.start_week = start
        deposit.save()
        schedule = build_schedule(split(amount, count), start=start, field="installment_count")
        deposit = add_plan(
            source=DEPOSITS,
            plan=deposit,
            schedule=schedule,
            actor=actor,
            confirm=True,
            payload={"amount": str(amount), "collection": collection, "installments": count},
        )
        if collection == Deposit.Collection.AT_ONCE:
            post_installments(
                source=DEPOSITS, installment_ids=[DEPOSITS.installment_id(deposit.deposit_id, 1)], actor=actor
            )
    return Deposit.objects.get(pk=deposit.pk)


def deposit_balance_ids(deposit: Deposit) -> list[int]:
    return [
        pk
        for pk in deposit.installments.filter(posting__isnull=False).values_list("posting__obligation_id", flat=True)
        if pk is not None
    ]


def _reason(value) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if len(text) < REASON_MIN_LENGTH:
        raise InvalidInput(
            f"Give a reason of at least {REASON_MIN_LENGTH} characters.",
            fields={"reason": f"At least {REASON_MIN_LENGTH} characters."},
        )
    return text


def deposit_release(*, deposit_id: str, reason: str, actor=None) -> Deposit:
    """Release a deposit now (a Controller early, with a reason; the daily job once the hold ends):
    what is held pays the lease's open balances in waterfall order, the rest is due to the driver;
    installments not yet posted are cancelled. Released once: a second release is a 409."""
    reason = _reason(reason)
    if not isinstance(deposit_id, str) or not (found := Deposit.objects.filter(deposit_id=deposit_id.strip()).first()):
        raise NotFound(f"No deposit {deposit_id}.")
    if found.is_released:
        raise Conflict(f"{found.deposit_id} is already released.", code=ErrorCode.INVALID_TRANSITION)
    with transaction.atomic(durable=True):
        # The ledger first (balances, receipts, postings, then the plan its listener updates): the
        # one lock order. A release that ran meanwhile left nothing to release, and is seen below.
        result = release_deposit(
            balance_ids=deposit_balance_ids(found),
            reason=f"{found.deposit_id} released: {reason}",
            key=f"deposit-release:{found.deposit_id}",
            cause=f"the release of deposit {found.deposit_id}",
            actor=actor,
        )
        deposit = lock_plan(source=DEPOSITS, plan=found)
        if deposit.is_released:
            raise Conflict(f"{deposit.deposit_id} is already released.", code=ErrorCode.INVALID_TRANSITION)
        if deposit.installments.filter(status=InstallmentStatus.SCHEDULED).exists():
            cancel_scheduled_installments(
                source=DEPOSITS, plan=deposit, from_period=deposit.start_week, actor=actor, reason=reason
            )
            deposit.refresh_from_db()
        deposit.released_at = timezone.now()
        deposit.release_reason = reason
        deposit.released_by = actor if getattr(actor, "is_authenticated", False) else None
        deposit.released_amount = result.returned
        deposit.applied_amount = result.applied
        deposit.save(
            update_fields=["released_at", "release_reason", "released_by", "released_amount", "applied_amount"]
        )
        audit(
            action=DepositAction.RELEASE,
            actor=actor,
            obj=deposit,
            object_id=deposit.deposit_id,
            reason=reason,
            payload={
                "returned": str(result.returned),
                "applied": str(result.applied),
                "due_to_driver": str(result.due_to_driver),
            },
        )
    return deposit


def due_for_release(*, today: dt.date):
    """Deposits not yet released whose lease ended at least DEPOSIT_HOLD_DAYS ago."""
    last_day = today - dt.timedelta(days=settings.DEPOSIT_HOLD_DAYS)
    return (
        Deposit.objects.filter(released_at__isnull=True, lease__end_date__isnull=False, lease__end_date__lte=last_day)
        .exclude(status=PlanStatus.CANCELLED)
        .select_related("lease")
        .order_by("pk")
    )


def release_due_deposits(
    *, today: dt.date, actor=None, progress: Callable[[int, int], None] | None = None
) -> ReleaseSummary:
    """The daily job's work: release every deposit whose hold has ended, each in its own
    transaction (a crash keeps what committed; a rerun finds only the rest)."""
    due = list(due_for_release(today=today).values_list("deposit_id", "lease__lease_number", "lease__end_date"))
    if progress:
        progress(len(due), 0)
    returned = applied = ZERO
    for done, (deposit_id, lease_number, end_date) in enumerate(due, start=1):
        deposit = deposit_release(
            deposit_id=deposit_id,
            reason=f"Lease {lease_number} ended on {end_date}; held {settings.DEPOSIT_HOLD_DAYS} days.",
            actor=actor,
        )
        returned += deposit.released_amount
        applied += deposit.applied_amount
        if progress:
            progress(len(due), done)
    return ReleaseSummary(deposits=len(due), returned=returned, applied=applied)
