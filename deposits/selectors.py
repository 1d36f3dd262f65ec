"""Reads of security deposits, with what they hold for the driver."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from batpay.money import ZERO
from deposits.models import Deposit, DepositInstallment
from ledger.categories import Category
from ledger.selectors import paid_on


def deposit_list() -> QuerySet[Deposit]:
    return Deposit.objects.select_related("driver", "lease").prefetch_related("installments")


def attach_held(deposits: Iterable[Deposit]) -> None:
    """Set `deposit_held` on each deposit: what has been paid on its DEPOSIT charges and not released."""
    deposits = list(deposits)
    by_balance = {
        balance_id: plan_id
        for plan_id, balance_id in DepositInstallment.objects.filter(
            plan__in=[d.pk for d in deposits], posting__isnull=False
        ).values_list("plan_id", "posting__obligation_id")
    }
    held = paid_on(category=Category.DEPOSIT, by="obligation_id", ids=list(by_balance))
    totals: dict[int, Decimal] = {}
    for balance_id, amount in held.items():
        totals[by_balance[balance_id]] = totals.get(by_balance[balance_id], ZERO) + amount
    for deposit in deposits:
        deposit.deposit_held = totals.get(deposit.pk, ZERO)


def held_for_driver(*, driver_id: int) -> Decimal:
    """Every deposit held for the driver, on all their leases (the driver's page)."""
    return sum(paid_on(category=Category.DEPOSIT, by="driver_id", ids=[driver_id]).values(), ZERO)


# From each lease's DEPOSIT balances (index balance_deposit_lease) to their postings, each looked up
# by key (OFFSET 0 keeps it a lookup): the cost follows the deposits, not the lease's history.
_HELD_SQL = """
SELECT b.lease_id, SUM(CASE p.entry_type WHEN 'CREDIT' THEN p.amount ELSE -p.amount END)
FROM ledger_obligationbalance b
CROSS JOIN LATERAL (
    SELECT p.entry_type, p.amount FROM ledger_posting p
    WHERE p.obligation_id = b.id AND p.receipt_id IS NOT NULL
      AND (%(as_of)s::date IS NULL OR p.effective_date <= %(as_of)s::date)
    OFFSET 0
) p
WHERE b.category = 'DEPOSIT' AND b.lease_id = ANY(%(leases)s)
GROUP BY b.lease_id
"""


def held_for_leases(lease_ids: Iterable[int], *, as_of: dt.date | None = None) -> dict[int, Decimal]:
    """Deposit held per lease, now or at the end of `as_of` (the DTR's figure for its week): what
    receipts paid on the lease's DEPOSIT balances, net of payments reversed (a release)."""
    with connection.cursor() as cursor:
        cursor.execute(_HELD_SQL, {"leases": list(lease_ids), "as_of": as_of})
        return dict(cursor.fetchall())
