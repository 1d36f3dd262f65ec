"""What a Driver Transaction Report shows (SPEC §5), read from the ledger as of the period's end.

Everything is read from postings by effective date, the way `ledger.selectors.balances_as_of`
reads: prior balance = what was owed at the end of the day before the period began; charges and
payments = postings effective within the period; balance carried forward = prior + charges −
paid. Snapshots are built set-based: a handful of queries for a batch of leases, whatever its size.

Only the balances open now or with a posting from the period's Sunday on are read (a balance owed
at the start of the period and closed now was closed by such a posting), so the cost per lease
follows what the lease owes and did this week, not how many weeks of history it has.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection

from batpay.money import ZERO
from batpay.periods import period_end
from deposits.selectors import held_for_leases
from leases.models import Lease
from ledger.categories import Category
from statements.models import TAX_COLUMNS, DriverTransactionReport
from statements.trips import PARTS

DTR = DriverTransactionReport
# 2: paid_other no longer holds reversals (payments_reversed does); lines carry their events.
# 3: deposit_held, the security deposit held for the driver at the end of the week.
SNAPSHOT_FORMAT = 3
SNAPSHOT_WORK_MEM = "64MB"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# --- which leases get a DTR ---------------------------------------------------------------------


def leases_due_a_dtr(*, period: dt.date, lease_range: tuple[int, int] | None = None) -> list[int]:
    """Every lease in force during the period (not CANCELLED, its dates overlap the week), and any
    other lease with trips or ledger activity in it (a lease ended earlier with a late charge).
    Only those with lo <= id <= hi when `lease_range` is (lo, hi)."""
    start, end = period, period_end(period)
    lo, hi = lease_range or (None, None)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH shard AS (SELECT COALESCE(%(lo)s, 0) AS lo, COALESCE(%(hi)s, 9223372036854775807) AS hi)
            SELECT id FROM leases_lease, shard
            WHERE status <> 'CANCELLED' AND start_date <= %(end)s AND (end_date IS NULL OR end_date >= %(start)s)
              AND id BETWEEN shard.lo AND shard.hi
            UNION
            SELECT lease_id FROM ledger_posting, shard
            WHERE effective_date BETWEEN %(start)s AND %(end)s AND lease_id BETWEEN shard.lo AND shard.hi
            UNION
            SELECT lease_id FROM ledger_trip, shard WHERE period = %(start)s AND lease_id BETWEEN shard.lo AND shard.hi
            ORDER BY 1
            """,
            {"start": start, "end": end, "lo": lo, "hi": hi},
        )
        return [row[0] for row in cursor.fetchall()]


# --- snapshots ----------------------------------------------------------------------------------

_LINES_SQL = """
WITH listed AS (
    SELECT id FROM ledger_obligationbalance WHERE status = 'OPEN' AND lease_id = ANY(%(leases)s)
    UNION
    SELECT obligation_id FROM ledger_posting
    WHERE lease_id = ANY(%(leases)s) AND effective_date >= %(start)s AND obligation_id IS NOT NULL
)
SELECT b.lease_id, b.id, b.category, b.source_reference, b.description, b.due_period, b.original_amount,
       b.driver_id, COALESCE(f.prior, 0), f.charges, f.paid_from_earnings, f.paid_other, f.payments_reversed,
       f.charge_voided
FROM listed
-- Each listed balance and its own postings are looked up by key (OFFSET 0 keeps the lookups from
-- being flattened into joins): the cost follows the balances listed, never the ledger's history,
-- whatever the planner's statistics say.
CROSS JOIN LATERAL (
    SELECT b.* FROM ledger_obligationbalance b WHERE b.id = listed.id OFFSET 0
) b
CROSS JOIN LATERAL (
    SELECT SUM(s.amount) FILTER (WHERE p.effective_date < %(start)s) AS prior,
           COALESCE(SUM(s.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.receipt_id IS NULL), 0)
               AS charges,
           COALESCE(SUM(p.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.reverses_id IS NULL
                                            AND r.kind = 'EARNINGS' AND r.period = %(start)s), 0)
               AS paid_from_earnings,
           COALESCE(SUM(p.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.reverses_id IS NULL
                                            AND p.receipt_id IS NOT NULL
                                            AND NOT (r.kind = 'EARNINGS' AND r.period = %(start)s)), 0)
               AS paid_other,
           COALESCE(SUM(p.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.reverses_id IS NOT NULL
                                            AND p.receipt_id IS NOT NULL), 0) AS payments_reversed,
           bool_or(p.reverses_id IS NOT NULL AND p.receipt_id IS NULL) AS charge_voided,
           bool_or(p.effective_date >= %(start)s) AS active
    FROM ledger_posting p
    LEFT JOIN LATERAL (
        SELECT r.kind, r.period FROM ledger_receipt r WHERE r.id = p.receipt_id OFFSET 0
    ) r ON true
    CROSS JOIN LATERAL (SELECT CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE -p.amount END AS amount) s
    WHERE p.obligation_id = b.id AND p.effective_date <= %(end)s
    OFFSET 0
) f
WHERE f.prior <> 0 OR f.active
ORDER BY b.lease_id, b.priority, b.due_period, b.id
"""

