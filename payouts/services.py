"""Payouts (docs/rules.md, "Payouts"): the only writer of this app's tables.

The money moves in the ledger: preparing a run first spends drivers' money due on what they owe
(`ledger.services.settle_due_money`); approving draws each payout from the money due with PAYOUT
postings (`ledger.services.pay_out`); an ACH return or a voided check reverses them
(`ledger.services.reverse_payout`), so the money is due again and the next run pays it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import AuditAction, audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.identifiers import next_numbers, yearly_id
from batpay.money import ZERO, to_money
from batpay.pdf import render_pdf
from batpay.periods import clean_date, period_end
from batpay.steps import Progress
from leases.models import Driver
from ledger import selectors as ledger_selectors
from ledger import services as ledger
from ledger.due import DUE_RECEIPT_SQL
from payouts import crypto, nacha
from payouts.banking import account_problem, routing_problem
from payouts.models import AccountType, BankAccount, Payout, PayoutRun
from statements.models import DriverTransactionReport, EarningsClose

REASON_MIN_LENGTH = 10
# The return codes a bank sends most (NACHA Operating Rules, Appendix Four); any R00–R99 is taken.
RETURN_CODES = {
    "R01": "Insufficient funds",
    "R02": "Account closed",
    "R03": "No account / unable to locate account",
    "R04": "Invalid account number",
    "R05": "Unauthorized debit to consumer account",
    "R06": "Returned per ODFI's request",
    "R07": "Authorization revoked by customer",
    "R08": "Payment stopped",
    "R10": "Customer advises not authorized",
    "R16": "Account frozen",
    "R20": "Non-transaction account",
    "R23": "Credit entry refused by receiver",
    "R29": "Corporate customer advises not authorized",
}


class PayoutAction(AuditAction):
    SET_BANK_ACCOUNT = "payouts.set_bank_account"
    ROTATE_KEYS = "payouts.rotate_keys"
    PREPARE_RUN = "payouts.prepare_run"
    APPROVE_RUN = "payouts.approve_run"
    MARK_PAID = "payouts.mark_paid"
    CANCEL_RUN = "payouts.cancel_run"
    ACH_RETURN = "payouts.ach_return"
    VOID_CHECK = "payouts.void_check"


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _reason(reason) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) < REASON_MIN_LENGTH:
        raise InvalidInput(
            f"Give a reason of at least {REASON_MIN_LENGTH} characters.",
            fields={"reason": f"At least {REASON_MIN_LENGTH} characters."},
        )
    return reason


# --- bank details ------------------------------------------------------------------------------


def set_bank_account(
    *, driver: Driver, routing_number: str, account_number: str | None, account_type: str, actor=None
) -> BankAccount:
    """Store (or change) where a driver is paid by ACH. The account number is encrypted; the audit
    trail records who changed what, with the last four digits only. `account_number` None keeps the
    stored one (a change of routing number or type only)."""
    problems = {}
    routing_number = (routing_number or "").strip() if isinstance(routing_number, str) else ""
    if problem := routing_problem(routing_number):
        problems["routing_number"] = problem
    if account_number is not None:
        account_number = account_number.strip() if isinstance(account_number, str) else ""
        if problem := account_problem(account_number):
            problems["account_number"] = problem
    if account_type not in AccountType.values:
        problems["account_type"] = f"One of {', '.join(AccountType.values)}."
    if problems:
        raise InvalidInput(" ".join(problems.values()), fields=problems)
    with transaction.atomic():
        account = BankAccount.objects.select_for_update().filter(driver=driver).first()
        if account is None and account_number is None:
            raise InvalidInput("Give the account number.", fields={"account_number": "Required."})
        before = (
            {
                "routing_number": account.routing_number,
                "account_last4": account.account_last4,
                "account_type": account.account_type,
            }
            if account
            else None
        )
        account = account or BankAccount(driver=driver)
        account.routing_number = routing_number
        account.account_type = account_type
        if account_number is not None:
            account.account_number_encrypted = crypto.encrypt(account_number)
            account.account_last4 = account_number[-4:]
        account.updated_by = _user(actor)
        account.save()
        after = {
            "routing_number": account.routing_number,
            "account_last4": account.account_last4,
            "account_type": account.account_type,
        }
        audit(
            action=PayoutAction.SET_BANK_ACCOUNT,
            actor=actor,
            obj=account,
            payload={"driver": driver.pk, "before": before, "after": after},
        )
    return account


def rotate_keys(*, actor=None, progress: Progress | None = None, batch_size: int = 1000) -> int:
    """Re-encrypt every stored account number (drivers' and approved payouts') with the current key.
    Batches commit one by one; a re-run re-encrypts again, harmlessly. Returns the rows rotated."""
    done = 0
    for model in (BankAccount, Payout):
        ids = list(model.objects.exclude(account_number_encrypted="").order_by("pk").values_list("pk", flat=True))
        total = len(ids)
        for start in range(0, total, batch_size):
            with transaction.atomic():
                rows = list(model.objects.select_for_update().filter(pk__in=ids[start : start + batch_size]))
                for row in rows:
                    row.account_number_encrypted = crypto.rotate(row.account_number_encrypted)
                model.objects.bulk_update(rows, ["account_number_encrypted"])
            done += len(rows)
            if progress:
                progress(total, min(start + batch_size, total))
    with transaction.atomic():
        audit(action=PayoutAction.ROTATE_KEYS, actor=actor, object_type="payouts.BankAccount", payload={"rows": done})
    return done


# --- state transitions ---------------------------------------------------------------------------

RUN = PayoutRun.Status
TRANSITIONS: dict[str, set[str]] = {
    RUN.PREPARED: {RUN.APPROVED, RUN.CANCELLED},
    RUN.APPROVED: {RUN.PAID},
    RUN.PAID: set(),
    RUN.CANCELLED: set(),
}


def _transition(run: PayoutRun, to: str) -> None:
    """The one way a run changes status: along TRANSITIONS, on a row locked by the caller."""
    if to not in TRANSITIONS[run.status]:
        raise Conflict(
            f"Payout run {run.number} is {run.get_status_display().lower()}; it cannot become {RUN(to).label.lower()}.",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"status": f"{run.status} → {to} is not allowed."},
        )
    run.status = to


def _locked_run(run_id) -> PayoutRun:
    try:
        run_id = int(run_id)
    except (TypeError, ValueError):
        raise NotFound(f"No payout run {run_id}.")
    run = PayoutRun.objects.select_for_update().filter(pk=run_id).first() if 0 < run_id < 2**63 else None
    if run is None:
        raise NotFound(f"No payout run {run_id}.")
    return run


# --- preparing -----------------------------------------------------------------------------------


def _prepare_lock() -> None:
    """One preparation at a time, fleet-wide: two would both see the same money due."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('payouts.prepare'))")


