"""Money due to the driver (docs/rules.md, "Payouts"): what a payout run pays.

Due = the unapplied money of every receipt, except the credit of an INTERIM_PAYMENT or PREPAYMENT
on a lease still in force (ACTIVE or SUSPENDED: its rent is still charged) — that credit is for the
lease's rent and waits for its next LEASE charge. The rule names the two credit kinds and nothing
else, so weekly earnings, a misc credit to the driver, a released deposit, or any receipt kind added
later is due as soon as it has unapplied money; credit of a lease that ended becomes due with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

# For a receipt aliased `r`: is its unapplied money due to the driver?
DUE_RECEIPT_SQL = """(r.unapplied > 0 AND NOT (
    r.kind IN ('INTERIM_PAYMENT', 'PREPAYMENT')
    AND EXISTS (SELECT 1 FROM leases_lease held WHERE held.id = r.lease_id AND held.status IN ('ACTIVE', 'SUSPENDED'))
))"""


def due_by_driver(*, until: dt.date, driver_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """Each driver's money due from receipts of periods up to `until` (drivers with none are absent)."""
    ids = None if driver_ids is None else sorted(set(driver_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT r.driver_id, SUM(r.unapplied) FROM ledger_receipt r
            WHERE r.period <= %(until)s AND {DUE_RECEIPT_SQL}
              AND (%(all)s OR r.driver_id = ANY(%(ids)s))
            GROUP BY r.driver_id
            """,
            {"until": until, "all": ids is None, "ids": ids or []},
        )
        return dict(cursor.fetchall())
