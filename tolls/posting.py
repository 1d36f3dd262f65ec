"""Tolls into the ledger: charges as EZPASS obligations, refunds as credit (docs/rules.md, "Tolls").

`post_tolls` runs inside its caller's transaction: the Sunday task (`tolls.services.tolls_post_due`) or
a reassignment. Charges go in one set-based call of
`ledger.services.post_obligations`, idempotent by (EZPASS, source reference); refunds are few and
go one by one through `ledger.services.apply_interim_payment`, idempotent by their Lane Txn ID.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction

from batpay.money import ZERO
from batpay.steps import StepResult
from leases.models import Driver, Lease
from ledger.categories import Category
from ledger.selectors import obligation_balances
from ledger.services import Allocation, ObligationRow, apply_interim_payment, post_obligations
from tolls.models import Toll, toll_description

# The charge a toll's current assignment is keyed by in the ledger (Toll.source_reference, in SQL).
SOURCE_REFERENCE_SQL = "CASE WHEN t.assignment = 1 THEN t.lane_txn_id ELSE t.lane_txn_id || '/' || t.assignment END"

# The PENDING tolls due by a period.
_CHARGES = f"""
SELECT t.id, {SOURCE_REFERENCE_SQL}, t.amount, t.driver_id, t.lease_id, t.vehicle_id, l.medallion_id, t.period,
       t.toll_date, t.toll_time, t.entry_plaza, t.exit_plaza, t.agency
FROM tolls_toll t JOIN leases_lease l ON l.id = t.lease_id
WHERE t.kind = 'CHARGE' AND t.status = 'PENDING' AND t.period <= %(period)s
  AND (%(batch)s::bigint IS NULL OR t.batch_id = %(batch)s)
  AND (%(ids)s::bigint[] IS NULL OR t.id = ANY(%(ids)s))
ORDER BY t.id
"""

# A refund row is the refund of the charge with the same tag or plate, date, time, agency and plazas.
# A refund whose charge is on file follows that charge's driver (and a reassignment of it).
_PAIR_REFUNDS = """
UPDATE tolls_toll r SET refund_of_id = (
    SELECT c.id FROM tolls_toll c
    WHERE c.kind = 'CHARGE' AND c.tag_or_plate = r.tag_or_plate AND c.toll_date = r.toll_date
      AND c.toll_time = r.toll_time AND c.agency = r.agency AND c.entry_plaza = r.entry_plaza
      AND c.exit_plaza = r.exit_plaza
    ORDER BY c.id LIMIT 1)
WHERE r.kind = 'REFUND' AND r.refund_of_id IS NULL AND r.status IN ('PENDING', 'UNMATCHED');

UPDATE tolls_toll r
SET lease_id = c.lease_id, driver_id = c.driver_id, vehicle_id = COALESCE(r.vehicle_id, c.vehicle_id),
    attribution = 'TOLL', status = 'PENDING', reason = '', updated_at = now()
FROM tolls_toll c
WHERE r.refund_of_id = c.id AND r.kind = 'REFUND' AND r.status IN ('PENDING', 'UNMATCHED')
  AND r.attribution <> 'STAFF' AND c.lease_id IS NOT NULL AND c.status IN ('PENDING', 'POSTED')
  AND (r.lease_id IS DISTINCT FROM c.lease_id OR r.driver_id IS DISTINCT FROM c.driver_id);
