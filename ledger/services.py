"""The only writer of the ledger (SPEC §3).

Every operation is atomic and locks the rows it changes (SELECT … FOR NO KEY UPDATE, which
does not block the foreign-key checks of other writers) in one fixed order — obligation
balances (by id), then receipts (by id), then postings (by id) — so concurrent payments,
earnings and voids serialise instead of deadlocking. Work that touches a
whole fleet (posting installments, applying earnings) runs in a few set-based statements.

Who depends on balances closing or reopening (installment plans) registers a `BalanceListener`
in `BALANCE_LISTENERS`; the ledger calls it inside the same transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models import Sum as models_sum
from django.utils import timezone

from batpay.audit import AuditAction, audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.money import ZERO, clean_amount, max_transaction_amount, to_money
from batpay.periods import clean_date, is_period_start, period_end, period_start
from batpay.registry import Registry
from batpay.text import text_problem
from leases.selectors import lease_is_drivers
from ledger import due, effective
from ledger.arrays import pg_array
from ledger.categories import PAYOUT
from ledger.models import PRIORITY, Category, EntryType, ObligationBalance, Posting, Receipt, Refund

VOID_REASON_MIN_LENGTH = 10


class LedgerAction(AuditAction):
    POST_OBLIGATIONS = "ledger.post_obligations"
    APPLY_EARNINGS = "ledger.apply_earnings"
    INTERIM_PAYMENT = "ledger.interim_payment"
    PREPAYMENT = "ledger.prepayment"
    VOID_POSTING = "ledger.void_posting"
    DRIVER_CREDIT = "ledger.driver_credit"
    REVERSE_DRIVER_CREDIT = "ledger.reverse_driver_credit"
    RELEASE_DEPOSIT = "ledger.release_deposit"


# --- listeners --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceListener:
    """`notify(source_references)` runs inside the ledger's transaction whenever balances of
    `category` close (paid off) or reopen (a void)."""

    category: str
    notify: Callable[[list[str]], None]


BALANCE_LISTENERS: Registry[BalanceListener] = Registry("balance listener")


def _notify(changed: Iterable[tuple[str, str]]) -> None:
    by_category: dict[str, set[str]] = defaultdict(set)
    for category, reference in changed:
        by_category[category].add(reference)
    for category, references in by_category.items():
        for listener in BALANCE_LISTENERS:
            if listener.category == category:
                listener.notify(sorted(references))


# --- input checks -----------------------------------------------------------------------------


def _positive_cents(value, field: str) -> Decimal:
    return clean_amount(value, field=field)


def _actor_id(actor) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def _lease_of_driver(driver, lease) -> None:
    if lease_is_drivers(lease, driver):
        return
    raise InvalidInput(
        f"Lease {lease.lease_number} is not a lease of driver {driver.pk}.",
        fields={"lease_id": "This lease does not belong to the driver."},
    )


# --- posting obligations (the bulk path every source feeds) -----------------------------------


@dataclass(frozen=True)
class ObligationRow:
    category: str
    source_reference: str
    amount: Decimal
    driver_id: int
    lease_id: int
    period: dt.date
    vehicle_id: int | None = None
    medallion_id: int | None = None
    description: str = ""


@dataclass(frozen=True)
class PostedObligation:
    source_reference: str
    balance_id: int
    posting_id: int
    amount: Decimal


_OBLIGATION_COLUMNS = (
    "ord, category, priority, source_reference, amount, driver_id, lease_id, vehicle_id, medallion_id, period, "
    "description"
)

# One statement: the balances (skipping sources already posted), then their charges. Each charge's
# date comes from the small (due period → effective date) table the caller passes (the rule is
# ledger.effective.charge_date), so the postings are written straight from the inserted balances
# without joining the input rows back on their text keys.
_POST_OBLIGATIONS_SQL = """
WITH new_balance AS (
    INSERT INTO ledger_obligationbalance
        (category, priority, source_reference, original_amount, outstanding, status, due_period,
         driver_id, lease_id, vehicle_id, medallion_id, description, created_at, updated_at)
    SELECT category, priority, source_reference, amount, amount, 'OPEN', period,
           driver_id, lease_id, vehicle_id, medallion_id, description, now(), now()
    FROM ledger_rows
    ORDER BY ord
    ON CONFLICT (category, source_reference) DO NOTHING
    RETURNING id, category, source_reference, original_amount, due_period,
              driver_id, lease_id, vehicle_id, medallion_id, description
), charge_date AS (
    SELECT * FROM unnest(%(periods)s::date[], %(effective)s::date[]) AS d(due_period, effective)
), new_posting AS (
    INSERT INTO ledger_posting
        (entry_type, category, amount, obligation_id, receipt_id, driver_id, lease_id, vehicle_id,
         medallion_id, period, effective_date, status, reverses_id, idempotency_key, description,
         reason, created_by_id, created_at)
    SELECT 'DEBIT', b.category, b.original_amount, b.id, NULL, b.driver_id, b.lease_id, b.vehicle_id,
           b.medallion_id, d.effective - EXTRACT(DOW FROM d.effective)::int, d.effective, 'POSTED', NULL,
           'obligation:' || b.category || ':' || b.source_reference, b.description, '', %(actor)s, now()
    FROM new_balance b JOIN charge_date d ON d.due_period = b.due_period
    ORDER BY b.id
    RETURNING id, obligation_id
)
SELECT b.source_reference, b.id, p.id, b.original_amount, b.category
FROM new_balance b JOIN new_posting p ON p.obligation_id = b.id
ORDER BY b.id
"""


_POSTING_WORK_MEM = "64MB"


def _load_rows(cursor, table: str, columns: str, types: str, rows: Iterable[tuple]) -> None:
    """COPY rows into a session temp table (emptied first and at commit)."""
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({types}) ON COMMIT DELETE ROWS")
    cursor.execute(f"TRUNCATE {table}")
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def post_obligations(*, rows: Sequence[ObligationRow], actor=None, description: str = "") -> list[PostedObligation]:
    """Write one DEBIT posting and one OPEN balance per row, set-based.

    Rows whose (category, source reference) is already in the ledger are skipped: posting is
    idempotent by source, whoever calls and however often. Returns what this call posted.
    New LEASE balances immediately take any prepayment credit of their lease.
    """
    prepared: list[tuple] = []
    seen: set[tuple[str, str]] = set()
    largest = max_transaction_amount()
    for index, row in enumerate(rows):
        category = row.category
        if category not in PRIORITY:
            raise InvalidInput(f"Unknown ledger category {category!r}.", fields={"category": "Unknown category."})
        reference = (row.source_reference or "").strip()
        if not reference or len(reference) > 64:
            raise InvalidInput(
                "A source reference is 1 to 64 characters.", fields={"source_reference": "1 to 64 characters."}
            )
        key = (category, reference)
        if key in seen:
            continue
        seen.add(key)
        amount = row.amount
        # Most rows come from a source's own sums, already in cents: only the others need reading.
        if not (type(amount) is Decimal and amount.as_tuple().exponent == -2 and ZERO < amount <= largest):
            amount = _positive_cents(amount, "amount")
        if not is_period_start(row.period):
            raise InvalidInput(f"{row.period} is not a Sunday.", fields={"period": "A period is named by its Sunday."})
        prepared.append(
            (
                index,
                category,
                PRIORITY[category],
                reference,
                amount,
                row.driver_id,
                row.lease_id,
                row.vehicle_id,
                row.medallion_id,
                row.period,
                (row.description or description)[:255],
            )
        )
    if not prepared:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        # A charge of a week whose statements are issued is late: it counts from today and shows
        # on this week's statement (ledger.effective).
        today = timezone.localdate()
        periods = sorted({row[9] for row in prepared})
        reported = effective.reported_periods(periods)
        _load_rows(
            cursor,
            "ledger_rows",
            _OBLIGATION_COLUMNS,
            "ord integer, category text, priority smallint, source_reference text, amount numeric(12,2), "
            "driver_id bigint, lease_id bigint, vehicle_id bigint, medallion_id bigint, period date, "
            "description text",
            prepared,
        )
        # The statement sorts the rows three times: with the default 4 MB each sort of a large
        # batch spilled to disk. More memory for this statement only (set back after it; an
        # error rolls the setting back with the transaction).
        cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [_POSTING_WORK_MEM])
        previous_work_mem = cursor.fetchone()[0]
        cursor.execute(
            _POST_OBLIGATIONS_SQL,
            {
                "periods": pg_array(periods),
                "effective": pg_array(effective.charge_date(p, today=today, reported=reported) for p in periods),
                "actor": _actor_id(actor),
            },
        )
        posted = cursor.fetchall()
        cursor.execute("SELECT set_config('work_mem', %s, true)", [previous_work_mem])
        lease_balances = [balance_id for _, balance_id, _, _, category in posted if category == Category.LEASE]
        closed = _apply_prepayments(cursor, lease_balances, _actor_id(actor)) if lease_balances else []
        if posted:
            audit(
                action=LedgerAction.POST_OBLIGATIONS,
                actor=actor,
                object_type="ledger.ObligationBalance",
                payload={
                    "posted": len(posted),
                    "skipped": len(prepared) - len(posted),
                    "amount": str(sum((row[3] for row in posted), ZERO)),
                    "categories": sorted({row[4] for row in posted}),
                },
            )
        _notify(closed)
    return [PostedObligation(ref, balance_id, posting_id, amount) for ref, balance_id, posting_id, amount, _ in posted]


def create_obligation(
    *,
    category: str,
    amount: Decimal,
    source_reference: str,
    driver,
    lease,
    period: dt.date | None = None,
    vehicle=None,
    medallion=None,
    description: str = "",
    actor=None,
) -> ObligationBalance:
    """One charge: a DEBIT posting and an OPEN balance (idempotent by category and source reference)."""
    _lease_of_driver(driver, lease)
    row = ObligationRow(
        category=category,
        source_reference=source_reference,
        amount=amount,
        driver_id=driver.pk,
        lease_id=lease.pk,
        period=period or period_start(timezone.localdate()),
        vehicle_id=vehicle.pk if vehicle else lease.vehicle_id,
        medallion_id=medallion.pk if medallion else lease.medallion_id,
        description=description,
    )
    with transaction.atomic():
        post_obligations(rows=[row], actor=actor)
        return ObligationBalance.objects.get(category=category, source_reference=source_reference.strip())


# --- the waterfall: spending receipts on balances, set-based ----------------------------------

# How the postings of an allocation are keyed, dated and described. Internal constants only; the
# dates come from ledger.effective, the one rule for them.
_CREDIT_EFFECTIVE = f"GREATEST(b.due_period, {effective.BALANCE_FLOOR_SQL}, {effective.RECEIPT_AVAILABLE_SQL})"
_RECEIPT_NAME = (
    "CASE r.kind WHEN 'EARNINGS' THEN 'earnings of the week of ' || to_char(r.period, 'YYYY-MM-DD') "
    "WHEN 'PREPAYMENT' THEN 'lease prepayment #' || r.id "
    "WHEN 'DRIVER_CREDIT' THEN 'credit to driver #' || r.id "
    "WHEN 'INTERIM_PAYMENT' THEN 'interim payment #' || r.id ELSE lower(replace(r.kind, '_', ' ')) || ' #' || r.id END"
)
_ALLOCATION_MODES = {
    # A week's card earnings, booked to the Saturday that ends the week.
    "earnings": {
        "key": "r.idempotency_key || ':b' || b.id",
        "effective": "r.period + 6",
        "description": "'Paid from earnings of ' || to_char(r.period, 'YYYY-MM-DD')",
    },
    # Prepayment credit taken by a LEASE charge the moment it is posted.
    "prepayment": {
        "key": "'prepayment:b' || b.id || ':r' || r.id",
        "effective": _CREDIT_EFFECTIVE,
        "description": "'Paid from lease prepayment credit (receipt ' || r.id || ')'",
    },
    # A credit to the driver (ledger.services.record_driver_credit) paying what they owe at once.
    "driver_credit": {
        "key": "r.idempotency_key || ':b' || b.id",
        "effective": _CREDIT_EFFECTIVE,
        "description": "'Paid from credit to driver #' || r.id",
    },
    # Money a void made available again (credit, or earnings handed back), spent at once.
    "settle": {
        "key": "%(key)s || ':r' || r.id || ':b' || b.id",
        "effective": _CREDIT_EFFECTIVE,
        "description": "'Credit from ' || " + _RECEIPT_NAME + " || ' returned by ' || %(cause)s",
    },
    # Money due to the driver paying what they owe before a payout run pays them (any of their
    # leases: `by_driver`), on the day of the run.
    "payout": {
        "key": "%(key)s || ':r' || r.id || ':b' || b.id",
        "effective": f"GREATEST(%(today)s::date, b.due_period, {effective.BALANCE_FLOOR_SQL}, "
        f"{effective.RECEIPT_AVAILABLE_SQL})",
        "description": "'Credit from ' || " + _RECEIPT_NAME + " || ' applied by ' || %(cause)s",
    },
}

_ALLOCATE_SQL = """
WITH cap AS (
    -- What each receipt may spend here: all its unapplied money unless the caller caps it.
    SELECT * FROM unnest(%(cap_ids)s::bigint[], %(cap_amounts)s::numeric[]) AS c(id, amount)
), spendable AS (
    SELECT r.id, {group_r} AS grp, r.driver_id, LEAST(r.unapplied, COALESCE(cap.amount, r.unapplied)) AS unapplied
    FROM ledger_receipt r LEFT JOIN cap ON cap.id = r.id
    WHERE r.id = ANY(%(receipts)s::bigint[]) AND r.unapplied > 0
), rec AS (
    SELECT s.id, s.grp, s.driver_id, s.unapplied,
           SUM(s.unapplied) OVER (PARTITION BY s.grp, s.driver_id ORDER BY s.id) AS hi
    FROM spendable s WHERE s.unapplied > 0
), bcap AS (
    SELECT * FROM unnest(%(bcap_ids)s::bigint[], %(bcap_amounts)s::numeric[]) AS c(id, amount)
), payable AS (
    SELECT b.id, {group_b} AS grp, b.driver_id, b.priority, b.due_period,
           LEAST(b.outstanding, COALESCE(bcap.amount, b.outstanding)) AS outstanding
    FROM ledger_obligationbalance b LEFT JOIN bcap ON bcap.id = b.id
    WHERE b.id = ANY(%(balances)s::bigint[]) AND b.status = 'OPEN'
), bal AS (
    SELECT b.id, b.grp, b.driver_id, b.outstanding,
           SUM(b.outstanding) OVER (
               PARTITION BY b.grp, b.driver_id ORDER BY b.priority, b.due_period, b.id
           ) AS hi
    FROM payable b WHERE b.outstanding > 0
), alloc AS (
    -- Receipts and balances each cover a stretch of one running total per lease and driver;
    -- what a receipt pays a balance is where their stretches overlap.
    SELECT rec.id AS receipt_id, bal.id AS balance_id,
           LEAST(rec.hi, bal.hi) - GREATEST(rec.hi - rec.unapplied, bal.hi - bal.outstanding) AS amount
    FROM rec JOIN bal ON bal.grp = rec.grp AND bal.driver_id = rec.driver_id
    WHERE LEAST(rec.hi, bal.hi) > GREATEST(rec.hi - rec.unapplied, bal.hi - bal.outstanding)
), ins AS (
    INSERT INTO ledger_posting
        (entry_type, category, amount, obligation_id, receipt_id, driver_id, lease_id, vehicle_id,
         medallion_id, period, effective_date, status, reverses_id, idempotency_key, description,
         reason, created_by_id, created_at)
    SELECT 'CREDIT', b.category, a.amount, b.id, r.id, b.driver_id, b.lease_id, b.vehicle_id,
           b.medallion_id, d.effective - EXTRACT(DOW FROM d.effective)::int, d.effective, 'POSTED', NULL,
           {key}, {description}, '', %(actor)s, %(now)s
    FROM alloc a
    JOIN ledger_obligationbalance b ON b.id = a.balance_id
    JOIN ledger_receipt r ON r.id = a.receipt_id
    CROSS JOIN LATERAL (SELECT ({effective})::date AS effective) d
    ORDER BY a.receipt_id, b.priority, b.due_period, b.id
    RETURNING obligation_id, receipt_id, amount
), paid_balance AS (
    UPDATE ledger_obligationbalance b
    SET outstanding = b.outstanding - s.total,
        status = CASE WHEN b.outstanding - s.total = 0 THEN 'CLOSED' ELSE 'OPEN' END,
        updated_at = now()
    FROM (SELECT obligation_id, SUM(amount) AS total FROM ins GROUP BY obligation_id) s
    WHERE b.id = s.obligation_id
    RETURNING b.category, b.source_reference, b.status
), spent_receipt AS (
    UPDATE ledger_receipt r
    SET unapplied = r.unapplied - s.total
    FROM (SELECT receipt_id, SUM(amount) AS total FROM ins GROUP BY receipt_id) s
    WHERE r.id = s.receipt_id
    RETURNING r.id
)
SELECT category, source_reference FROM paid_balance WHERE status = 'CLOSED'
"""


def _allocate(
    cursor,
    *,
    mode: str,
    receipt_ids: list[int],
    balance_ids: list[int],
    actor_id: int | None,
    caps: dict[int, Decimal] | None = None,
    balance_caps: dict[int, Decimal] | None = None,
    key: str = "",
    cause: str = "",
    by_driver: bool = False,
):
    """Spend receipts (oldest first) on balances (priority, due period, creation order), per lease
    and driver (`by_driver`: per driver, across their leases), in one statement. The caller has
    locked both sets. `caps` limits what a receipt may spend here, `balance_caps` what a balance
    may take. Returns the balances closed."""
    if not receipt_ids or not balance_ids:
        return []
    caps = caps or {}
    group = "0" if by_driver else "{}.lease_id"
    sql = _ALLOCATE_SQL.format(**_ALLOCATION_MODES[mode], group_r=group.format("r"), group_b=group.format("b"))
    cursor.execute(
        sql,
        {
            "receipts": pg_array(receipt_ids),
            "balances": pg_array(balance_ids),
            "actor": actor_id,
            "now": timezone.now(),
            "cap_ids": pg_array(caps),
            "cap_amounts": pg_array(caps.values()),
            "bcap_ids": pg_array(balance_caps or {}),
            "bcap_amounts": pg_array((balance_caps or {}).values()),
            "key": key,
            "cause": cause,
            "today": timezone.localdate(),
        },
    )
    return cursor.fetchall()


def lock_credit_for(*, category: str, lease_ids: Sequence[int]) -> None:
    """Lock the receipts that posting charges of `category` on these leases may spend.

    Today that is a LEASE charge taking its lease's prepayment credit. A caller that holds other
    locks while it posts (an installment plan) takes these first: a void locks a receipt before
    the plan its listener updates, so receipts must come before plans everywhere.
    """
    if category != Category.LEASE or not lease_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id FROM ledger_receipt
            WHERE kind IN ('INTERIM_PAYMENT', 'PREPAYMENT') AND unapplied > 0 AND lease_id = ANY(%s)
            ORDER BY id
            FOR NO KEY UPDATE
            """,
            [list(lease_ids)],
        )


