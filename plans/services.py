"""The generic writes of every installment plan: entry, edits, lifecycle, posting, paid state.

The services keyed by plan id (`plan_update`, `plan_confirm`, `plan_change_status`,
`plan_installments_post`) are what an app's API and admin call, through the app's own named
services (`repair_update`, `loan_confirm`, …); each runs in its own durable transaction, and the
weekly job (`post_due_installments`) commits batch by batch. Everything else runs inside the
caller's transaction: an app's create service (or a guided-entry case) opens it.
Lock order, everywhere: plan rows (by id), then installment rows (by id). The ledger calls
`sync_paid_state` with its own balance rows locked, and it too locks plans before installments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import Conflict, DomainError, ErrorCode, InvalidInput, NotFound
from batpay.models import AuditEvent
from batpay.money import ZERO
from leases.models import Driver, Lease
from leases.selectors import lease_is_drivers
from ledger.selectors import charges, obligation_balances
from ledger.services import BALANCE_LISTENERS, BalanceListener, ObligationRow, lock_credit_for, post_obligations
from plans import lifecycle
from plans.lifecycle import InstallmentStatus, PlanStatus, Transition
from plans.models import Installment, Plan
from plans.schedule import ScheduledInstallment
from plans.source import PLAN_SOURCES, PlanSource

logger = logging.getLogger("plans.services")

UNPAID = (InstallmentStatus.SCHEDULED, InstallmentStatus.POSTED)
ON_LEDGER = (InstallmentStatus.POSTED, InstallmentStatus.PAID)


# --- registration -------------------------------------------------------------------------------


def register_source(source: PlanSource) -> None:
    """Make a plan source known to the weekly posting (`post_due_installments --source`), the
    metrics, and the ledger: its installments follow their balances (`sync_paid_state`)."""
    PLAN_SOURCES.register(source.name, source)
    BALANCE_LISTENERS.register(
        f"plans.{source.name}",
        BalanceListener(
            category=source.category,
            notify=lambda references: sync_paid_state(source=source, references=references),
        ),
    )


# --- entry: the checks every plan's input shares -----------------------------------------------


def clean_id(value, field: str, errors: dict[str, str]) -> int | None:
    """An entered id, or None with the refusal recorded in `errors` under `field`."""
    if value is None or value == "":
        errors[field] = "This field is required."
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = "Must be an id (an integer)."
        return None


def collect_errors(errors: dict[str, str], check: Callable[[], Any]) -> Any:
    """`check()`'s value; an InvalidInput it raises goes into `errors` (each field's first
    message) instead, so one refusal can name every bad field."""
    try:
        return check()
    except InvalidInput as exc:
        for field, messages in exc.fields.items():
            errors.setdefault(field, messages[0])
        return None


def raise_if_invalid(errors: Mapping[str, str]) -> None:
    """One InvalidInput naming every bad field, its message the first one's."""
    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"{first}: {errors[first]}", fields=dict(errors))


def clean_driver_and_lease(*, driver_id, lease_id, errors: dict[str, str]) -> tuple[Driver | None, Lease | None]:
    """A plan's driver and lease by their entered ids; the lease must be the driver's (primary or
    additional driver). Each refusal goes into `errors` under its field."""
    driver = lease = None
    driver_pk = clean_id(driver_id, "driver_id", errors)
    if driver_pk is not None:
        driver = Driver.objects.filter(pk=driver_pk).first()
        if driver is None:
            errors["driver_id"] = f"No driver with id {driver_pk}."
    lease_pk = clean_id(lease_id, "lease_id", errors)
    if lease_pk is not None:
        lease = Lease.objects.filter(pk=lease_pk).first()
        if lease is None:
            errors["lease_id"] = f"No lease with id {lease_pk}."
    if driver and lease and not lease_is_drivers(lease, driver):
        errors["lease_id"] = f"Lease {lease.lease_number} is not a lease of driver {driver.pk}."
    return driver, lease


# --- schedule -----------------------------------------------------------------------------------