"""


def pair_refunds() -> None:
    """Link refund rows to the tolls they refund (`_PAIR_REFUNDS`): at import, and again before posting
    for a refund whose toll came in a later file."""
    with connection.cursor() as cursor:
        cursor.execute(_PAIR_REFUNDS)


def post_tolls(
    *, period: dt.date, actor=None, batch_id: int | None = None, toll_ids: list[int] | None = None
) -> StepResult:
    """Charge every PENDING toll due by `period` (its week's Sunday on or before it), then apply every
    PENDING refund due by then; `batch_id` or `toll_ids` narrow it. Returns the charges posted."""
    with transaction.atomic(), connection.cursor() as cursor:
        # No import, reassignment or reversal changes a toll while its week is charged (cheaper than
        # locking 100,000 rows one by one; they wait a few seconds on Sunday morning).
        cursor.execute("LOCK TABLE tolls_toll IN SHARE ROW EXCLUSIVE MODE")
        pair_refunds()
        cursor.execute(_CHARGES, {"period": period, "batch": batch_id, "ids": toll_ids})
        due = cursor.fetchall()
        posted = _charge(due, actor=actor)
        if due:
            cursor.execute(
                "UPDATE tolls_toll SET status = 'POSTED', reason = '', updated_at = now() WHERE id = ANY(%s)",
                [[row[0] for row in due]],
            )
        refunds = Toll.objects.select_for_update(no_key=True).filter(
            kind=Toll.Kind.REFUND, status=Toll.Status.PENDING, period__lte=period
        )
        if batch_id is not None:
            refunds = refunds.filter(batch_id=batch_id)
        if toll_ids is not None:
            refunds = refunds.filter(pk__in=toll_ids)
        applied = [refund for refund in refunds.order_by("pk") if apply_refund(refund, actor=actor)]
    amount = sum((row.amount for row in posted), ZERO)
    return StepResult(
        count=len(posted),
        amount=amount,
        details={
            "charged": len(posted),
            "refunds_applied": len(applied),
            "refunded": str(sum((refund.amount for refund in applied), ZERO)),
        },
    )


def _charge(due: list[tuple], *, actor=None) -> list:
    """One EZPASS charge per toll row of `_CHARGES`, in one set-based posting."""
    rows = [
        ObligationRow(
            category=Category.EZPASS,
            source_reference=row[1],
            amount=row[2],
            driver_id=row[3],
            lease_id=row[4],
            vehicle_id=row[5],
            medallion_id=row[6],
            period=row[7],
            description=toll_description(row[8], row[9], row[10], row[11], row[12], row[2]),
        )
        for row in due
    ]
    return post_obligations(rows=rows, actor=actor) if rows else []


def apply_refund(refund: Toll, *, actor=None) -> bool:
    """Give a refund row's money to the driver (the refund is locked by the caller): it pays its toll's
    balance if that is open, the rest — or all of it — is credit for the lease under the ledger's
    credit rules (open LEASE balances oldest first, then prepayment credit). Returns whether it did."""
    charge = Toll.objects.select_for_update(no_key=True).filter(pk=refund.refund_of_id).first()
    if charge is not None and charge.status in (Toll.Status.PENDING, Toll.Status.UNMATCHED):
        refund.reason = f"Waits for toll {charge.lane_txn_id} to be charged."
        refund.save(update_fields=["reason", "updated_at"])
        return False
    if charge is not None and charge.status in (Toll.Status.EXCLUDED, Toll.Status.REVERSED):
        refund.status = Toll.Status.EXCLUDED
        refund.reason = f"Refund of toll {charge.lane_txn_id}, which no driver is charged for."
        refund.lease = refund.driver = None
        refund.save(update_fields=["status", "reason", "lease", "driver", "updated_at"])
        return False
    balance = None
    if charge is not None:
        refund.lease_id, refund.driver_id = charge.lease_id, charge.driver_id
        balance = obligation_balances(category=Category.EZPASS, source_references=[charge.source_reference]).get(
            charge.source_reference
        )
        if balance is not None and balance.status != "OPEN":
            balance = None
    lease = Lease.objects.get(pk=refund.lease_id)
    driver = Driver.objects.get(pk=refund.driver_id)
    pays: Decimal = min(refund.amount, balance.outstanding) if balance is not None else ZERO
    receipt = apply_interim_payment(
        driver=driver,
        lease=lease,
        amount=refund.amount,
        # An E-ZPass refund reaches the fleet's account electronically.
        method="ACH",
        allocations=[Allocation(balance_id=balance.balance_id, amount=pays)] if pays else (),
        actor=actor,
        idempotency_key=f"ezpass-refund:{refund.lane_txn_id}",
        note=f"E-ZPass refund {refund.lane_txn_id}",
        description=f"Credit from E-ZPass refund {refund.description.removeprefix('E-ZPass ')}"[:255],
    )
    refund.status = Toll.Status.APPLIED
    refund.receipt = receipt
    refund.reason = ""
    refund.save(update_fields=["status", "receipt", "reason", "lease", "driver", "updated_at"])
    return True