def _apply_prepayments(cursor, balance_ids: list[int], actor_id: int | None) -> list[tuple[str, str]]:
    cursor.execute(
        """
        SELECT r.id FROM ledger_receipt r
        WHERE r.kind IN ('INTERIM_PAYMENT', 'PREPAYMENT') AND r.unapplied > 0
          AND (r.lease_id, r.driver_id) IN (
              SELECT lease_id, driver_id FROM ledger_obligationbalance WHERE id = ANY(%s::bigint[]))
        ORDER BY r.id
        FOR NO KEY UPDATE
        """,
        [pg_array(balance_ids)],
    )
    receipt_ids = [row[0] for row in cursor.fetchall()]
    return _allocate(cursor, mode="prepayment", receipt_ids=receipt_ids, balance_ids=balance_ids, actor_id=actor_id)


@dataclass(frozen=True)
class EarningsRow:
    driver_id: int
    lease_id: int
    period: dt.date
    amount: Decimal


@dataclass(frozen=True)
class EarningsResult:
    receipts: int
    received: Decimal
    applied: Decimal
    unapplied: Decimal
    closed: int
    receipt_ids: tuple[int, ...]


_EARNINGS_KEY_PREFIX = "earnings:"


def _earnings_key(lease_id: int, driver_id: int, period: dt.date) -> str:
    return f"{_EARNINGS_KEY_PREFIX}{lease_id}:{driver_id}:{period.isoformat()}"