def prepare_run(*, period, actor=None, progress: Progress | None = None) -> tuple[PayoutRun, bool]:
    """The payout run of a closed period: its money due first pays what each driver owes (balances
    due by the period, waterfall order), then one payout per driver with money due of at least
    PAYOUT_MINIMUM — by ACH when the driver is paid by ACH and has bank details, else by check.
    Smaller amounts are carried to the next run. Idempotent: a period with a live run returns it
    (created False). Writes everything in one transaction, so a crash leaves nothing."""
    period = clean_date(period, field="period", noun="The period")
    if period.weekday() != 6:
        raise InvalidInput(f"{period} is not a Sunday.", fields={"period": "A period is named by its Sunday."})
    if period_end(period) >= timezone.localdate():
        raise InvalidInput(f"The period {period} has not ended.", fields={"period": "A period that has ended."})
    with transaction.atomic(durable=True):
        _prepare_lock()
        existing = PayoutRun.objects.exclude(status=RUN.CANCELLED).filter(period=period).first()
        if existing:
            return existing, False
        if not EarningsClose.objects.filter(period=period, completed_at__isnull=False).exists():
            raise Conflict(
                f"The week of {period} is not closed yet: its earnings are not booked, so nothing is known to be due.",
                code=ErrorCode.INVALID_TRANSITION,
                fields={"period": "Close the week first."},
            )
        waiting = PayoutRun.objects.filter(status=RUN.PREPARED).first()
        if waiting:
            raise Conflict(
                f"Payout run {waiting.number} awaits approval; approve or cancel it first.",
                code=ErrorCode.INVALID_TRANSITION,
                fields={"period": f"Run {waiting.number} awaits approval."},
            )
        later = PayoutRun.objects.exclude(status=RUN.CANCELLED).filter(period__gt=period).first()
        if later:
            raise Conflict(
                f"Payout run {later.number} already paid a later week; runs go forward.",
                code=ErrorCode.INVALID_TRANSITION,
                fields={"period": f"After {later.period}."},
            )
        today = timezone.localdate()
        run = PayoutRun.objects.create(
            number=yearly_id("PR", today.year, 4),
            period=period,
            minimum=to_money(settings.PAYOUT_MINIMUM),
            prepared_by=_user(actor),
        )
        run.settled = ledger.settle_due_money(
            until=period, key=f"payout:{run.number}:prepare", cause=f"payout run {run.number}", actor=actor
        )
        if progress:
            progress(2, 1)
        _insert_payouts(run)
        run.save()
        audit(
            action=PayoutAction.PREPARE_RUN,
            actor=actor,
            obj=run,
            payload={
                "period": period.isoformat(),
                "payouts": run.payout_count,
                "total": str(run.total),
                "settled": str(run.settled),
                "carried": str(run.carried_total),
            },
        )
        if progress:
            progress(2, 2)
    return run, True