# What the week's lines say in words: voids, late charges, and payments other than this week's
# card earnings (a cashier, prepayment or other credit, earnings handed back by a void).
_EVENTS_SQL = """
SELECT p.lease_id, p.obligation_id, p.id, p.effective_date, p.entry_type, p.amount, p.reverses_id,
       p.receipt_id, p.reason, p.description, b.due_period, r.kind, r.method, r.period
FROM ledger_posting p
JOIN ledger_obligationbalance b ON b.id = p.obligation_id
LEFT JOIN ledger_receipt r ON r.id = p.receipt_id
WHERE p.lease_id = ANY(%(leases)s) AND p.effective_date BETWEEN %(start)s AND %(end)s
  AND (p.reverses_id IS NOT NULL
       OR (p.receipt_id IS NULL AND b.due_period < %(start)s)
       OR (p.receipt_id IS NOT NULL AND NOT (r.kind = 'EARNINGS' AND r.period = %(start)s)))
ORDER BY p.effective_date, p.id
"""

_METHODS = {"CASH": "cash", "CHECK": "check", "ACH": "ACH"}


def _event(row) -> dict:
    """One posting of the week in the business's words, with what it did to the balance."""
    _, _, posting_id, day, _, amount, reverses_id, receipt_id, reason, description, due, kind, method, _ = row
    if reverses_id and receipt_id:
        text, change = f"Payment reversed — void #{posting_id}: {reason}", amount
    elif reverses_id:
        text, change = f"Charge voided — void #{posting_id}: {reason}", -amount
    elif receipt_id is None:
        text, change = f"Late charge for the week of {due.isoformat()}", amount
    elif description.startswith("Credit from") or reason:
        text, change = description + (f": {reason}" if reason else ""), -amount
    elif kind == "PREPAYMENT" or description.startswith("Paid from lease prepayment"):
        text, change = f"Credit from lease prepayment #{receipt_id}", -amount
    elif kind == "INTERIM_PAYMENT":
        text, change = f"Paid at the cashier by {_METHODS.get(method, method)} (interim payment #{receipt_id})", -amount
    else:
        text, change = description or f"Paid from receipt #{receipt_id}", -amount
    return {"date": day.isoformat(), "text": text, "amount": _money(change)}