def apply_earnings_bulk(*, rows: Sequence[EarningsRow], actor=None) -> EarningsResult:
    """Record each lease's weekly card earnings and pay its open balances in priority order.

    Earnings of period P pay balances due in P or earlier. A (lease, driver, period) already
    recorded is skipped, so re-running a week changes nothing. The unapplied rest of each
    receipt is what the driver is paid.
    """
    prepared = []
    for row in rows:
        amount = to_money(row.amount)
        if amount < 0:
            raise InvalidInput("Earnings cannot be negative.", fields={"amount": "Must be zero or more."})
        if not is_period_start(row.period):
            raise InvalidInput(f"{row.period} is not a Sunday.", fields={"period": "A period is named by its Sunday."})
        if amount > 0:
            _positive_cents(amount, "amount")
            key = _earnings_key(row.lease_id, row.driver_id, row.period)
            prepared.append((row.driver_id, row.lease_id, row.period, amount, key))
    empty = EarningsResult(0, ZERO, ZERO, ZERO, 0, ())
    if not prepared:
        return empty
    actor_id = _actor_id(actor)
    with transaction.atomic(), connection.cursor() as cursor:
        _load_rows(
            cursor,
            "ledger_earnings_rows",
            "driver_id, lease_id, period, amount, key",
            "driver_id bigint, lease_id bigint, period date, amount numeric(12,2), key text",
            prepared,
        )
        cursor.execute(
            """
            INSERT INTO ledger_receipt
                (kind, method, driver_id, lease_id, period, received_on, amount, unapplied,
                 idempotency_key, note, created_by_id, created_at)
            SELECT 'EARNINGS', '', driver_id, lease_id, period, period + 6, amount, amount,
                   key, 'Weekly card earnings', %s, now()
            FROM ledger_earnings_rows
            ORDER BY lease_id, driver_id, period
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id, period
            """,
            [actor_id],
        )
        inserted = cursor.fetchall()
        receipt_ids = sorted(receipt_id for receipt_id, _ in inserted)
        if not receipt_ids:
            return empty
        cursor.execute(
            """
            SELECT b.id, b.due_period FROM ledger_obligationbalance b
            JOIN ledger_receipt r ON r.lease_id = b.lease_id AND r.driver_id = b.driver_id
            WHERE r.id = ANY(%s::bigint[]) AND b.status = 'OPEN' AND b.due_period <= r.period
            ORDER BY b.id
            FOR NO KEY UPDATE OF b
            """,
            [pg_array(receipt_ids)],
        )
        locked = dict(cursor.fetchall())
        closed = []
        # Oldest week first, each paying, on balances due by its week, the room they have from the
        # week's Saturday on (ledger.effective.room_on): a balance reopened by a void, or charged
        # late, after the week ended waits for a later week's earnings.
        for period in sorted({period for _, period in inserted}):
            room = effective.room_on((b for b, due in locked.items() if due <= period), period_end(period))
            room = {balance_id: amount for balance_id, amount in room.items() if amount > 0}
            closed += _allocate(
                cursor,
                mode="earnings",
                receipt_ids=sorted(receipt_id for receipt_id, of in inserted if of == period),
                balance_ids=sorted(room),
                actor_id=actor_id,
                balance_caps=room,
            )
        cursor.execute(
            "SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(unapplied), 0) FROM ledger_receipt "
            "WHERE id = ANY(%s::bigint[])",
            [pg_array(receipt_ids)],
        )
        received, unapplied = cursor.fetchone()
        audit(
            action=LedgerAction.APPLY_EARNINGS,
            actor=actor,
            object_type="ledger.Receipt",
            payload={"receipts": len(receipt_ids), "received": str(received), "unapplied": str(unapplied)},
        )
        _notify(closed)
    return EarningsResult(
        receipts=len(receipt_ids),
        received=received,
        applied=received - unapplied,
        unapplied=unapplied,
        closed=len(closed),
        receipt_ids=tuple(receipt_ids),
    )


def apply_earnings(*, driver, lease, period: dt.date, amount: Decimal, actor=None) -> Receipt | None:
    """One lease's weekly earnings through the same set-based path. Returns the period's
    EARNINGS receipt (the existing one when the week was already applied), or None for 0.00."""
    _lease_of_driver(driver, lease)
    if not is_period_start(period):
        raise InvalidInput(f"{period} is not a Sunday.", fields={"period": "A period is named by its Sunday."})
    apply_earnings_bulk(
        rows=[EarningsRow(driver_id=driver.pk, lease_id=lease.pk, period=period, amount=amount)], actor=actor
    )
    return Receipt.objects.filter(idempotency_key=_earnings_key(lease.pk, driver.pk, period)).first()


# --- interim payments (the cashier's window) --------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    balance_id: int
    amount: Decimal


def apply_interim_payment(
    *,
    driver,
    lease,
    amount: Decimal,
    method: str,
    allocations: Sequence[Allocation] = (),
    actor=None,
    idempotency_key: str | None = None,
    received_on: dt.date | None = None,
    note: str = "",
    description: str | None = None,
) -> Receipt:
    """A cashier's payment: the chosen allocations first, then the lease's open LEASE balances
    oldest first; whatever is left stays on the receipt as the lease's prepayment credit.
    `description` names the money on its postings when it is not the cashier's (an E-ZPass refund:
    "Credit from …", which the DTR prints as it is)."""
    return _record_payment(
        kind=Receipt.Kind.INTERIM_PAYMENT,
        driver=driver,
        lease=lease,
        amount=amount,
        method=method,
        allocations=allocations,
        actor=actor,
        idempotency_key=idempotency_key,
        received_on=received_on,
        note=note,
        description=description,
    )


def record_prepayment(
    *,
    driver,
    lease,
    amount: Decimal,
    method: str,
    actor=None,
    idempotency_key: str | None = None,
    received_on: dt.date | None = None,
    note: str = "",
) -> Receipt:
    """Money paid ahead for the lease: it pays open LEASE balances now and later charges as they post."""
    return _record_payment(
        kind=Receipt.Kind.PREPAYMENT,
        driver=driver,
        lease=lease,
        amount=amount,
        method=method,
        allocations=(),
        actor=actor,
        idempotency_key=idempotency_key,
        received_on=received_on,
        note=note,
    )