NO_BANK_ACCOUNT = "Paid by check: no bank account on file for ACH."

# One payout per driver with money due (ledger.due's rule, receipts of periods up to the run's) of
# at least the minimum; ACH with the driver's bank details as they stand, else a check. One
# statement for the whole fleet, the totals of what it wrote returned.
_INSERT_PAYOUTS_SQL = f"""
WITH due AS (
    SELECT r.driver_id, SUM(r.unapplied) AS amount FROM ledger_receipt r
    WHERE r.period <= %(period)s AND {DUE_RECEIPT_SQL}
    GROUP BY r.driver_id
), carried AS (
    SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS total FROM due WHERE amount < %(minimum)s
), ins AS (
    INSERT INTO payouts_payout
        (run_id, driver_id, method, amount, status, payee, routing_number, account_number_encrypted,
         account_last4, account_type, dtr_numbers, note, return_code, void_reason, created_at)
    SELECT %(run)s, d.id, CASE WHEN ach.id IS NULL THEN 'CHECK' ELSE 'ACH' END, due.amount, 'PREPARED',
           d.first_name || ' ' || d.last_name, COALESCE(ach.routing_number, ''),
           COALESCE(ach.account_number_encrypted, ''), COALESCE(ach.account_last4, ''),
           COALESCE(ach.account_type, ''), '[]'::jsonb,
           CASE WHEN d.pay_to_mode = 'ACH' AND ach.id IS NULL THEN %(no_account)s ELSE '' END, '', '', now()
    FROM due
    JOIN leases_driver d ON d.id = due.driver_id
    LEFT JOIN payouts_bankaccount ach ON ach.driver_id = d.id AND d.pay_to_mode = 'ACH'
    WHERE due.amount >= %(minimum)s
    ORDER BY d.id
    RETURNING method, amount
)
SELECT (SELECT n FROM carried), (SELECT total FROM carried),
       count(*), COALESCE(SUM(amount), 0),
       count(*) FILTER (WHERE method = 'ACH'), COALESCE(SUM(amount) FILTER (WHERE method = 'ACH'), 0)
FROM ins
"""


def _insert_payouts(run: PayoutRun) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_PAYOUTS_SQL,
            {"period": run.period, "minimum": run.minimum, "run": run.pk, "no_account": NO_BANK_ACCOUNT},
        )
        run.carried_count, run.carried_total, run.payout_count, run.total, run.ach_count, run.ach_total = (
            cursor.fetchone()
        )
    run.check_count, run.check_total = run.payout_count - run.ach_count, run.total - run.ach_total


# --- approving, paying, cancelling ---------------------------------------------------------------


