"""Reads of security deposits, with what they hold for the driver."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

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


def held_for_leases(lease_ids: Iterable[int], *, as_of: dt.date | None = None) -> dict[int, Decimal]:
    """Deposit held per lease, now or at the end of `as_of` (the DTR's figure for its week)."""
    return paid_on(category=Category.DEPOSIT, by="lease_id", ids=list(lease_ids), as_of=as_of)