def _record_payment(
    *, kind, driver, lease, amount, method, allocations, actor, idempotency_key, received_on, note, description=None
) -> Receipt:
    amount = _positive_cents(amount, "amount")
    if method not in Receipt.Method.values:
        raise InvalidInput(
            f"Payment method must be one of {', '.join(Receipt.Method.values)}.",
            fields={"payment_method": f"One of {', '.join(Receipt.Method.values)}."},
        )
    _lease_of_driver(driver, lease)
    today = timezone.localdate()
    received_on = clean_date(received_on, field="received_on", noun="The receipt date") if received_on else today
    if received_on > today:
        raise InvalidInput("A payment cannot be dated in the future.", fields={"received_on": "Not in the future."})
    wanted: dict[int, Decimal] = {}
    for number, allocation in enumerate(allocations, start=1):
        try:
            balance_id = int(allocation.balance_id)
        except (TypeError, ValueError):
            raise InvalidInput(f"Allocation {number} has no balance id.", fields={"allocations": "Balance id missing."})
        if not 0 < balance_id < 2**63:
            raise InvalidInput(
                f"Balance {balance_id} does not exist.", fields={"allocations": f"No balance {balance_id}."}
            )
        if balance_id in wanted:
            raise InvalidInput(
                f"Balance {balance_id} is allocated twice.", fields={"allocations": "One allocation per balance."}
            )
        wanted[balance_id] = _positive_cents(allocation.amount, "allocations")
    allocated = sum(wanted.values(), ZERO)
    if allocated > amount:
        raise InvalidInput(
            f"The allocations total {allocated}, more than the payment of {amount}.",
            fields={"allocations": f"Total {allocated} exceeds the amount {amount}."},
        )
    if len(note) > 255:
        raise InvalidInput("A note is at most 255 characters.", fields={"note": "At most 255 characters."})
    key = (idempotency_key or "").strip() or f"{kind.lower()}:{uuid.uuid4().hex}"
    if len(key) > 100:
        raise InvalidInput("An idempotency key is at most 100 characters.", fields={"idempotency_key": "Too long."})
    if problem := text_problem(key):  # a header: the parsers never see it
        raise InvalidInput(f"The idempotency key is not text: {problem}", fields={"idempotency_key": problem})
    if key.startswith(_EARNINGS_KEY_PREFIX):
        # Receipts share one key space: such a key would make that week's earnings be skipped.
        raise InvalidInput(
            f"An idempotency key cannot start with {_EARNINGS_KEY_PREFIX!r} (reserved for weekly earnings).",
            fields={"idempotency_key": f"Must not start with {_EARNINGS_KEY_PREFIX!r}."},
        )

    with transaction.atomic():
        existing = _existing_receipt(key, kind=kind, driver=driver, lease=lease, amount=amount, method=method)
        if existing:
            return existing
        balances = list(
            ObligationBalance.objects.select_for_update(no_key=True)
            .filter(
                Q(pk__in=wanted)
                | Q(lease=lease, driver=driver, category=Category.LEASE, status=ObligationBalance.Status.OPEN)
            )
            .order_by("pk")
        )
        # A copy of this request that committed while we waited for the locks: its receipt, not a 409.
        existing = _existing_receipt(key, kind=kind, driver=driver, lease=lease, amount=amount, method=method)
        if existing:
            return existing
        by_id = {balance.pk: balance for balance in balances}
        for balance_id, pay in wanted.items():
            _check_allocation(by_id.get(balance_id), balance_id, pay, driver=driver, lease=lease)

        try:
            with transaction.atomic():
                receipt = Receipt.objects.create(
                    kind=kind,
                    method=method,
                    driver=driver,
                    lease=lease,
                    period=period_start(received_on),
                    received_on=received_on,
                    amount=amount,
                    unapplied=amount,
                    idempotency_key=key,
                    note=note,
                    created_by_id=_actor_id(actor),
                )
        except IntegrityError:
            # The same key committed by a concurrent retry between our check and insert.
            existing = _existing_receipt(key, kind=kind, driver=driver, lease=lease, amount=amount, method=method)
            if existing:
                return existing
            raise

        pay = dict(wanted)
        left = amount - allocated
        open_leases = sorted(
            (b for b in balances if b.category == Category.LEASE and b.status == ObligationBalance.Status.OPEN),
            key=lambda b: (b.due_period, b.pk),
        )
        for balance in open_leases:
            if left <= 0:
                break
            take = min(balance.outstanding - pay.get(balance.pk, ZERO), left)
            if take > 0:
                pay[balance.pk] = pay.get(balance.pk, ZERO) + take
                left -= take

        closed, _ = _post_credits(
            receipt, [(by_id[balance_id], paid) for balance_id, paid in pay.items()], actor, description=description
        )
        receipt.unapplied = left
        receipt.save(update_fields=["unapplied"])
        audit(
            action=LedgerAction(f"ledger.{kind.lower()}"),
            actor=actor,
            obj=receipt,
            payload={
                "amount": str(amount),
                "method": method,
                "allocations": {str(k): str(v) for k, v in pay.items()},
                "unapplied": str(left),
            },
        )
        _notify(closed)
    return receipt


def _existing_receipt(key: str, *, kind, driver, lease, amount, method) -> Receipt | None:
    existing = Receipt.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    sent = (kind, driver.pk, lease.pk, amount, method)
    if (existing.kind, existing.driver_id, existing.lease_id, existing.amount, existing.method) != sent:
        raise Conflict(
            "This idempotency key was already used for a different payment.",
            code=ErrorCode.IDEMPOTENCY_MISMATCH,
            fields={"idempotency_key": "Already used for another payment."},
        )
    return existing


def _check_allocation(balance: ObligationBalance | None, balance_id: int, pay: Decimal, *, driver, lease) -> None:
    if balance is None:
        raise InvalidInput(f"Balance {balance_id} does not exist.", fields={"allocations": f"No balance {balance_id}."})
    if balance.driver_id != driver.pk or balance.lease_id != lease.pk:
        raise InvalidInput(
            f"Balance {balance_id} belongs to another driver or lease.",
            fields={"allocations": f"Balance {balance_id} is not this driver's on this lease."},
        )
    if balance.category == Category.TAXES:
        raise InvalidInput(
            "Taxes are paid from earnings only, not by interim payments.",
            fields={"allocations": f"Balance {balance_id} is TAXES."},
        )
    if balance.status != ObligationBalance.Status.OPEN:
        raise Conflict(
            f"Balance {balance_id} is already closed.", fields={"allocations": f"Balance {balance_id} is CLOSED."}
        )
    if pay > balance.outstanding:
        raise InvalidInput(
            f"Allocation {pay} to balance {balance_id} exceeds its outstanding {balance.outstanding}.",
            fields={"allocations": f"At most {balance.outstanding} on balance {balance_id}."},
        )


def _post_credits(
    receipt: Receipt,
    payments: list[tuple[ObligationBalance, Decimal]],
    actor,
    *,
    key: str | None = None,
    description: str | None = None,
    reason: str = "",
):
    """CREDIT postings from one receipt to locked balances; returns the balances closed and the postings.

    A payment counts from the day it is booked (never earlier, so a backdated receipt does not
    rewrite balances already reported), never before the charge it pays is due, and never before
    any posting already on the balance (ledger.effective).
    """
    closed = []
    postings = []
    today = timezone.localdate()
    floors = effective.balance_floors(balance.pk for balance, _ in payments)
    for balance, paid in sorted(payments, key=lambda item: item[0].pk):
        period, day = effective.dated(effective.latest(today, balance.due_period, floors.get(balance.pk)))
        postings.append(
            Posting(
                entry_type=EntryType.CREDIT,
                category=balance.category,
                amount=paid,
                obligation=balance,
                receipt=receipt,
                driver_id=balance.driver_id,
                lease_id=balance.lease_id,
                vehicle_id=balance.vehicle_id,
                medallion_id=balance.medallion_id,
                period=period,
                effective_date=day,
                idempotency_key=key or f"{receipt.idempotency_key}:b{balance.pk}",
                description=description or f"{receipt.get_kind_display()} ({receipt.get_method_display()})",
                reason=reason,
                created_by_id=_actor_id(actor),
            )
        )
        balance.outstanding -= paid
        if balance.outstanding == 0:
            balance.status = ObligationBalance.Status.CLOSED
            closed.append((balance.category, balance.source_reference))
        balance.save(update_fields=["outstanding", "status", "updated_at"])
    return closed, Posting.objects.bulk_create(postings)


# --- credit nothing will consume (a Controller decides) ----------------------------------------


class CreditAction(AuditAction):
    APPLY_CREDIT = "ledger.apply_credit"
    REFUND_CREDIT = "ledger.refund_credit"


def _credit_receipt(receipt_id: int, amount, *, field: str = "amount") -> tuple[Receipt, Decimal | None]:
    try:
        receipt_id = int(receipt_id)
    except (TypeError, ValueError):
        raise InvalidInput("Name the receipt by its id.", fields={"receipt_id": "A receipt id."})
    receipt = Receipt.objects.filter(pk=receipt_id).first() if 0 < receipt_id < 2**63 else None
    if receipt is None:
        raise NotFound(f"Receipt {receipt_id} does not exist.")
    if receipt.kind == Receipt.Kind.EARNINGS:
        raise InvalidInput(
            "Unapplied earnings are the driver's pay, not credit: they are paid out with the week's statement.",
            fields={"receipt_id": "An interim payment or a prepayment."},
        )
    return receipt, (None if amount in (None, "") else _positive_cents(amount, field))