def next_business_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def approve_run(*, run_id, actor) -> PayoutRun:
    """The checker approves a prepared run: never the user who prepared it. In one transaction the
    money due pays anything owed that appeared since preparation, ACH payouts get trace numbers and
    checks their numbers (race-free counters), and each payout is drawn from the driver's money due
    by PAYOUT postings — all of them or, if any driver's money due is now less than the payout
    (credit refunded meanwhile), none (409: cancel the run and prepare it again)."""
    with transaction.atomic(durable=True):
        run = _locked_run(run_id)
        if run.prepared_by_id is not None and run.prepared_by_id == getattr(actor, "pk", None):
            raise Conflict(
                f"{actor.get_username()} prepared payout run {run.number}; another user must approve it.",
                code=ErrorCode.INVALID_TRANSITION,
                fields={"approved_by": "The preparer cannot approve their own run."},
            )
        _transition(run, RUN.APPROVED)
        ledger.settle_due_money(
            until=run.period, key=f"payout:{run.number}:approve", cause=f"payout run {run.number}", actor=actor
        )
        payouts = list(
            run.payouts.select_for_update()
            .order_by("pk")
            .only("pk", "run_id", "driver_id", "method", "amount", "account_last4", "trace_number", "check_number")
        )
        today = timezone.localdate()
        ach = [p for p in payouts if p.method == Payout.Method.ACH]
        checks = [p for p in payouts if p.method == Payout.Method.CHECK]
        odfi = settings.PAYOUT_ACH["origin_routing"][:8]
        for payout, number in zip(ach, next_numbers("payouts.trace", len(ach)), strict=True):
            payout.trace_number = f"{odfi}{number % 10**7:07d}"
        first_check = settings.PAYOUT_CHECK_START - 1
        for payout, number in zip(checks, next_numbers("payouts.check", len(checks)), strict=True):
            payout.check_number = first_check + number
        draws = [
            ledger.PayoutDraw(
                driver_id=p.driver_id,
                amount=p.amount,
                key=p.ledger_key,
                description=_paid_text(run, p, today),
            )
            for p in payouts
        ]
        # settle_due_money above locked every due receipt of the period, in this transaction.
        drawn = ledger.pay_out(until=run.period, draws=draws, actor=actor, locked=True)
        statements = _statements_paid({d.driver_id: d.receipt_ids for d in drawn.values()})
        for payout in payouts:
            payout.status = Payout.Status.ISSUED
            payout.dtr_numbers = statements.get(payout.driver_id, [])
        _issue(payouts)
        run.approved_by = _user(actor)
        run.approved_at = timezone.now()
        run.effective_entry_date = next_business_day(today)
        run.save()
        audit(
            action=PayoutAction.APPROVE_RUN,
            actor=actor,
            obj=run,
            payload={"payouts": len(payouts), "total": str(run.total)},
        )
    return run


def _issue(payouts: list[Payout]) -> None:
    """Mark the payouts ISSUED with their numbers in one statement (bulk_update's CASE per row costs
    the square of the run's size)."""

    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE payouts_payout p
            SET status = 'ISSUED', trace_number = u.trace, check_number = u.check_number, dtr_numbers = u.dtrs::jsonb
            FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[]) AS u(id, trace, check_number, dtrs)
            WHERE p.id = u.id
            """,
            [
                [p.pk for p in payouts],
                [p.trace_number for p in payouts],
                [p.check_number for p in payouts],
                [json.dumps(p.dtr_numbers) for p in payouts],
            ],
        )


def _paid_text(run: PayoutRun, payout: Payout, day: dt.date) -> str:
    """What the driver's statement says of the payout (the PAYOUT postings' description)."""
    if payout.method == Payout.Method.ACH:
        account = f"••••{payout.account_last4}, trace {payout.trace_number}"
        return f"Paid on {day.isoformat()} by ACH run {run.number} ({account})"
    return f"Paid on {day.isoformat()} by check #{payout.check_number} (payout run {run.number})"


def _statements_paid(receipts_by_driver: dict[int, tuple[int, ...]]) -> dict[int, list[str]]:
    """The issued DTR numbers of the weeks whose money each payout pays (a receipt's lease and
    period), in one query."""
    driver_of = {r: driver_id for driver_id, ids in receipts_by_driver.items() for r in ids}
    weeks = ledger_selectors.receipt_weeks(driver_of)
    wanted = {week: set() for week in weeks.values()}
    for receipt_id, week in weeks.items():
        wanted[week].add(driver_of[receipt_id])
    found: dict[int, set[str]] = defaultdict(set)
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT d.lease_id, d.period, d.dtr_number FROM {DriverTransactionReport._meta.db_table} d
            JOIN unnest(%s::bigint[], %s::date[]) AS w(lease_id, period)
              ON w.lease_id = d.lease_id AND w.period = d.period
            WHERE d.status = 'ISSUED'
            """,
            [[lease for lease, _ in wanted], [period for _, period in wanted]],
        )
        for lease_id, period, number in cursor.fetchall():
            for driver_id in wanted[(lease_id, period)]:
                found[driver_id].add(number)
    return {driver_id: sorted(numbers) for driver_id, numbers in found.items()}