_EARNINGS_SQL = """
SELECT lease_id, SUM(amount), SUM(unapplied), SUM(returned) FROM (
    SELECT r.lease_id, r.amount, r.amount - COALESCE(applied.amount, 0) AS unapplied, 0 AS returned
    FROM ledger_receipt r
    LEFT JOIN LATERAL (
        SELECT SUM(CASE p.entry_type WHEN 'CREDIT' THEN p.amount ELSE -p.amount END) AS amount
        FROM ledger_posting p WHERE p.receipt_id = r.id AND p.effective_date <= %(end)s
                                    AND p.obligation_id IS NOT NULL
    ) applied ON true
    WHERE r.kind = 'EARNINGS' AND r.period = %(start)s AND r.lease_id = ANY(%(leases)s)
    UNION ALL
    -- Earnings of earlier weeks that a void handed back this week: their statements are issued,
    -- so this one pays the money out.
    -- Read from the week's postings of these leases (a receipt pays only its own lease's balances),
    -- each looking its receipt up by key. With stale statistics (a table grown since its last
    -- ANALYZE) a join here became a nested loop of the week's postings against every earlier
    -- receipt: 16 s for 2,000 leases instead of 0.1 s.
    SELECT r.lease_id, 0, 0, CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE -p.amount END
    FROM ledger_posting p
    CROSS JOIN LATERAL (
        SELECT r.lease_id FROM ledger_receipt r
        WHERE r.id = p.receipt_id AND r.kind = 'EARNINGS' AND r.period < %(start)s AND r.lease_id = ANY(%(leases)s)
        OFFSET 0  -- kept a lookup per posting: not flattened into a join the planner may misjudge
    ) r
    WHERE p.lease_id = ANY(%(leases)s) AND p.effective_date BETWEEN %(start)s AND %(end)s
      AND p.receipt_id IS NOT NULL
      -- Payouts (and the debts their money paid first) draw on money already reported as due;
      -- they show among the week's payouts, not as earnings handed back.
      AND p.obligation_id IS NOT NULL AND p.idempotency_key NOT LIKE 'payout:%%'
) earnings
GROUP BY lease_id
"""

# Money paid out to the driver this week and payouts undone (an ACH return, a voided check): the
# PAYOUT postings on the lease's receipts, in the words the payout run wrote ("Paid on … by ACH run
# … / check #…"). Read from the ledger: statements never ask the payouts app.
_PAYOUTS_SQL = """
SELECT p.lease_id, p.effective_date, p.entry_type, p.amount, p.description
FROM ledger_posting p
WHERE p.category = 'PAYOUT' AND p.lease_id = ANY(%(leases)s) AND p.effective_date BETWEEN %(start)s AND %(end)s
ORDER BY p.effective_date, p.id
"""

_TRIPS_SQL = """
SELECT lease_id, driver_id, count(*), count(*) FILTER (WHERE payment_type = 'CARD'),
       {sums},
       COALESCE(SUM(total_amount) FILTER (WHERE payment_type = 'CARD'), 0),
       COALESCE(SUM(total_amount) FILTER (WHERE payment_type = 'CASH'), 0)
FROM ledger_trip WHERE period = %(start)s AND lease_id = ANY(%(leases)s)
GROUP BY lease_id, driver_id
ORDER BY lease_id, driver_id
""".format(sums=", ".join(f"SUM({name})" for name in PARTS))


@dataclass
class _Line:
    balance_id: int
    category: str
    source_reference: str
    description: str
    due_period: dt.date
    original_amount: Decimal
    driver_id: int
    prior: Decimal
    charges: Decimal
    paid_from_earnings: Decimal
    paid_other: Decimal
    payments_reversed: Decimal
    charge_voided: bool

    @property
    def paid(self) -> Decimal:
        return self.paid_from_earnings + self.paid_other - self.payments_reversed


def build_snapshots(*, period: dt.date, lease_ids: Sequence[int]) -> dict[int, dict]:
    """The DTR content of each lease for the period, as plain JSON (money as "0.00" strings).

    Seven queries for the whole batch: leases with their drivers, balance lines, events, earnings, trips,
    payouts, deposits held.
    """
    start, end = period, period_end(period)
    params = {"start": start, "end": end, "leases": list(lease_ids)}
    leases = _leases(params)
    lines: dict[int, list[_Line]] = defaultdict(list)
    events: dict[int, list[dict]] = defaultdict(list)
    earnings: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    trips: dict[int, list[tuple]] = defaultdict(list)
    payouts: dict[int, list[dict]] = defaultdict(list)
    with connection.cursor() as cursor:
        # A batch's trips (about 30 a lease) sort in memory rather than on disk; for this
        # transaction only (inside the DTR run's), nothing when called outside one.
        cursor.execute("SELECT set_config('work_mem', %s, true)", [SNAPSHOT_WORK_MEM])
        cursor.execute(_LINES_SQL, params)
        for lease_id, *values in cursor.fetchall():
            lines[lease_id].append(_Line(*values))
        cursor.execute(_EVENTS_SQL, params)
        for row in cursor.fetchall():
            events[row[1]].append(_event(row))
        cursor.execute(_EARNINGS_SQL, params)
        earnings = {lease_id: tuple(figures) for lease_id, *figures in cursor.fetchall()}
        cursor.execute(_TRIPS_SQL, params)
        for lease_id, *values in cursor.fetchall():
            trips[lease_id].append(tuple(values))
        cursor.execute(_PAYOUTS_SQL, params)
        for lease_id, day, entry_type, amount, description in cursor.fetchall():
            payouts[lease_id].append(
                {
                    "date": day.isoformat(),
                    "text": description,
                    "amount": _money(-amount if entry_type == "CREDIT" else amount),
                }
            )
    deposit_held = held_for_leases(lease_ids, as_of=end)
    company = {"name": settings.COMPANY_NAME, "address": settings.COMPANY_ADDRESS}
    return {
        lease_id: _snapshot(
            period=period,
            lease=lease,
            company=company,
            lines=lines.get(lease_id, []),
            events=events,
            earnings=earnings.get(lease_id, (ZERO, ZERO, ZERO)),
            trips=trips.get(lease_id, []),
            payouts=payouts.get(lease_id, []),
            deposit_held=deposit_held.get(lease_id, ZERO),
        )
        for lease_id, lease in leases.items()
    }