def _reason(reason) -> str:
    """Why a void, or a Controller's use of credit, was made: at least VOID_REASON_MIN_LENGTH characters."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if len(reason) < VOID_REASON_MIN_LENGTH:
        raise InvalidInput(
            f"Give a reason of at least {VOID_REASON_MIN_LENGTH} characters.",
            fields={"reason": f"At least {VOID_REASON_MIN_LENGTH} characters."},
        )
    return reason


def _no_more_than_credit(receipt: Receipt, amount: Decimal | None, *, limit: Decimal | None = None) -> Decimal:
    if receipt.unapplied <= 0:
        raise Conflict(f"Receipt {receipt.pk} has no credit left.", fields={"receipt_id": "No credit left."})
    most = receipt.unapplied if limit is None else min(receipt.unapplied, limit)
    if amount is None:
        return most
    if amount > most:
        raise InvalidInput(
            f"At most {most} can be used here (credit {receipt.unapplied}).", fields={"amount": f"At most {most}."}
        )
    return amount


def apply_credit(*, receipt_id: int, balance_id: int, reason: str, amount=None, actor=None) -> Posting:
    """A Controller spends a receipt's credit on an open balance of the same driver, on any of
    their leases (a terminated lease's credit on its cancellation fee, or on the driver's new lease).
    Taxes are paid from earnings only. The whole credit, or the balance, unless `amount` says less."""
    reason = _reason(reason)
    receipt, amount = _credit_receipt(receipt_id, amount)
    try:
        balance_id = int(balance_id)
    except (TypeError, ValueError):
        raise InvalidInput("Name the balance by its id.", fields={"balance_id": "A balance id."})
    with transaction.atomic():
        balance = (
            ObligationBalance.objects.select_for_update(no_key=True).filter(pk=balance_id).first()
            if 0 < balance_id < 2**63
            else None
        )
        if balance is None:
            raise InvalidInput(f"Balance {balance_id} does not exist.", fields={"balance_id": "No such balance."})
        receipt = Receipt.objects.select_for_update(no_key=True).get(pk=receipt.pk)
        if balance.driver_id != receipt.driver_id:
            raise InvalidInput(
                f"Balance {balance_id} is another driver's.",
                fields={"balance_id": "A balance of the receipt's driver."},
            )
        if balance.category == Category.TAXES:
            raise InvalidInput("Taxes are paid from earnings only.", fields={"balance_id": "Not a TAXES balance."})
        if balance.status != ObligationBalance.Status.OPEN:
            raise Conflict(f"Balance {balance_id} is already closed.", fields={"balance_id": "Already closed."})
        amount = _no_more_than_credit(receipt, amount, limit=balance.outstanding)
        closed, (posting,) = _post_credits(
            receipt,
            [(balance, amount)],
            actor,
            key=f"credit:{receipt.pk}:b{balance.pk}:{uuid.uuid4().hex[:12]}",
            description=f"Credit of receipt #{receipt.pk} applied by a Controller",
            reason=reason,
        )
        receipt.unapplied -= amount
        receipt.save(update_fields=["unapplied"])
        audit(
            action=CreditAction.APPLY_CREDIT,
            actor=actor,
            obj=receipt,
            reason=reason,
            payload={"balance": balance.pk, "amount": str(amount), "posting": posting.pk},
        )
        _notify(closed)
    return posting


def refund_credit(
    *, receipt_id: int, reason: str, method: str, reference: str, amount=None, refunded_on=None, actor=None
) -> Refund:
    """A Controller hands a receipt's credit back to the driver (cash, check or ACH, with its
    reference). It leaves the receipt for good: no charge can take it afterwards."""
    reason = _reason(reason)
    receipt, amount = _credit_receipt(receipt_id, amount)
    if method not in Receipt.Method.values:
        raise InvalidInput(
            f"Refund method must be one of {', '.join(Receipt.Method.values)}.",
            fields={"method": f"One of {', '.join(Receipt.Method.values)}."},
        )
    reference = (reference or "").strip() if isinstance(reference, str) else ""
    if not reference or len(reference) > 64:
        raise InvalidInput(
            "Give the refund's reference (check number, ACH trace or cash voucher), at most 64 characters.",
            fields={"reference": "1 to 64 characters."},
        )
    today = timezone.localdate()
    refunded_on = clean_date(refunded_on, field="refunded_on", noun="The refund date") if refunded_on else today
    if refunded_on > today:
        raise InvalidInput("A refund cannot be dated in the future.", fields={"refunded_on": "Not in the future."})
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update(no_key=True).get(pk=receipt.pk)
        amount = _no_more_than_credit(receipt, amount)
        receipt.unapplied -= amount
        receipt.save(update_fields=["unapplied"])
        refund = Refund.objects.create(
            receipt=receipt,
            driver_id=receipt.driver_id,
            lease_id=receipt.lease_id,
            amount=amount,
            method=method,
            reference=reference,
            reason=reason,
            refunded_on=refunded_on,
            created_by_id=_actor_id(actor),
        )
        audit(
            action=CreditAction.REFUND_CREDIT,
            actor=actor,
            obj=refund,
            reason=reason,
            payload={"receipt": receipt.pk, "amount": str(amount), "method": method, "reference": reference},
        )
    return refund


# --- voids ------------------------------------------------------------------------------------


def void_posting(*, posting: Posting | int, reason: str, actor=None) -> Posting:
    """Undo a posting by its reversal; money is conserved either way.

    Voiding a CREDIT reopens its balance and gives the money back to its receipt. Voiding a
    DEBIT first releases every payment on that obligation back to its receipt, then reverses the
    charge. Money made available again is spent at once (`_settle`): credit pays the lease's open
    LEASE balances oldest first; earnings handed back pay what the driver owes through the void's
    week in waterfall order, the rest is due to the driver. Returns the reversal of `posting`.
    """
    reason = _reason(reason)
    posting_id = posting.pk if isinstance(posting, Posting) else posting
    with transaction.atomic():
        target = Posting.objects.filter(pk=posting_id).first()
        if target is None:
            raise NotFound(f"Posting {posting_id} does not exist.")
        if target.reverses_id:
            raise Conflict("A reversal cannot itself be voided.", code=ErrorCode.INVALID_TRANSITION)
        if target.obligation_id is None:
            raise Conflict("Only charges and payments can be voided.", code=ErrorCode.INVALID_TRANSITION)
        # Whose money can move: the charge's driver and lease, and those of every receipt involved
        # (a receipt's driver and lease never change, so reading them before the locks is safe).
        pairs = {(target.lease_id, target.driver_id)} | set(
            Receipt.objects.filter(pk__in=_receipts_of(target, _payments_on(target))).values_list(
                "lease_id", "driver_id"
            )
        )
        # Locks in the ledger's one order: balances, receipts, postings — including everything the
        # settlement after the reversal may touch.
        balances = {
            b.pk: b
            for b in ObligationBalance.objects.select_for_update(no_key=True)
            .filter(Q(pk=target.obligation_id) | (_pairs_q(pairs) & Q(status=ObligationBalance.Status.OPEN)))
            .order_by("pk")
        }
        balance = balances[target.obligation_id]
        # Read again under the balance's lock: a payment written meanwhile must be released too.
        payments = _payments_on(target)
        receipt_ids = _receipts_of(target, payments)
        receipts = {
            r.pk: r
            for r in Receipt.objects.select_for_update(no_key=True)
            .filter(Q(pk__in=receipt_ids) | (_pairs_q(pairs) & _CREDIT & Q(unapplied__gt=0)))
            .order_by("pk")
        }
        locked = {
            p.pk: p
            for p in Posting.objects.select_for_update(no_key=True)
            .filter(pk__in=[target.pk, *(p.pk for p in payments)])
            .order_by("pk")
        }
        target = locked[target.pk]
        if target.status != Posting.Status.POSTED:
            raise Conflict(f"Posting {target.pk} is already voided.", code=ErrorCode.ALREADY_VOIDED)

        # One date for the whole void: today, or later if the balance already has a later posting.
        floor = effective.balance_floors([balance.pk]).get(balance.pk)
        period, day = effective.dated(effective.latest(timezone.localdate(), floor))
        changed: list[tuple[str, str]] = []
        returned: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for payment in payments:
            payment = locked[payment.pk]
            if payment.status == Posting.Status.POSTED:
                _reverse(payment, balance, receipts.get(payment.receipt_id), reason, actor, changed, period, day)
                returned[payment.receipt_id] += payment.amount
        reversal = _reverse(target, balance, receipts.get(target.receipt_id), reason, actor, changed, period, day)
        if target.receipt_id:
            returned[target.receipt_id] += target.amount
        changed += _settle(
            balances=balances.values(),
            receipts=receipts.values(),
            returned=returned,
            until=period,
            key=f"void:{reversal.pk}",
            cause=f"void #{reversal.pk}",
            actor=actor,
        )
        audit(
            action=LedgerAction.VOID_POSTING,
            actor=actor,
            obj=target,
            reason=reason,
            payload={
                "reversal": reversal.pk,
                "released_payments": [p.pk for p in payments],
                "amount": str(target.amount),
                "entry_type": target.entry_type,
                "effective_date": day.isoformat(),
            },
        )
        _notify(changed)
    return reversal


_CREDIT = Q(kind__in=[Receipt.Kind.INTERIM_PAYMENT, Receipt.Kind.PREPAYMENT])


def _payments_on(target: Posting) -> list[Posting]:
    """The live payments a void of `target` releases: those on its charge, if it is a charge."""
    if target.entry_type != EntryType.DEBIT:
        return []
    return list(
        Posting.objects.filter(
            obligation_id=target.obligation_id,
            entry_type=EntryType.CREDIT,
            status=Posting.Status.POSTED,
            reverses__isnull=True,
            receipt__isnull=False,
        ).order_by("pk")
    )


def _receipts_of(target: Posting, payments: list[Posting]) -> list[int]:
    return sorted({p.receipt_id for p in payments} | ({target.receipt_id} - {None}))


def _pairs_q(pairs: Iterable[tuple[int, int]]) -> Q:
    condition = Q(pk__in=[])
    for lease_id, driver_id in sorted(pairs):
        condition |= Q(lease_id=lease_id, driver_id=driver_id)
    return condition


def _settle(*, balances, receipts, returned: dict[int, Decimal], until: dt.date, key: str, cause: str, actor):
    """Spend money a void made available again, at once, on balances and receipts already locked.

    1. Credit (the unapplied money of interim payments and prepayments) pays the lease's open
       LEASE balances oldest first — the balance the void reopened included.
    2. Earnings a void handed back (`returned`, per EARNINGS receipt: only that money, not what
       the week already left due to the driver) pay the driver's open balances due by the void's
       week (`until`) in waterfall order; what is left is due to the driver.
    Returns the balances closed.
    """
    receipts = sorted(receipts, key=lambda r: r.pk)
    balances = sorted(balances, key=lambda b: b.pk)
    actor_id = _actor_id(actor)
    closed: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        credit = [r.pk for r in receipts if r.kind != Receipt.Kind.EARNINGS]
        leases = [b.pk for b in balances if b.category == Category.LEASE]
        closed += _allocate(
            cursor, mode="settle", receipt_ids=credit, balance_ids=leases, actor_id=actor_id, key=key, cause=cause
        )
        earnings = {r.pk: returned[r.pk] for r in receipts if r.kind == Receipt.Kind.EARNINGS and returned.get(r.pk)}
        owed = [b.pk for b in balances if b.due_period <= until]
        closed += _allocate(
            cursor,
            mode="settle",
            receipt_ids=sorted(earnings),
            balance_ids=owed,
            actor_id=actor_id,
            caps=earnings,
            key=key,
            cause=cause,
        )
    return closed


def _reverse(
    original: Posting,
    balance: ObligationBalance | None,
    receipt: Receipt | None,
    reason: str,
    actor,
    changed: list[tuple[str, str]],
    period: dt.date,
    day: dt.date,
) -> Posting:
    """Insert the opposite posting, move the money back, then mark the original VOIDED."""
    opposite = EntryType.CREDIT if original.entry_type == EntryType.DEBIT else EntryType.DEBIT
    reversal = Posting.objects.create(
        entry_type=opposite,
        category=original.category,
        amount=original.amount,
        obligation_id=original.obligation_id,
        receipt_id=original.receipt_id,
        driver_id=original.driver_id,
        lease_id=original.lease_id,
        vehicle_id=original.vehicle_id,
        medallion_id=original.medallion_id,
        period=period,
        effective_date=day,
        reverses=original,
        idempotency_key=f"void:{original.pk}",
        description=f"Reversal of posting {original.pk}",
        reason=reason,
        created_by_id=_actor_id(actor),
    )
    if balance is not None:
        was_open = balance.status == ObligationBalance.Status.OPEN
        balance.outstanding += original.amount if opposite == EntryType.DEBIT else -original.amount
        balance.status = ObligationBalance.Status.OPEN if balance.outstanding > 0 else ObligationBalance.Status.CLOSED
        balance.save(update_fields=["outstanding", "status", "updated_at"])
        if was_open != (balance.status == ObligationBalance.Status.OPEN):
            changed.append((balance.category, balance.source_reference))
    if receipt is not None:
        # A payment's reversal gives its money back to the receipt it came from.
        receipt.unapplied += original.amount if original.entry_type == EntryType.CREDIT else -original.amount
        receipt.save(update_fields=["unapplied"])
    Posting.objects.filter(pk=original.pk).update(status=Posting.Status.VOIDED)
    original.status = Posting.Status.VOIDED
    return reversal


# --- payouts: money due to the driver leaves the ledger (docs/rules.md, "Payouts") ------------
# Driver and receipt sets of a whole fleet are matched with `IN (SELECT unnest(…))`, a hashed
# semi-join: `= ANY(<array parameter>)` is checked element by element on every row, which costs the
# square of the fleet's size once the planner scans the table.


class PayoutLedgerAction(AuditAction):
    SETTLE_BEFORE_PAYOUT = "ledger.settle_before_payout"
    PAY_OUT = "ledger.pay_out"
    REVERSE_PAYOUT = "ledger.reverse_payout"


def _lock_due(cursor, *, until: dt.date, driver_ids: Sequence[int] | None) -> list[int]:
    """Lock, in the ledger's order, the open balances due by `until` and the due receipts of
    periods up to `until` of these drivers (all drivers with money due when None). Returns the
    drivers locked."""
    cursor.execute(
        f"""
        SELECT DISTINCT r.driver_id FROM ledger_receipt r
        WHERE r.period <= %(until)s AND {due.DUE_RECEIPT_SQL}
          AND (%(all)s OR r.driver_id IN (SELECT unnest(%(ids)s::bigint[])))
        ORDER BY 1
        """,
        {"until": until, "all": driver_ids is None, "ids": list(driver_ids or [])},
    )
    drivers = [row[0] for row in cursor.fetchall()]
    if not drivers:
        return []
    cursor.execute(
        """
        SELECT id FROM ledger_obligationbalance
        WHERE driver_id IN (SELECT unnest(%s::bigint[])) AND status = 'OPEN' AND due_period <= %s
        ORDER BY id FOR NO KEY UPDATE
        """,
        [drivers, until],
    )
    cursor.execute(
        f"""
        SELECT r.id FROM ledger_receipt r
        WHERE r.driver_id IN (SELECT unnest(%s::bigint[])) AND r.period <= %s AND {due.DUE_RECEIPT_SQL}
        ORDER BY r.id FOR NO KEY UPDATE
        """,
        [drivers, until],
    )
    return drivers


_UNAPPLIED_SQL = "SELECT COALESCE(SUM(unapplied), 0) FROM ledger_receipt WHERE id IN (SELECT unnest(%s::bigint[]))"


def settle_due_money(
    *, until: dt.date, key: str, cause: str, driver_ids: Sequence[int] | None = None, actor=None
) -> Decimal:
    """Before drivers are paid, their money due pays what they owe: every open balance due by
    `until`, on any of their leases, in waterfall order (category priority, due period, creation),
    from their due receipts oldest first — weekly earnings on every category, other money on all
    but TAXES (taxes are paid from earnings only). Set-based; dated the day it runs. `key` makes
    the postings unique per caller. Returns the amount applied."""
    actor_id = _actor_id(actor)
    with transaction.atomic(), connection.cursor() as cursor:
        drivers = _lock_due(cursor, until=until, driver_ids=driver_ids)
        if not drivers:
            return ZERO
        cursor.execute(
            f"""
            SELECT r.id, r.kind = 'EARNINGS' FROM ledger_receipt r
            WHERE r.driver_id IN (SELECT unnest(%s::bigint[])) AND r.period <= %s AND {due.DUE_RECEIPT_SQL}
            ORDER BY r.id
            """,
            [drivers, until],
        )
        receipts = cursor.fetchall()
        cursor.execute(
            """
            SELECT id, category FROM ledger_obligationbalance
            WHERE driver_id IN (SELECT unnest(%s::bigint[])) AND status = 'OPEN' AND due_period <= %s ORDER BY id
            """,
            [drivers, until],
        )
        balances = cursor.fetchall()
        if not balances:
            return ZERO
        cursor.execute(_UNAPPLIED_SQL, [[r for r, _ in receipts]])
        before = cursor.fetchone()[0]
        closed = []
        for earnings_pass in (True, False):
            closed += _allocate(
                cursor,
                mode="payout",
                receipt_ids=[r for r, is_earnings in receipts if is_earnings == earnings_pass],
                balance_ids=[b for b, category in balances if earnings_pass or category != Category.TAXES],
                actor_id=actor_id,
                key=f"{key}:{'e' if earnings_pass else 'c'}",
                cause=cause,
                by_driver=True,
            )
        cursor.execute(_UNAPPLIED_SQL, [[r for r, _ in receipts]])
        applied = before - cursor.fetchone()[0]
        if applied:
            audit(
                action=PayoutLedgerAction.SETTLE_BEFORE_PAYOUT,
                actor=actor,
                object_type="ledger.Receipt",
                payload={"drivers": len(drivers), "applied": str(applied), "until": until.isoformat(), "cause": cause},
            )
        _notify(closed)
    return applied


@dataclass(frozen=True)
class PayoutDraw:
    """Pay `amount` of a driver's money due (receipts of periods up to the run's), oldest receipt first."""

    driver_id: int
    amount: Decimal
    key: str  # unique per payout; each posting is `<key>:r<receipt id>`
    description: str  # what the driver's statement says, e.g. "Paid on 2025-10-12 by check #100001"


_DRAW_SQL = f"""
WITH d AS (
    SELECT * FROM unnest(%(drivers)s::bigint[], %(amounts)s::numeric[], %(keys)s::text[], %(texts)s::text[])
        AS d(driver_id, amount, key, description)
), due AS (
    SELECT r.id, r.driver_id, r.lease_id, r.unapplied,
           SUM(r.unapplied) OVER (PARTITION BY r.driver_id ORDER BY r.id) AS hi
    FROM ledger_receipt r
    WHERE r.driver_id IN (SELECT unnest(%(drivers)s::bigint[])) AND r.period <= %(until)s AND {due.DUE_RECEIPT_SQL}
), take AS (
    SELECT due.id, due.driver_id, due.lease_id, d.key, d.description,
           LEAST(due.unapplied, d.amount - (due.hi - due.unapplied)) AS amount
    FROM due JOIN d ON d.driver_id = due.driver_id
    WHERE due.hi - due.unapplied < d.amount
), dated AS MATERIALIZED (
    -- Materialized: the date is worked out once per receipt, not once per column that uses it.
    SELECT t.*, (GREATEST(%(today)s::date, {effective.RECEIPT_AVAILABLE_SQL}))::date AS effective
    FROM take t JOIN ledger_receipt r ON r.id = t.id
), ins AS (
    INSERT INTO ledger_posting
        (entry_type, category, amount, obligation_id, receipt_id, driver_id, lease_id, vehicle_id,
         medallion_id, period, effective_date, status, reverses_id, idempotency_key, description,
         reason, created_by_id, created_at)
    SELECT 'CREDIT', 'PAYOUT', t.amount, NULL, t.id, t.driver_id, t.lease_id, NULL, NULL,
           t.effective - EXTRACT(DOW FROM t.effective)::int, t.effective, 'POSTED', NULL,
           t.key || ':r' || t.id, t.description, '', %(actor)s, %(now)s
    FROM dated t
    ORDER BY t.id
    RETURNING id, receipt_id, driver_id, amount
), spent AS (
    UPDATE ledger_receipt r SET unapplied = r.unapplied - s.total
    FROM (SELECT receipt_id, SUM(amount) AS total FROM ins GROUP BY receipt_id) s
    WHERE r.id = s.receipt_id
    RETURNING r.id
)
SELECT driver_id, SUM(amount), array_agg(receipt_id ORDER BY receipt_id), array_agg(id ORDER BY id)
FROM ins GROUP BY driver_id
"""


@dataclass(frozen=True)
class DrawnPayout:
    driver_id: int
    amount: Decimal
    receipt_ids: tuple[int, ...]
    posting_ids: tuple[int, ...]


def pay_out(*, until: dt.date, draws: Sequence[PayoutDraw], actor=None, locked: bool = False) -> dict[int, DrawnPayout]:
    """Draw each payout from the driver's money due, set-based: PAYOUT postings (CREDIT, on a
    receipt, no obligation) dated today take the money off the receipts' unapplied amount. All or
    nothing: a driver whose money due is less than the payout is a 409 and nothing is written.
    Returns, per driver, what was drawn and from which receipts. `locked`: the caller's transaction
    already holds the locks `settle_due_money` takes for these drivers and periods."""
    draws = [d for d in draws if d.amount > 0]
    if not draws:
        return {}
    if len({d.driver_id for d in draws}) != len(draws):
        raise InvalidInput("One payout per driver.", fields={"driver_id": "One payout per driver."})
    with transaction.atomic(), connection.cursor() as cursor:
        if not locked:
            _lock_due(cursor, until=until, driver_ids=[d.driver_id for d in draws])
        cursor.execute(
            _DRAW_SQL,
            {
                "drivers": [d.driver_id for d in draws],
                "amounts": [d.amount for d in draws],
                "keys": [d.key for d in draws],
                "texts": [d.description[:255] for d in draws],
                "until": until,
                "today": timezone.localdate(),
                "actor": _actor_id(actor),
                "now": timezone.now(),
            },
        )
        drawn = {row[0]: DrawnPayout(row[0], row[1], tuple(row[2]), tuple(row[3])) for row in cursor.fetchall()}
        short = [d for d in draws if drawn.get(d.driver_id) is None or drawn[d.driver_id].amount != d.amount]
        if short:
            raise Conflict(
                f"The money due to {len(short)} driver(s) is less than their payout (driver "
                f"{short[0].driver_id}: {short[0].amount} to pay); prepare the run again.",
                fields={"driver_id": f"Driver {short[0].driver_id} has less money due than the payout."},
            )
        audit(
            action=PayoutLedgerAction.PAY_OUT,
            actor=actor,
            object_type="ledger.Receipt",
            payload={"payouts": len(drawn), "amount": str(sum((d.amount for d in drawn.values()), ZERO))},
        )
    return drawn


def reverse_payout(*, key: str, description: str, reason: str, actor=None) -> list[Posting]:
    """Undo the payout whose postings are keyed `<key>:r…` (an ACH return, a voided check): each
    PAYOUT posting gets its reversal, dated today, and its money goes back to its receipt — due to
    the driver again, for the next run. A payout already reversed is left as it is (idempotent)."""
    reason = _reason(reason)
    with transaction.atomic():
        originals = list(
            Posting.objects.filter(
                idempotency_key__startswith=f"{key}:r", category=PAYOUT, obligation__isnull=True, reverses__isnull=True
            ).order_by("pk")
        )
        receipts = {
            r.pk: r
            for r in Receipt.objects.select_for_update(no_key=True)
            .filter(pk__in=[p.receipt_id for p in originals])
            .order_by("pk")
        }
        locked = list(
            Posting.objects.select_for_update(no_key=True).filter(pk__in=[p.pk for p in originals]).order_by("pk")
        )
        reversals = []
        today = timezone.localdate()
        for original in locked:
            if original.status != Posting.Status.POSTED:
                continue
            day = max(today, original.effective_date)
            reversals.append(
                Posting.objects.create(
                    entry_type=EntryType.DEBIT,
                    category=PAYOUT,
                    amount=original.amount,
                    receipt_id=original.receipt_id,
                    driver_id=original.driver_id,
                    lease_id=original.lease_id,
                    period=period_start(day),
                    effective_date=day,
                    reverses=original,
                    idempotency_key=f"void:{original.pk}",
                    description=description[:255],
                    reason=reason,
                    created_by_id=_actor_id(actor),
                )
            )
            receipt = receipts[original.receipt_id]
            receipt.unapplied += original.amount
            receipt.save(update_fields=["unapplied"])
            Posting.objects.filter(pk=original.pk).update(status=Posting.Status.VOIDED)
        if reversals:
            audit(
                action=PayoutLedgerAction.REVERSE_PAYOUT,
                actor=actor,
                object_type="ledger.Posting",
                object_id=key[:64],
                reason=reason,
                payload={
                    "reversals": [p.pk for p in reversals],
                    "amount": str(sum((p.amount for p in reversals), ZERO)),
                },
            )
    return reversals


# --- credit to a driver, and what is held back for them (misc credits, security deposits) ------

_NOT_TAXES = ~Q(category=Category.TAXES)


@dataclass(frozen=True)
class DepositRelease:
    """What `release_deposit` did: money handed back from the deposit balances (`returned`), what
    of it paid open balances (`applied`), and the rest, left unapplied on its receipts: due to the driver."""

    returned: Decimal
    applied: Decimal
    due_to_driver: Decimal
    balances_released: int


def record_driver_credit(
    *, driver, lease, amount, idempotency_key: str, note: str = "", actor=None
) -> tuple[Receipt, bool]:
    """Money *for* the driver (goodwill, an overcharge given back): a DRIVER_CREDIT receipt that pays
    the lease's open balances due by this week at once, in waterfall order (taxes excepted: they
    are paid from earnings only). What is left stays unapplied on it: due to the driver, never a
    credit a later charge takes. Idempotent by `idempotency_key`. Returns (receipt, created)."""
    amount = _positive_cents(amount, "amount")
    _lease_of_driver(driver, lease)
    if not idempotency_key or len(idempotency_key) > 128:
        raise InvalidInput("An idempotency key is 1 to 128 characters.", fields={"idempotency_key": "1 to 128."})
    today = timezone.localdate()
    with transaction.atomic():
        existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
        balance_ids = list(
            ObligationBalance.objects.select_for_update(no_key=True)
            .filter(
                _NOT_TAXES,
                lease=lease,
                driver=driver,
                status=ObligationBalance.Status.OPEN,
                due_period__lte=period_start(today),
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        receipt = Receipt.objects.create(
            kind=Receipt.Kind.DRIVER_CREDIT,
            driver=driver,
            lease=lease,
            period=period_start(today),
            received_on=today,
            amount=amount,
            unapplied=amount,
            idempotency_key=idempotency_key,
            note=note[:255],
            created_by_id=_actor_id(actor),
        )
        with connection.cursor() as cursor:
            closed = _allocate(
                cursor,
                mode="driver_credit",
                receipt_ids=[receipt.pk],
                balance_ids=balance_ids,
                actor_id=_actor_id(actor),
            )
        receipt.refresh_from_db(fields=["unapplied"])
        audit(
            action=LedgerAction.DRIVER_CREDIT,
            actor=actor,
            obj=receipt,
            payload={
                "amount": str(amount),
                "applied": str(amount - receipt.unapplied),
                "unapplied": str(receipt.unapplied),
            },
        )
        _notify(closed)
    return receipt, True


def reverse_driver_credit(
    *, receipt_id: int, reason: str, charge_reference: str, description: str, actor=None
) -> ObligationBalance:
    """Undo a credit to a driver: every payment it made is reversed (those balances are owed again),
    then a MISC charge of the credit's amount (`charge_reference`) is posted and paid at once from
    what the receipt holds. A receipt keeps its amount for ever (applied + unapplied + refunded),
    so the charge is what takes the money back; whatever of the credit already left the receipt
    (paid out to the driver) stays owed on that charge. Returns the charge's balance."""
    reason = _reason(reason)
    today = timezone.localdate()
    with transaction.atomic():
        receipt = Receipt.objects.filter(pk=receipt_id, kind=Receipt.Kind.DRIVER_CREDIT).first()
        if receipt is None:
            raise NotFound(f"No credit to a driver with receipt {receipt_id}.")
        live = Q(
            receipt_id=receipt.pk, entry_type=EntryType.CREDIT, status=Posting.Status.POSTED, reverses__isnull=True
        )
        balance_ids = sorted(set(Posting.objects.filter(live).values_list("obligation_id", flat=True)))
        balances = {
            b.pk: b
            for b in ObligationBalance.objects.select_for_update(no_key=True).filter(pk__in=balance_ids).order_by("pk")
        }
        receipt = Receipt.objects.select_for_update(no_key=True).get(pk=receipt.pk)
        payments = list(Posting.objects.select_for_update(no_key=True).filter(live).order_by("pk"))
        floors = effective.balance_floors(balances)
        changed: list[tuple[str, str]] = []
        for payment in payments:
            period, day = effective.dated(effective.latest(today, floors.get(payment.obligation_id)))
            _reverse(payment, balances[payment.obligation_id], receipt, reason, actor, changed, period, day)
        charge = create_obligation(
            category=Category.MISC,
            amount=receipt.amount,
            source_reference=charge_reference,
            driver=receipt.driver,
            lease=receipt.lease,
            description=description,
            actor=actor,
        )
        charge = ObligationBalance.objects.select_for_update(no_key=True).get(pk=charge.pk)
        take = min(receipt.unapplied, charge.outstanding)
        if take > 0:
            closed, _ = _post_credits(
                receipt,
                [(charge, take)],
                actor,
                key=f"{receipt.idempotency_key}:reversal",
                description=f"Credit to driver #{receipt.pk} taken back",
                reason=reason,
            )
            changed += closed
            receipt.unapplied -= take
            receipt.save(update_fields=["unapplied"])
        audit(
            action=LedgerAction.REVERSE_DRIVER_CREDIT,
            actor=actor,
            obj=receipt,
            reason=reason,
            payload={
                "reversed_payments": [p.pk for p in payments],
                "charge": charge.pk,
                "taken_back": str(take),
                "still_owed": str(charge.outstanding),
            },
        )
        _notify(changed)
    return charge