def mark_paid(*, run_id, actor) -> PayoutRun:
    """An approved run's file was sent and its checks mailed."""
    with transaction.atomic(durable=True):
        run = _locked_run(run_id)
        _transition(run, RUN.PAID)
        run.paid_by = _user(actor)
        run.paid_at = timezone.now()
        run.save()
        audit(action=PayoutAction.MARK_PAID, actor=actor, obj=run, payload={"total": str(run.total)})
    return run


def cancel_run(*, run_id, reason: str, actor) -> PayoutRun:
    """A prepared run is rejected: nothing was paid; its period can be prepared again. What its
    preparation applied to drivers' debts stands (those were real debts, paid by their own money)."""
    reason = _reason(reason)
    with transaction.atomic(durable=True):
        run = _locked_run(run_id)
        _transition(run, RUN.CANCELLED)
        run.cancelled_by = _user(actor)
        run.cancelled_at = timezone.now()
        run.cancel_reason = reason
        run.save()
        run.payouts.update(status=Payout.Status.CANCELLED)
        audit(action=PayoutAction.CANCEL_RUN, actor=actor, obj=run, reason=reason)
    return run


# --- returns and voided checks -------------------------------------------------------------------


def _issued(payout: Payout, done_status: str) -> bool:
    """True when the payout can be undone now; False when it already was (a retry: nothing to do)."""
    if payout.status == done_status:
        return False
    if payout.status != Payout.Status.ISSUED:
        raise Conflict(
            f"Payout {payout.pk} is {payout.get_status_display().lower()}, not issued.",
            code=ErrorCode.INVALID_TRANSITION,
        )
    return True


def return_ach(*, trace_number: str, return_code: str, returned_on=None, actor=None) -> Payout:
    """The bank returned an ACH payout: its PAYOUT postings are reversed, the money is due to the
    driver again and the next run pays it. Idempotent by trace number (a second return of the same
    entry changes nothing)."""
    trace_number = trace_number.strip() if isinstance(trace_number, str) else ""
    if not re.fullmatch(r"[0-9]{15}", trace_number):
        raise InvalidInput("A trace number is 15 digits.", fields={"trace_number": "15 digits."})
    return_code = return_code.strip().upper() if isinstance(return_code, str) else ""
    if not re.fullmatch(r"R[0-9]{2}", return_code):
        raise InvalidInput("A return code is R and two digits (R01).", fields={"return_code": "Like R01."})
    today = timezone.localdate()
    returned_on = clean_date(returned_on, field="returned_on", noun="The return date") if returned_on else today
    if returned_on > today:
        raise InvalidInput("A return cannot be dated in the future.", fields={"returned_on": "Not in the future."})
    with transaction.atomic(durable=True):
        payout = Payout.objects.select_for_update().select_related("run").filter(trace_number=trace_number).first()
        if payout is None:
            raise InvalidInput(
                f"No ACH payout has the trace number {trace_number}.", fields={"trace_number": "No such payout."}
            )
        if not _issued(payout, Payout.Status.RETURNED):
            return payout
        name = RETURN_CODES.get(return_code, "returned by the bank")
        ledger.reverse_payout(
            key=payout.ledger_key,
            description=f"ACH return {return_code} ({name}) of run {payout.run.number}, trace {trace_number}",
            reason=f"ACH return {return_code}: {name}",
            actor=actor,
        )
        payout.status = Payout.Status.RETURNED
        payout.return_code = return_code
        payout.returned_on = returned_on
        payout.save(update_fields=["status", "return_code", "returned_on"])
        audit(
            action=PayoutAction.ACH_RETURN,
            actor=actor,
            obj=payout,
            reason=f"{return_code} {name}",
            payload={"trace_number": trace_number, "amount": str(payout.amount)},
        )
    return payout


