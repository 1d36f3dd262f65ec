"""Deposits on the shared installment-plan mechanism.

Once a lease has ended, installments of weeks after its last day are never posted: the Sunday
posting job cancels them first (`prepare_posting`), so nobody is charged a deposit for a lease
they no longer drive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from batpay.periods import next_period, period_start
from deposits.models import Deposit, DepositInstallment
from plans.lifecycle import InstallmentStatus
from plans.services import cancel_scheduled_installments
from plans.source import PlanSource


@dataclass(frozen=True, eq=False)
class DepositSource(PlanSource):
    def prepare_posting(self, *, period: dt.date, actor) -> dict:
        return {"installments_cancelled": cancel_after_lease_end(source=self, actor=actor)}


def cancel_after_lease_end(*, source: PlanSource, actor) -> int:
    """Cancel the SCHEDULED installments of weeks after each ended lease's last day; each plan in its
    own transaction (a plan with nothing left to pay closes)."""
    cancelled = 0
    waiting = (
        Deposit.objects.filter(
            lease__end_date__isnull=False,
            installments__status=InstallmentStatus.SCHEDULED,
            installments__period_start__gt=F("lease__end_date"),
        )
        .select_related("lease")
        .distinct()
        .order_by("pk")
    )
    for deposit in waiting:
        with transaction.atomic(durable=True):
            cancelled += cancel_scheduled_installments(
                source=source,
                plan=deposit,
                from_period=next_period(period_start(deposit.lease.end_date)),
                actor=actor,
                reason=f"Lease {deposit.lease.lease_number} ended on {deposit.lease.end_date}.",
            )
    return cancelled


DEPOSITS = DepositSource(
    name="deposits",
    category="DEPOSIT",
    plan_model=Deposit,
    installment_model=DepositInstallment,
    id_prefix="DEP",
    id_width=4,
    label="Deposit",
    noun="deposit",
    document="deposit",
    fields=("driver_id", "lease_id", "deposit_amount", "collection", "installment_count", "start_week"),
)