def release_deposit(*, balance_ids: Sequence[int], reason: str, key: str, cause: str, actor=None) -> DepositRelease:
    """Give back what was paid on these DEPOSIT balances and spend it on what the driver owes.

    1. Every live payment on each balance is reversed (its money returns to the receipt it came
       from), then the deposit charge itself: the balance closes, nothing of it is owed any more.
    2. The returned money — only that, receipt by receipt — pays the lease's open balances due by
       this week in waterfall order (taxes only from money that came from earnings).
    3. The rest stays unapplied on its receipts: due to the driver.
    A balance whose charge is already reversed is skipped, so nothing is released twice. `key`
    names the release in its postings' idempotency keys (one per release), `cause` in their
    descriptions ("… returned by <cause>").
    """
    reason = _reason(reason)
    today = timezone.localdate()
    with transaction.atomic():
        deposits = list(
            ObligationBalance.objects.filter(pk__in=list(balance_ids), category=Category.DEPOSIT).order_by("pk")
        )
        pairs = {(b.lease_id, b.driver_id) for b in deposits}
        balances = {
            b.pk: b
            for b in ObligationBalance.objects.select_for_update(no_key=True)
            .filter(Q(pk__in=[b.pk for b in deposits]) | (_pairs_q(pairs) & Q(status=ObligationBalance.Status.OPEN)))
            .order_by("pk")
        }
        on_deposits = Q(obligation_id__in=[b.pk for b in deposits], status=Posting.Status.POSTED, reverses__isnull=True)
        payment_q = on_deposits & Q(entry_type=EntryType.CREDIT, receipt__isnull=False)
        receipt_ids = sorted(set(Posting.objects.filter(payment_q).values_list("receipt_id", flat=True)))
        receipts = {
            r.pk: r for r in Receipt.objects.select_for_update(no_key=True).filter(pk__in=receipt_ids).order_by("pk")
        }
        postings = list(
            Posting.objects.select_for_update(no_key=True)
            .filter(payment_q | (on_deposits & Q(entry_type=EntryType.DEBIT, receipt__isnull=True)))
            .order_by("pk")
        )
        floors = effective.balance_floors(b.pk for b in deposits)
        changed: list[tuple[str, str]] = []
        returned: dict[int, Decimal] = defaultdict(lambda: ZERO)
        released = 0
        # Payments first (the balance reopens to its full amount), then the charge (it closes at 0).
        for posting in sorted(postings, key=lambda p: (p.entry_type != EntryType.CREDIT, p.pk)):
            period, day = effective.dated(effective.latest(today, floors.get(posting.obligation_id)))
            balance = balances[posting.obligation_id]
            _reverse(posting, balance, receipts.get(posting.receipt_id), reason, actor, changed, period, day)
            if posting.entry_type == EntryType.CREDIT:
                returned[posting.receipt_id] += posting.amount
            else:
                released += 1
        owed = [
            b
            for b in balances.values()
            if b.category != Category.DEPOSIT
            and b.status == ObligationBalance.Status.OPEN
            and b.due_period <= period_start(today)
        ]
        from_earnings = {pk: amount for pk, amount in returned.items() if receipts[pk].kind == Receipt.Kind.EARNINGS}
        other = {pk: amount for pk, amount in returned.items() if pk not in from_earnings}
        closed: list[tuple[str, str]] = []
        with connection.cursor() as cursor:
            for caps, allowed in ((from_earnings, owed), (other, [b for b in owed if b.category != Category.TAXES])):
                closed += _allocate(
                    cursor,
                    mode="settle",
                    receipt_ids=sorted(caps),
                    balance_ids=sorted(b.pk for b in allowed),
                    actor_id=_actor_id(actor),
                    caps=caps,
                    key=key,
                    cause=cause,
                )
        total = sum(returned.values(), ZERO)
        applied = ZERO
        if returned:
            applied = (
                Posting.objects.filter(idempotency_key__startswith=f"{key}:r", receipt_id__in=list(returned)).aggregate(
                    total=models_sum("amount")
                )["total"]
                or ZERO
            )
        audit(
            action=LedgerAction.RELEASE_DEPOSIT,
            actor=actor,
            object_type="ledger.ObligationBalance",
            object_id=",".join(str(b.pk) for b in deposits)[:64],
            reason=reason,
            payload={"returned": str(total), "applied": str(applied), "balances_released": released},
        )
        _notify(changed + closed)
    return DepositRelease(returned=total, applied=applied, due_to_driver=total - applied, balances_released=released)


def void_charge(*, balance_id: int, reason: str, actor=None) -> Posting:
    """Void a balance's original charge (`void_posting` of its DEBIT): for a source that knows its
    charge by its balance (a misc charge). A charge already voided is a 409."""
    original = Posting.objects.filter(
        obligation_id=balance_id, entry_type=EntryType.DEBIT, reverses__isnull=True, receipt__isnull=True
    ).first()
    if original is None:
        raise NotFound(f"Balance {balance_id} has no charge.")
    return void_posting(posting=original.pk, reason=reason, actor=actor)