def replace_schedule(*, source: PlanSource, plan: Plan, schedule: Sequence[ScheduledInstallment]) -> list[Installment]:
    """Write `schedule` as the plan's installments, replacing its SCHEDULED ones from the first
    sequence in `schedule` on (all of them, for a DRAFT). Posted installments are never touched.

    `ScheduledInstallment.extra` carries a subclass's own columns (a loan's principal and interest).
    """
    if not schedule:
        return []
    source.installment_model.objects.filter(
        plan=plan, status=InstallmentStatus.SCHEDULED, sequence__gte=schedule[0].sequence
    ).delete()
    installments = [
        source.installment_model(
            plan=plan,
            installment_id=source.installment_id(plan.plan_id, item.sequence),
            sequence=item.sequence,
            period_start=item.period_start,
            period_end=item.period_end,
            amount=item.amount,
            **item.extra,
        )
        for item in schedule
    ]
    return source.installment_model.objects.bulk_create(installments)


# --- a new plan ---------------------------------------------------------------------------------


def new_plan(*, source: PlanSource, actor) -> Plan:
    """An unsaved plan with this year's next id, entered by `actor`; call it inside the creating
    transaction, once the entry has passed every check (the id is not given back)."""
    return source.plan_model(
        **{source.plan_model.plan_id_field: source.new_plan_id(year=timezone.localdate().year)},
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def set_entered(plan: Plan, entered) -> None:
    """Set an app's checked input on the plan: each field of the `entered` dataclass that names a
    field of the plan (`driver`, `vehicle_id`, `loan_amount`, …); anything else it carries (a
    loan's schedule) is the app's to place."""
    names = {name for field in plan._meta.concrete_fields for name in (field.name, field.attname)}
    for item in dataclasses.fields(entered):
        if item.name in names:
            setattr(plan, item.name, getattr(entered, item.name))


def add_plan(
    *,
    source: PlanSource,
    plan: Plan,
    schedule: Sequence[ScheduledInstallment],
    actor,
    confirm: bool,
    payload: Mapping[str, Any],
) -> Plan:
    """A plan the app has just saved: its schedule written, `<source>.create` audited with
    `payload`, and DRAFT → OPEN at once with `confirm`."""
    replace_schedule(source=source, plan=plan, schedule=schedule)
    audit(action=source.action("create"), actor=actor, obj=plan, object_id=plan.plan_id, payload=dict(payload))
    if confirm:
        plan = confirm_plan(source=source, plan=plan, actor=actor)
    return plan


# --- lifecycle ----------------------------------------------------------------------------------


def lock_plan(*, source: PlanSource, plan: Plan) -> Plan:
    """The plan re-read under a row lock: transitions decide on its committed status."""
    return source.plan_model.objects.select_for_update().get(pk=plan.pk)


def confirm_plan(*, source: PlanSource, plan: Plan, actor) -> Plan:
    """DRAFT → OPEN. The schedule is frozen from here on."""
    plan = lock_plan(source=source, plan=plan)
    lifecycle.confirm(plan)
    if not source.installment_model.objects.filter(plan=plan).exists():
        raise InvalidInput(f"{plan.plan_id} has no installments to confirm.", fields={"status": "No schedule."})
    plan.confirmed_at = timezone.now()
    plan.save(update_fields=["status", "confirmed_at", "updated_at"])
    audit(action=source.action(Transition.CONFIRM), actor=actor, obj=plan, object_id=plan.plan_id)
    return plan


def change_plan_status(*, source: PlanSource, plan: Plan, status: str, reason: str, actor) -> Plan:
    """What a client asks for with {"status": HOLD|OPEN|CANCELLED, "reason": …}.

    HOLD and CANCELLED need a reason (it is kept on the plan and in the audit trail). Cancelling
    also cancels the installments, and is refused once any of them is on the ledger.
    """
    transition = lifecycle.REQUESTABLE.get(status)
    if transition is None:
        raise InvalidInput(
            f"status must be one of {', '.join(lifecycle.REQUESTABLE)}; got {status!r}.",
            fields={"status": f"One of {', '.join(lifecycle.REQUESTABLE)}."},
        )
    reason = (reason or "").strip()
    if transition in (Transition.HOLD, Transition.CANCEL) and not reason:
        raise InvalidInput(f"Give a reason to move a plan to {status}.", fields={"reason": "A reason is required."})
    plan = lock_plan(source=source, plan=plan)
    previous = plan.status
    if transition == Transition.CANCEL:
        installments = source.installment_model.objects.select_for_update().filter(plan=plan).order_by("pk")
        posted = sum(1 for item in installments if item.status in ON_LEDGER)
        lifecycle.cancel(plan, posted_count=posted)
        source.installment_model.objects.filter(plan=plan, status=InstallmentStatus.SCHEDULED).update(
            status=InstallmentStatus.CANCELLED
        )
    elif transition == Transition.HOLD:
        lifecycle.hold(plan)
    else:
        lifecycle.resume(plan)
    plan.status_reason = reason
    plan.save(update_fields=["status", "status_reason", "updated_at"])
    audit(
        action=source.action(transition),
        actor=actor,
        obj=plan,
        object_id=plan.plan_id,
        reason=reason,
        payload={"from": previous, "to": plan.status},
    )
    return plan


# --- posting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostingSummary:
    source: str
    period: dt.date | None
    installments: int
    amount: Decimal
    dry_run: bool = False


def _installment_rows(queryset, source: PlanSource):
    """The values one posting needs per installment, joined in the same query."""
    paths = {"plan_ref": source.plan_id_path, **source.obligation_paths}
    renamed = {alias: F(path) for alias, path in paths.items()}
    return queryset.values("pk", "installment_id", "sequence", "amount", "period_start", **renamed)


def _obligation_rows(source: PlanSource, rows: Iterable[dict]):
    return [
        ObligationRow(
            category=source.category,
            source_reference=row["installment_id"],
            amount=row["amount"],
            driver_id=row["driver_id"],
            lease_id=row["lease_id"],
            period=row["period_start"],
            vehicle_id=row.get("vehicle_id"),
            medallion_id=row.get("medallion_id"),
            description=source.describe(plan_id=row["plan_ref"], sequence=row["sequence"]),
        )
        for row in rows
    ]


def _post(source: PlanSource, rows: list[dict], actor) -> tuple[int, Decimal]:
    """Post locked SCHEDULED installment rows through the ledger's bulk path; mark them POSTED.

    The ledger skips a reference it already holds. Such an installment is linked to the charge
    the ledger has (and so marked POSTED, then PAID or CANCELLED as that charge stands) rather
    than left SCHEDULED, where every later run would find it due again. Only what this call
    newly posted is counted.
    """
    if not rows:
        return 0, ZERO
    now = timezone.now()
    posted = post_obligations(rows=_obligation_rows(source, rows), actor=actor)
    links = {item.source_reference: (item.posting_id, now) for item in posted}
    missing = [row for row in rows if row["installment_id"] not in links]
    if missing:
        held = charges(category=source.category, source_references=[row["installment_id"] for row in missing])
        links.update((reference, (charge.posting_id, charge.posted_at)) for reference, charge in held.items())
        differing = sorted(
            row["installment_id"]
            for row in missing
            if row["installment_id"] in held and held[row["installment_id"]].amount != row["amount"]
        )
        logger.warning(
            "installments already on the ledger linked to the charge it holds",
            extra={
                "source": source.name,
                "installments": sorted(held)[:20],
                "count": len(held),
                "amount_differs": differing[:20],
            },
        )
    if not links:
        return 0, ZERO
    references = list(links)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {source.installment_model._meta.db_table} AS i
            SET status = %s, posting_id = v.posting_id, posted_at = v.posted_at
            FROM unnest(%s::text[], %s::bigint[], %s::timestamptz[]) AS v(installment_id, posting_id, posted_at)
            WHERE i.installment_id = v.installment_id AND i.status = %s
              -- Repeated as an index condition: the planner then reads just these rows, not the table.
              AND i.installment_id = ANY(%s::text[])
            """,
            [
                InstallmentStatus.POSTED,
                references,
                [links[reference][0] for reference in references],
                [links[reference][1] for reference in references],
                InstallmentStatus.SCHEDULED,
                references,
            ],
        )
    # A charge can be paid the moment it is posted (a lease prepayment), or have been paid or
    # voided long before (a linked one); the ledger told the listener before these rows were
    # POSTED, so look again now that they are.
    sync_paid_state(source=source, references=references)
    return len(posted), sum((item.amount for item in posted), ZERO)


def _lock_plans_for_posting(source: PlanSource, plan_pks: Sequence[int]) -> None:
    """Lock what posting these plans' installments needs, in the one order every writer follows:
    the ledger credit the new charges may spend (a void locks that receipt before the plan its
    listener updates), then the plans in id order."""
    lease_ids = source.plan_model.objects.filter(pk__in=plan_pks).values_list("lease_id", flat=True).distinct()
    lock_credit_for(category=source.category, lease_ids=sorted(lease_ids))
    list(source.plan_model.objects.select_for_update().filter(pk__in=plan_pks).order_by("pk").values_list("pk"))


def post_installments(*, source: PlanSource, installment_ids: Sequence[str], actor) -> PostingSummary:
    """Post chosen installments now, early if need be: all of them or none.

    Each must exist, be SCHEDULED (POSTED or PAID → 409 already_posted) and belong to an OPEN
    plan (a DRAFT, HOLD, CLOSED or CANCELLED plan → 409 invalid_transition).
    """
    wanted = list(dict.fromkeys(str(item).strip() for item in installment_ids if str(item).strip()))
    if not wanted:
        raise InvalidInput("Name at least one installment.", fields={"installment_ids": "At least one id."})
    Inst = source.installment_model
    plan_pks = sorted(set(Inst.objects.filter(installment_id__in=wanted).values_list("plan_id", flat=True)))
    _lock_plans_for_posting(source, plan_pks)
    plans = {plan.pk: plan for plan in source.plan_model.objects.filter(pk__in=plan_pks)}
    found = list(Inst.objects.select_for_update().filter(installment_id__in=wanted).order_by("pk"))
    missing = sorted(set(wanted) - {item.installment_id for item in found})
    if missing:
        raise InvalidInput(
            f"No such installment: {', '.join(missing[:10])}.",
            fields={"installment_ids": [f"{ref} does not exist." for ref in missing[:10]]},
        )
    for item in found:
        plan = plans[item.plan_id]
        if item.status in ON_LEDGER:
            raise Conflict(
                f"{item.installment_id} is already posted ({item.status}).",
                code=ErrorCode.ALREADY_POSTED,
                fields={"installment_ids": f"{item.installment_id} is already posted."},
            )
        if item.status != InstallmentStatus.SCHEDULED or plan.status != PlanStatus.OPEN:
            raise Conflict(
                f"{item.installment_id} cannot be posted: it is {item.status} and {plan.plan_id} is "
                f"{plan.status} (posting needs a SCHEDULED installment of an OPEN plan).",
                code=ErrorCode.INVALID_TRANSITION,
                fields={"installment_ids": f"{item.installment_id}: plan {plan.plan_id} is {plan.status}."},
            )
    rows = list(_installment_rows(Inst.objects.filter(pk__in=[item.pk for item in found]).order_by("pk"), source))
    count, amount = _post(source, rows, actor)
    audit(
        action=source.action("post_installments"),
        actor=actor,
        object_type=Inst._meta.label,
        object_id=wanted[0] if len(wanted) == 1 else "",
        payload={"installments": wanted, "posted": count, "amount": str(amount)},
    )
    return PostingSummary(source.name, None, count, amount)


def due_installments(*, source: PlanSource, period: dt.date):
    """SPEC §4's posting rule: SCHEDULED installments of OPEN plans whose period starts on or
    before `period` (HOLD plans wait; periods missed by a skipped run catch up)."""
    return source.installment_model.objects.filter(
        status=InstallmentStatus.SCHEDULED, plan__status=PlanStatus.OPEN, period_start__lte=period
    )


def post_due_installments(
    *,
    source: PlanSource,
    period: dt.date,
    actor=None,
    dry_run: bool = False,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> PostingSummary:
    """The weekly job: post every due installment of `source` for `period`, batch by batch.

    Each batch commits on its own, so locks are held briefly, a crash loses no finished batch and
    a re-run finishes the rest. Installments are locked and re-checked, so a second or concurrent
    run posts nothing twice. `progress(total, done)` is called before the first batch and after each.
    """
    due = due_installments(source=source, period=period)
    if dry_run:
        totals = due.aggregate(n=Count("pk"), amount=Sum("amount"))
        return PostingSummary(source.name, period, totals["n"], totals["amount"] or ZERO, dry_run=True)
    total = due.count()
    if progress:
        progress(total, 0)
    done = posted = 0
    amount = ZERO
    last_pk = 0
    while True:
        with transaction.atomic(durable=True):
            candidates = list(due.filter(pk__gt=last_pk).order_by("pk").values_list("pk", "plan_id")[:batch_size])
            if not candidates:
                break
            last_pk = candidates[-1][0]
            count, batch_amount = _post_candidates(source, due, candidates, period=period, actor=actor)
        done += len(candidates)
        posted += count
        amount += batch_amount
        if progress:
            progress(max(total, done), done)
    return PostingSummary(source.name, period, posted, amount)


def _post_candidates(source: PlanSource, due, candidates, *, period: dt.date, actor) -> tuple[int, Decimal]:
    """Post these (installment pk, plan pk) of `due` (in the caller's transaction)."""
    # Plans before installments, the order every plan write follows (the paid-state sync
    # after posting locks plans too); then the installments, re-checked under their lock.
    _lock_plans_for_posting(source, sorted({plan_pk for _, plan_pk in candidates}))
    batch = due.filter(pk__in=[pk for pk, _ in candidates]).select_for_update(of=("self",)).order_by("pk")
    rows = list(_installment_rows(batch, source))
    count, amount = _post(source, rows, actor)
    if count:
        audit(
            action=source.action("post_due_installments"),
            actor=actor,
            object_type=source.installment_model._meta.label,
            object_id=period.isoformat(),
            payload={"period": period.isoformat(), "posted": count, "amount": str(amount)},
        )
    return count, amount


def post_due_installments_of_leases(
    *, source: PlanSource, period: dt.date, lease_range: tuple[int, int], actor=None
) -> PostingSummary:
    """One shard of the weekly job: the due installments of the plans of the leases with
    lo <= id <= hi, in one transaction (the caller's, when it has one: the shard's, which marks
    it done). Re-checked under their locks like the whole job's, so nothing is posted twice."""
    lo, hi = lease_range
    due = due_installments(source=source, period=period).filter(plan__lease_id__gte=lo, plan__lease_id__lte=hi)
    with transaction.atomic():
        candidates = list(due.order_by("pk").values_list("pk", "plan_id"))
        if not candidates:
            return PostingSummary(source.name, period, 0, ZERO)
        count, amount = _post_candidates(source, due, candidates, period=period, actor=actor)
    return PostingSummary(source.name, period, count, amount)


# --- the services keyed by plan id (each its own durable transaction) ---------------------------

# What a reader (see `plan_update`) returns for a submitted value that keeps the stored one (an
# empty vehicle id or loan date is no change).
UNCHANGED: Any = object()


def stored_id(value) -> int:
    """A submitted id as stored; an empty one leaves the stored id as it is."""
    return UNCHANGED if value is None or value == "" else int(value)


def stored_date(value) -> dt.date:
    """A submitted date (an ISO string or a date) as stored."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def find_plan(*, source: PlanSource, plan_id: str, lock: bool = False) -> Plan:
    """The plan with this id (under a row lock with `lock`), else 404."""
    plans = source.plan_model.objects.select_for_update() if lock else source.plan_model.objects
    plan = plans.filter(**{source.plan_model.plan_id_field: plan_id}).first()
    if plan is None:
        raise NotFound(f"No {source.noun} {plan_id}.")
    return plan


def _changes(plan: Plan, changes: Mapping[str, Any], readers: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """The submitted values that change the stored ones (a client may send back what it read).
    `readers[field]` reads a value in its stored form; one it cannot read is a change, which the
    app's rules then refuse, naming the field."""
    changed = {}
    for field, value in changes.items():
        read = readers.get(field)
        try:
            stored = value if read is None else read(value)
        except (DomainError, TypeError, ValueError):
            changed[field] = value
            continue
        if stored is not UNCHANGED and stored != getattr(plan, field):
            changed[field] = value
    return changed


def plan_update(
    *,
    source: PlanSource,
    plan_id: str,
    changes: Mapping[str, Any],
    actor,
    readers: Callable[[Plan, Mapping[str, Any]], Mapping[str, Callable[[Any], Any]]],
    rebuild: Callable[[Plan, dict[str, Any]], Sequence[ScheduledInstallment]],
) -> Plan:
    """Change a plan. A DRAFT takes any change of `source.fields` and its schedule is rebuilt;
    after confirmation only `source.editable_after_confirmation` may change (any other changed
    field → 409 invalid_transition naming it). Sending back the stored value is no change.

    The app supplies its rules: `readers(plan, changes)` maps a field to how a submitted value
    reads in its stored form (a field without one compares as sent; a field editable after
    confirmation needs one, and is stored as it reads, so its reader also refuses a bad value);
    `rebuild(plan, values)` checks a DRAFT's full values by the app's rules, sets them on the
    plan, saves it and returns its new schedule.
    """
    unknown = sorted(set(changes) - set(source.fields))
    if unknown:
        raise InvalidInput(
            f"Unknown field(s): {', '.join(unknown)}.",
            fields={field: f"Not a {source.noun} field." for field in unknown},
        )
    with transaction.atomic(durable=True):
        plan = find_plan(source=source, plan_id=plan_id, lock=True)
        stored_form = readers(plan, changes)
        changed = _changes(plan, changes, stored_form)
        if not changed:
            return plan
        if plan.status != PlanStatus.DRAFT:
            frozen = sorted(set(changed) - set(source.editable_after_confirmation))
            if frozen:
                editable = " and ".join(f"the {name}" for name in source.editable_after_confirmation.values())
                raise Conflict(
                    f"{plan.plan_id} is {plan.status}: after confirmation only {editable} can change.",
                    code=ErrorCode.INVALID_TRANSITION,
                    fields={field: f"Cannot change once the {source.document} is {plan.status}." for field in frozen},
                )
            for field, value in changed.items():
                setattr(plan, field, stored_form[field](value))
            plan.save(update_fields=[*changed, "updated_at"])
        else:
            values = {field: getattr(plan, field) for field in source.fields} | changed
            replace_schedule(source=source, plan=plan, schedule=rebuild(plan, values))
        audit(
            action=source.action("update"),
            actor=actor,
            obj=plan,
            object_id=plan.plan_id,
            payload={field: str(value) for field, value in changed.items()},
        )
        return plan


def plan_confirm(*, source: PlanSource, plan_id: str, actor) -> Plan:
    """DRAFT → OPEN (`confirm_plan`): the schedule is final; the weekly job posts it as it falls due."""
    with transaction.atomic(durable=True):
        return confirm_plan(source=source, plan=find_plan(source=source, plan_id=plan_id, lock=True), actor=actor)


def plan_change_status(*, source: PlanSource, plan_id: str, status: str, reason: str, actor) -> Plan:
    """HOLD, OPEN (resume) or CANCELLED with a reason, by the lifecycle table (`change_plan_status`)."""
    with transaction.atomic(durable=True):
        plan = find_plan(source=source, plan_id=plan_id)
        return change_plan_status(source=source, plan=plan, status=status, reason=reason, actor=actor)


def plan_installments_post(*, source: PlanSource, installment_ids: Sequence[str], actor) -> PostingSummary:
    """Post the chosen installments now, all or none (`post_installments`)."""
    with transaction.atomic(durable=True):
        return post_installments(source=source, installment_ids=installment_ids, actor=actor)


# --- paid state from the ledger -----------------------------------------------------------------


def sync_paid_state(*, source: PlanSource, references: Sequence[str]) -> None:
    """Follow the ledger: an installment is PAID while its obligation is CLOSED, POSTED again when
    a void reopens it, CANCELLED when its charge itself was voided; a plan CLOSES when nothing is
    left to pay and REOPENS when something is again. Set-based: a few statements per call, and
    no lock at all when nothing changes (the common case right after posting).
    """
    if not references:
        return
    balances = obligation_balances(category=source.category, source_references=references)
    voided = [ref for ref, view in balances.items() if view.voided]
    closed = [ref for ref, view in balances.items() if view.status == "CLOSED" and not view.voided]
    reopened = [ref for ref, view in balances.items() if view.status == "OPEN" and not view.voided]
    changes = {
        InstallmentStatus.CANCELLED: Q(installment_id__in=voided) & ~Q(status=InstallmentStatus.CANCELLED),
        InstallmentStatus.PAID: Q(installment_id__in=closed, status=InstallmentStatus.POSTED),
        InstallmentStatus.POSTED: Q(installment_id__in=reopened, status=InstallmentStatus.PAID),
    }
    Inst = source.installment_model
    stale = Q()
    for condition in changes.values():
        stale |= condition
    plan_pks = sorted(set(Inst.objects.filter(stale).values_list("plan_id", flat=True)))
    if not plan_pks:
        return
    # Plans before installments, the order every plan write follows.
    list(source.plan_model.objects.select_for_update().filter(pk__in=plan_pks).order_by("pk").values_list("pk"))
    for status, condition in changes.items():
        Inst.objects.filter(condition, plan_id__in=plan_pks).update(status=status)

    settle_plans(source=source, plan_pks=plan_pks)


def settle_plans(*, source: PlanSource, plan_pks: Sequence[int]) -> None:
    """Close the plans with nothing left to pay and reopen closed ones that owe again (the
    automatic transitions of the table). The caller holds the plans' locks."""
    unpaid = source.installment_model.objects.filter(plan=OuterRef("pk"), status__in=UNPAID)
    affected = source.plan_model.objects.filter(pk__in=plan_pks)
    _auto_transition(
        source,
        affected.filter(status__in=lifecycle.sources_of(Transition.CLOSE)).exclude(Exists(unpaid)),
        Transition.CLOSE,
    )
    _auto_transition(
        source,
        affected.filter(status__in=lifecycle.sources_of(Transition.REOPEN)).filter(Exists(unpaid)),
        Transition.REOPEN,
    )


def cancel_scheduled_installments(*, source: PlanSource, plan: Plan, from_period: dt.date, actor, reason: str) -> int:
    """Cancel a plan's SCHEDULED installments from `from_period` on (a lease ended early), then
    settle the plan: with nothing else left to pay it closes. Posted installments stay the ledger's."""
    plan = lock_plan(source=source, plan=plan)
    cancelled = source.installment_model.objects.filter(
        plan=plan, status=InstallmentStatus.SCHEDULED, period_start__gte=from_period
    ).update(status=InstallmentStatus.CANCELLED)
    settle_plans(source=source, plan_pks=[plan.pk])
    audit(
        action=source.action("cancel_installments"),
        actor=actor,
        obj=plan,
        object_id=plan.plan_id,
        reason=reason,
        payload={"from_period": from_period.isoformat(), "cancelled": cancelled},
    )
    return cancelled


def _auto_transition(source: PlanSource, plans, transition: Transition) -> None:
    rows = list(plans.values_list("pk", source.plan_model.plan_id_field, "status"))
    if not rows:
        return
    target = lifecycle.target_of(transition)
    reason = "Every installment is paid." if transition == Transition.CLOSE else "A void reopened an installment."
    source.plan_model.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(status=target, updated_at=timezone.now())
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action=source.action(transition).value,
            object_type=source.plan_model._meta.label,
            object_id=plan_id,
            reason=reason,
            payload={"from": previous, "to": target, "automatic": True},
        )
        for _, plan_id, previous in rows
    )