def void_check(*, check_number, reason: str, actor=None) -> Payout:
    """An issued check is voided (lost, never cashed, wrong payee): its PAYOUT postings are reversed
    and the money is due to the driver again. Idempotent by check number."""
    reason = _reason(reason)
    try:
        number = int(check_number)
    except (TypeError, ValueError):
        raise InvalidInput("A check number is a whole number.", fields={"check_number": "A number."})
    if not 0 < number < 2**63:
        raise InvalidInput("A check number is a whole number.", fields={"check_number": "A number."})
    with transaction.atomic(durable=True):
        payout = Payout.objects.select_for_update().select_related("run").filter(check_number=number).first()
        if payout is None:
            raise InvalidInput(f"No check #{number} was issued.", fields={"check_number": "No such check."})
        if not _issued(payout, Payout.Status.VOIDED):
            return payout
        ledger.reverse_payout(
            key=payout.ledger_key,
            description=f"Check #{number} voided (payout run {payout.run.number})",
            reason=reason,
            actor=actor,
        )
        payout.status = Payout.Status.VOIDED
        payout.void_reason = reason
        payout.voided_on = timezone.localdate()
        payout.save(update_fields=["status", "void_reason", "voided_on"])
        audit(action=PayoutAction.VOID_CHECK, actor=actor, obj=payout, reason=reason, payload={"check": number})
    return payout


def import_returns(*, text: str, actor=None) -> list[tuple[str, str, str]]:
    """A bank's ACH return file: each returned entry is returned as `return_ach` does (a trace
    already returned is skipped). Returns (trace, code, outcome) per entry."""
    outcomes = []
    for trace, code in nacha.returns_in(text):
        try:
            before = Payout.objects.filter(trace_number=trace).values_list("status", flat=True).first()
            return_ach(trace_number=trace, return_code=code, actor=actor)
            outcomes.append((trace, code, "already returned" if before == Payout.Status.RETURNED else "returned"))
        except (Conflict, InvalidInput) as exc:
            outcomes.append((trace, code, str(exc)))
    return outcomes


# --- files -----------------------------------------------------------------------------------------


def _exportable(run: PayoutRun) -> None:
    if run.status not in (RUN.APPROVED, RUN.PAID):
        raise Conflict(
            f"Payout run {run.number} is {run.get_status_display().lower()}: only an approved run is exported.",
            code=ErrorCode.INVALID_TRANSITION,
        )


def originator() -> nacha.Originator:
    return nacha.Originator(**settings.PAYOUT_ACH)


def nacha_file(run: PayoutRun) -> str:
    """The run's ACH payouts as a NACHA PPD file (the same text every time it is downloaded). A
    returned payout stays in it: the file is what was sent."""
    _exportable(run)
    rows = (
        run.payouts.filter(method=Payout.Method.ACH)
        .exclude(status=Payout.Status.CANCELLED)
        .order_by("trace_number")
        .values_list("routing_number", "account_number_encrypted", "account_type", "amount", "driver_id", "payee",
                     "trace_number")
    )  # fmt: skip
    entries = [
        nacha.Entry(
            routing_number=routing,
            account_number=crypto.decrypt(token),
            account_type=account_type,
            amount=amount,
            individual_id=str(driver_id),
            name=payee,
            trace_number=trace,
        )
        for routing, token, account_type, amount, driver_id, payee, trace in rows
    ]
    created = timezone.localtime(run.approved_at)
    return nacha.build_file(
        originator=originator(),
        entries=entries,
        created=created,
        effective_date=run.effective_entry_date,
        reference=run.number.replace("PR-", "")[-8:],
    )


def checks(run: PayoutRun) -> list[Payout]:
    _exportable(run)
    return list(
        run.payouts.filter(method=Payout.Method.CHECK).exclude(status=Payout.Status.CANCELLED).order_by("check_number")
    )


def positive_pay_csv(run: PayoutRun) -> str:
    """The bank's positive-pay upload: every check of the run, a voided one marked V."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["account_number", "check_number", "issue_date", "amount", "payee", "void"])
    issued = timezone.localtime(run.approved_at).date().isoformat()
    for payout in checks(run):
        void = "V" if payout.status == Payout.Status.VOIDED else ""
        writer.writerow(
            [settings.PAYOUT_CHECK_ACCOUNT, payout.check_number, issued, f"{payout.amount:.2f}", payout.payee, void]
        )
    return out.getvalue()


def check_register_pdf(run: PayoutRun) -> bytes:
    """The run's check register: one stub per check, with the statements (DTR numbers) it pays."""
    payouts = checks(run)
    return render_pdf(
        "payouts/check_register.html",
        {
            "run": run,
            "payouts": payouts,
            "total": sum((p.amount for p in payouts), ZERO),
            "company": settings.COMPANY_NAME,
            "address": settings.COMPANY_ADDRESS,
            "issued": timezone.localtime(run.approved_at).date(),
        },
    )
