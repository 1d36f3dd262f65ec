"""Lease schedules (SPEC §2): each lease's weekly charges on the shared plan mechanism.

A schedule follows its lease in the lease write's own transaction (`leases.services` calls the
`LeaseFollower` this module registers): created with the lease, rebuilt for the weeks not yet
charged when its dates or rate change, cut at the end date when it is terminated
(`lease_terminate`, with an optional cancellation fee) or closed by a status change. A change
that would alter a week already charged to the ledger is a 409 — void that charge first. The
rules are in docs/rules.md and `lease_schedules.plan`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import AuditAction, audit
from batpay.errors import Conflict, ErrorCode, InvalidInput
from batpay.money import ZERO, clean_amount
from batpay.periods import WEEK, clean_date, current_period, next_period, period_end, period_start
from lease_schedules.models import LeaseInstallment, LeaseSchedule
from lease_schedules.plan import chargeable, installment_id, last_period, lease_weeks, prorated
from leases.models import Lease
from leases.services import (
    OPEN_LEASE_STATUSES,
    Actor,
    LeaseFollower,
    check_near,
    diff,
    jsonable,
    lease_snapshot,
    lock_row,
    save_row,
)
from ledger.services import create_obligation
from plans import services as plans
from plans.lifecycle import InstallmentStatus, PlanStatus
from plans.source import PlanSource

# Lease changes the schedule follows (the API's names).
_SCHEDULE_FIELDS = frozenset({"start_date", "end_date", "weekly_rate", "status", "driver_id"})
_ON_LEDGER = (InstallmentStatus.POSTED, InstallmentStatus.PAID)


class ScheduleAction(AuditAction):
    SCHEDULE = "leases.schedule"
    TERMINATE = "lease.terminate"
    SCHEDULES_ADOPT = "leases.schedules_adopt"
    SCHEDULES_EXTEND = "leases.schedules_extend"


def _field(changed: Mapping[str, Any]) -> str:
    """The changed field a refused schedule change is reported on."""
    return next((name for name in ("start_date", "end_date", "status", "weekly_rate") if name in changed), "status")


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
        wanted = {week.period: week.days for week in weeks if chargeable(lease.weekly_rate, week.days)}
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
            action=ScheduleAction.SCHEDULE,
            actor=actor,
            obj=schedule,
            object_id=schedule.schedule_id,
            payload={**counts, "weekly_rate": str(lease.weekly_rate), "scheduled_through": jsonable(plan.through)},
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
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput("Give a reason for the termination.", fields={"reason": "A reason is required."})
    fee = _cancellation_fee(cancellation_fee)
    termination_date = clean_date(termination_date, field="termination_date", noun="The termination date")
    check_near(termination_date, field="termination_date")
    with transaction.atomic(durable=True):
        locked = lock_row(lease)
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
        before = lease_snapshot(locked)
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
        save_row(locked, update_fields=["status", "end_date", "updated_at"])
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
            action=ScheduleAction.TERMINATE,
            actor=actor,
            obj=locked,
            reason=reason,
            payload={
                "changes": diff(before, lease_snapshot(locked)),
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
    fee = clean_amount(value, field="cancellation_fee", noun="The cancellation fee", allow_zero=True)
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
            action=ScheduleAction.SCHEDULES_ADOPT,
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
                    if chargeable(rate, week.days)
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
                    action=ScheduleAction.SCHEDULES_EXTEND,
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


# --- the plan source ----------------------------------------------------------------------------


class LeaseScheduleSource(PlanSource):
    def prepare_posting(self, *, period: dt.date, actor) -> dict:
        """Before the leases job posts: schedule leases that have none and roll every schedule's
        horizon forward, so the weekly job keeps open-ended leases charged without end."""
        adopted = lease_schedules_adopt(billed_from=current_period(), actor=actor)
        extended = lease_schedules_extend(actor=actor)
        return {"schedules_adopted": adopted, "installments_added": extended}


LEASES = LeaseScheduleSource(
    name="leases",
    category="LEASE",
    plan_model=LeaseSchedule,
    installment_model=LeaseInstallment,
    id_prefix="LS",
    id_width=6,
    label="Lease",
    obligation_paths={
        "driver_id": "plan__driver_id",
        "lease_id": "plan__lease_id",
        # Read from the lease when the charge is posted: the car and medallion driven that week.
        "vehicle_id": "plan__lease__vehicle_id",
        "medallion_id": "plan__lease__medallion_id",
    },
)


# --- following the lease --------------------------------------------------------------------------


def _lease_created(*, lease: Lease, actor: Actor) -> None:
    _schedule_sync(lease=lease, actor=actor, creating=True)


def _lease_changed(*, lease: Lease, actor: Actor, changed: Mapping[str, Any]) -> None:
    if set(changed) & _SCHEDULE_FIELDS:
        _schedule_sync(lease=lease, actor=actor, start_changed="start_date" in changed, field=_field(changed))


def _lease_check(*, lease: Lease, changed: Mapping[str, Any]) -> None:
    if not set(changed) & _SCHEDULE_FIELDS:
        return
    schedule = LeaseSchedule.objects.filter(lease=lease).first()
    if schedule is not None:
        _schedule_plan(
            lease=lease,
            schedule=schedule,
            start_changed="start_date" in changed,
            field=_field(changed),
            today=timezone.localdate(),
        )


FOLLOWER = LeaseFollower(created=_lease_created, changed=_lease_changed, check=_lease_check)
