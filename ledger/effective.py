"""When a posting counts: the one rule for effective dates (docs/rules.md, "Effective dates").

Balances as of a date sum the postings effective on or before it. They can never go below zero
if every posting is dated no earlier than what it depends on:

- **a charge** on the Sunday of its due week — unless that week's statements are already issued
  (`REPORTED_PERIODS`): then it is a *late charge*, effective the day it is posted, and shows on
  the statement of that day's week;
- **a payment** no earlier than its own natural date (a cashier's payment: the day it is booked;
  credit: the charge's due Sunday), the day the receipt's money was there (`RECEIPT_AVAILABLE_SQL`),
  and every posting already on the balance (the charge, earlier payments, and above all the latest
  reopening by a void);
- **weekly earnings** on the Saturday that ends their week — the one payment that may be dated
  before postings already on the balance (the close of a week can run late), so it pays at most
  the *room* the balance has from that Saturday on (`room_on`): what was owed then and is still
  owed at every later date. A charge reopened or charged late after the week ended has none and
  waits for a later week's earnings;
- **a reversal** on the day of the void, or later if the balance already has a later posting.

So on every balance the postings are dated in the order they were written, and each as-of
balance equals the real balance at some moment, which the database kept ≥ 0. The same holds
for a receipt's unapplied money: money spent again after a void is dated no earlier than the
void that returned it.

The set-based paths of `ledger.services` use the SQL fragments below; the row paths use the
functions. Nothing else in the ledger decides a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from batpay.periods import period_start
from batpay.registry import Registry
from ledger.arrays import pg_array

# --- late charges -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedPeriods:
    """`reported(periods)` returns those of `periods` whose statements are issued. It runs inside
    the posting transaction and may lock, so that no statement is issued while a charge that
    belongs on it is being written (the statements app registers one)."""

    reported: Callable[[Sequence[dt.date]], set[dt.date]]


REPORTED_PERIODS: Registry[ReportedPeriods] = Registry("reported periods")


def reported_periods(periods: Iterable[dt.date]) -> set[dt.date]:
    wanted = sorted(set(periods))
    found: set[dt.date] = set()
    if wanted:
        for gate in REPORTED_PERIODS:
            found |= gate.reported(wanted)
    return found


def charge_date(due_period: dt.date, *, today: dt.date, reported: set[dt.date]) -> dt.date:
    """A charge counts from its due Sunday, or from today when that week is already reported."""
    return max(today, due_period) if due_period in reported else due_period


# --- floors: what a new posting may not precede --------------------------------------------------

# The latest posting on balance `b` (its charge at least).
BALANCE_FLOOR_SQL = "(SELECT max(f.effective_date) FROM ledger_posting f WHERE f.obligation_id = b.id)"

# The day receipt `r`'s money is there to spend: the day it was received (weekly earnings: the
# Saturday that ends their week); money a void handed back, from that void's date.
RECEIPT_AVAILABLE_SQL = """GREATEST(
    r.received_on,
    (SELECT max(f.effective_date) FROM ledger_posting f WHERE f.receipt_id = r.id AND f.reverses_id IS NOT NULL)
)"""


def period_of_sql(date_sql: str) -> str:
    """The Sunday of the week of a date expression (PostgreSQL's DOW: Sunday is 0)."""
    return f"(({date_sql}) - EXTRACT(DOW FROM ({date_sql}))::int)"


def balance_floors(balance_ids: Iterable[int]) -> dict[int, dt.date]:
    ids = sorted(set(balance_ids))
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obligation_id, max(effective_date) FROM ledger_posting WHERE obligation_id = ANY(%s::bigint[]) "
            "GROUP BY obligation_id",
            [pg_array(ids)],
        )
        return dict(cursor.fetchall())


_ROOM_SQL = """
WITH x AS (
    SELECT obligation_id, effective_date,
           SUM(SUM(CASE entry_type WHEN 'DEBIT' THEN amount ELSE -amount END))
               OVER (PARTITION BY obligation_id ORDER BY effective_date) AS as_of
    FROM ledger_posting WHERE obligation_id = ANY(%(ids)s::bigint[])
    GROUP BY obligation_id, effective_date
), at_day AS (
    SELECT DISTINCT ON (obligation_id) obligation_id, as_of
    FROM x WHERE effective_date <= %(day)s ORDER BY obligation_id, effective_date DESC
), after_day AS (
    SELECT obligation_id, min(as_of) AS least FROM x WHERE effective_date > %(day)s GROUP BY obligation_id
)
SELECT ids.id, GREATEST(LEAST(COALESCE(at_day.as_of, 0), COALESCE(after_day.least, at_day.as_of, 0)), 0)
FROM unnest(%(ids)s::bigint[]) AS ids(id)
LEFT JOIN at_day ON at_day.obligation_id = ids.id
LEFT JOIN after_day ON after_day.obligation_id = ids.id
"""


def room_on(balance_ids: Iterable[int], day: dt.date) -> dict:
    """What a payment dated `day` may pay on each balance: the least the balance shows on any
    date from `day` on (as of `day`, and after every later posting). Paying more would make some
    as-of balance negative; a charge not yet effective on `day` has no room."""
    ids = sorted(set(balance_ids))
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_ROOM_SQL, {"ids": pg_array(ids), "day": day})
        return dict(cursor.fetchall())


def latest(*dates: dt.date | None) -> dt.date:
    return max(d for d in dates if d is not None)


def dated(effective: dt.date) -> tuple[dt.date, dt.date]:
    """(period, effective date) of a posting effective on `effective`."""
    return period_start(effective), effective