# Every category is on every DTR, in payment priority order; most of a lease's are empty.
_CATEGORIES = [(category.value, str(category.label)) for category in Category]
_FIGURES = (
    "prior_balance", "charges", "paid", "paid_from_earnings", "paid_other", "payments_reversed",
    "balance_carried_forward",
)  # fmt: skip
_NOTHING = dict.fromkeys(_FIGURES, "0.00")


@dataclass(frozen=True)
class _Driver:
    pk: int
    full_name: str
    tlc_license_number: str


@dataclass(frozen=True)
class _Lease:
    """What a DTR's header says of the lease, read in one query with its drivers, vehicle and medallion."""

    pk: int
    lease_number: str
    lease_type: str
    start_date: dt.date
    end_date: dt.date | None
    primary_driver: _Driver
    additional: list[_Driver]
    vehicle: dict
    medallion: dict

    @property
    def primary_driver_id(self) -> int:
        return self.primary_driver.pk


_LEASES_SQL = """
SELECT l.id, l.lease_number, l.lease_type, l.start_date, l.end_date,
       d.id, d.first_name || ' ' || d.last_name, d.tlc_license_number,
       v.id, v.vin, v.plate_number, v.year || ' ' || v.make || ' ' || v.model, m.id, m.number,
       COALESCE((SELECT array_agg(ARRAY[a.id::text, a.first_name || ' ' || a.last_name, a.tlc_license_number]
                                  ORDER BY a.id)
                 FROM leases_lease_additional_drivers x JOIN leases_driver a ON a.id = x.driver_id
                 WHERE x.lease_id = l.id), '{}')
FROM leases_lease l
JOIN leases_driver d ON d.id = l.primary_driver_id
JOIN leases_vehicle v ON v.id = l.vehicle_id
JOIN leases_medallion m ON m.id = l.medallion_id
WHERE l.id = ANY(%(leases)s)
"""


def _leases(params) -> dict[int, _Lease]:
    with connection.cursor() as cursor:
        cursor.execute(_LEASES_SQL, params)
        rows = cursor.fetchall()
    return {
        pk: _Lease(
            pk=pk,
            lease_number=number,
            lease_type=lease_type,
            start_date=start,
            end_date=end,
            primary_driver=_Driver(driver_id, driver_name, license_),
            additional=[_Driver(int(a_id), a_name, a_license) for a_id, a_name, a_license in additional],
            vehicle={"id": vehicle_id, "vin": vin, "plate": plate, "description": description},
            medallion={"id": medallion_id, "number": medallion},
        )
        for (pk, number, lease_type, start, end, driver_id, driver_name, license_, vehicle_id, vin, plate,
             description, medallion_id, medallion, additional) in rows
    }  # fmt: skip


_LEASE_TYPES = dict(Lease.Type.choices)


def _person(driver: _Driver) -> dict:
    return {"id": driver.pk, "name": driver.full_name, "tlc_license": driver.tlc_license_number}


