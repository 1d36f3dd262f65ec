"""The DTR snapshot builder as it was before issue 16 ("DTR snapshots set-based per shard"), kept
verbatim as the oracle: the new `statements.snapshots.build_snapshots` must produce the same JSON,
and `manage.py bench weekly_close` times it beside the new one. It reads each lease's whole posting
history; nothing in the product calls it.
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
from leases.models import Lease
from ledger.categories import Category
from ledger.selectors import paid_on
from statements.models import TAX_COLUMNS
from statements.snapshots import SNAPSHOT_FORMAT
from statements.trips import PARTS


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# --- snapshots ----------------------------------------------------------------------------------

_LINES_SQL = """
SELECT p.lease_id, b.id, b.category, b.source_reference, b.description, b.due_period, b.original_amount,
       b.driver_id,
       COALESCE(SUM(s.amount) FILTER (WHERE p.effective_date < %(start)s), 0) AS prior,
       COALESCE(SUM(s.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.receipt_id IS NULL), 0) AS charges,
       COALESCE(SUM(p.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.reverses_id IS NULL
                                        AND r.kind = 'EARNINGS' AND r.period = %(start)s), 0) AS paid_from_earnings,
       COALESCE(SUM(p.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.reverses_id IS NULL
                                        AND p.receipt_id IS NOT NULL
                                        AND NOT (r.kind = 'EARNINGS' AND r.period = %(start)s)), 0) AS paid_other,
       COALESCE(SUM(p.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.reverses_id IS NOT NULL
                                        AND p.receipt_id IS NOT NULL), 0) AS payments_reversed,
       bool_or(p.reverses_id IS NOT NULL AND p.receipt_id IS NULL) AS charge_voided
FROM ledger_posting p
JOIN ledger_obligationbalance b ON b.id = p.obligation_id
LEFT JOIN ledger_receipt r ON r.id = p.receipt_id
CROSS JOIN LATERAL (SELECT CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE -p.amount END AS amount) s
WHERE p.lease_id = ANY(%(leases)s) AND p.effective_date <= %(end)s
GROUP BY p.lease_id, b.id
HAVING SUM(s.amount) FILTER (WHERE p.effective_date < %(start)s) <> 0 OR bool_or(p.effective_date >= %(start)s)
ORDER BY p.lease_id, b.priority, b.due_period, b.id
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
    SELECT r.lease_id, 0, 0, CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE -p.amount END
    FROM ledger_posting p JOIN ledger_receipt r ON r.id = p.receipt_id
    WHERE r.kind = 'EARNINGS' AND r.period < %(start)s AND r.lease_id = ANY(%(leases)s)
      AND p.effective_date BETWEEN %(start)s AND %(end)s
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

    Seven queries for the whole batch: leases, additional drivers, balance lines, earnings, trips, payouts,
    deposits held.
    """
    start, end = period, period_end(period)
    params = {"start": start, "end": end, "leases": list(lease_ids)}
    leases = {
        lease.pk: lease
        for lease in Lease.objects.filter(pk__in=lease_ids)
        .select_related("primary_driver", "vehicle", "medallion")
        .prefetch_related("additional_drivers")
    }
    lines: dict[int, list[_Line]] = defaultdict(list)
    events: dict[int, list[dict]] = defaultdict(list)
    earnings: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    trips: dict[int, list[tuple]] = defaultdict(list)
    payouts: dict[int, list[dict]] = defaultdict(list)
    with connection.cursor() as cursor:
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
    deposit_held = paid_on(category=Category.DEPOSIT, by="lease_id", ids=list(lease_ids), as_of=end)
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


def _person(driver) -> dict:
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
    additional = sorted(lease.additional_drivers.all(), key=lambda d: d.pk)
    drivers = {lease.primary_driver_id: lease.primary_driver, **{d.pk: d for d in additional}}
    card_earnings, unapplied, returned = earnings
    categories = []
    totals = dict.fromkeys(
        (
            "prior_balance",
            "charges",
            "paid",
            "paid_from_earnings",
            "paid_other",
            "payments_reversed",
            "balance_carried_forward",
        ),
        ZERO,
    )
    for category in Category:
        members = [line for line in lines if line.category == category.value]
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
            {
                "category": category.value,
                "label": category.label,
                **{key: _money(value) for key, value in sums.items()},
                "lines": entries,
            }
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
            "type": lease.get_lease_type_display(),
            "start_date": lease.start_date.isoformat(),
            "end_date": lease.end_date.isoformat() if lease.end_date else None,
        },
        "driver": _person(lease.primary_driver),
        "additional_drivers": [_person(d) for d in additional],
        "vehicle": {
            "id": lease.vehicle.pk,
            "vin": lease.vehicle.vin,
            "plate": lease.vehicle.plate_number,
            "description": f"{lease.vehicle.year} {lease.vehicle.make} {lease.vehicle.model}",
        },
        "medallion": {"id": lease.medallion.pk, "number": lease.medallion.number},
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