def _snapshot(
    *,
    period,
    lease,
    company,
    lines: list[_Line],
    events: dict[int, list[dict]],
    earnings,
    trips,
    payouts,
    deposit_held,
) -> dict:
    additional = lease.additional
    drivers = {lease.primary_driver_id: lease.primary_driver, **{d.pk: d for d in additional}}
    card_earnings, unapplied, returned = earnings
    categories = []
    totals = dict.fromkeys(_FIGURES, ZERO)
    by_category: dict[str, list[_Line]] = defaultdict(list)
    for line in lines:
        by_category[line.category].append(line)
    for code, label in _CATEGORIES:
        members = by_category.get(code)
        if not members:
            categories.append({"category": code, "label": label, **_NOTHING, "lines": []})
            continue
        entries = []
        sums = dict.fromkeys(totals, ZERO)
        for line in members:
            figures = {
                "prior_balance": line.prior,
                "charges": line.charges,
                "paid": line.paid,
                "paid_from_earnings": line.paid_from_earnings,
                "paid_other": line.paid_other,
                "payments_reversed": line.payments_reversed,
                "balance_carried_forward": line.prior + line.charges - line.paid,
            }
            for key, value in figures.items():
                sums[key] += value
            other_driver = None
            if line.driver_id != lease.primary_driver_id:
                known = drivers.get(line.driver_id)
                other_driver = known.full_name if known else f"driver {line.driver_id}"
            entries.append(
                {
                    "balance_id": line.balance_id,
                    "source_reference": line.source_reference,
                    "description": line.description,
                    "due_period": line.due_period.isoformat(),
                    "original_amount": _money(line.original_amount),
                    "driver": other_driver,
                    "voided": line.charge_voided,
                    **{key: _money(value) for key, value in figures.items()},
                    "events": events.get(line.balance_id, []),
                }
            )
        for key, value in sums.items():
            totals[key] += value
        categories.append(
            {"category": code, "label": label, **{key: _money(value) for key, value in sums.items()}, "lines": entries}
        )
    subtotal = totals["charges"]
    return {
        "format": SNAPSHOT_FORMAT,
        "company": company,
        "period": period.isoformat(),
        "period_end": period_end(period).isoformat(),
        "lease": {
            "id": lease.pk,
            "number": lease.lease_number,
            "type": _LEASE_TYPES.get(lease.lease_type, lease.lease_type),
            "start_date": lease.start_date.isoformat(),
            "end_date": lease.end_date.isoformat() if lease.end_date else None,
        },
        "driver": _person(lease.primary_driver),
        "additional_drivers": [_person(d) for d in additional],
        "vehicle": dict(lease.vehicle),
        "medallion": dict(lease.medallion),
        "trips": _trips(trips, drivers),
        "card_earnings": _money(card_earnings),
        "categories": categories,
        "totals": {key: _money(value) for key, value in totals.items()},
        "subtotal_of_deductions": _money(subtotal),
        "net": _money(card_earnings - subtotal),
        "earnings_returned": _money(returned),
        "total_due_to_driver": _money(unapplied + returned),
        "payouts": payouts,
        "deposit_held": _money(deposit_held),
    }


def _trips(rows: list[tuple], drivers: dict) -> dict:
    """The week's trips of the lease, whoever drove them, and each driver's share."""
    sums = dict.fromkeys(PARTS, ZERO)
    count = card_count = 0
    card_total = cash_total = ZERO
    by_driver = []
    for driver_id, trips, card_trips, *amounts in rows:
        *parts, card, cash = amounts
        count += trips
        card_count += card_trips
        card_total += card
        cash_total += cash
        for name, value in zip(PARTS, parts, strict=True):
            sums[name] += value
        driver = drivers.get(driver_id)
        by_driver.append(
            {
                "driver_id": driver_id,
                "name": driver.full_name if driver else f"driver {driver_id}",
                "tlc_license": driver.tlc_license_number if driver else "",
                "trips": trips,
                "card_trips": card_trips,
                "card_total": _money(card),
                "cash_total": _money(cash),
            }
        )
    taxes = sum((sums[name] for name in TAX_COLUMNS), ZERO)
    return {
        "count": count,
        "card_count": card_count,
        "cash_count": count - card_count,
        **{name: _money(value) for name, value in sums.items()},
        "taxes_and_fees": _money(taxes),
        "card_total": _money(card_total),
        "cash_total": _money(cash_total),
        "by_driver": by_driver,
    }
