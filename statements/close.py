"""The weekly close of a period's card earnings (SPEC §5, §6), run after the posting jobs.

For period P, per lease with trips in P (additional drivers' trips included, all booked to the
lease's primary driver, whose account the lease is):
1. a TAXES charge of Σ of all its trips' surcharges and fees (`statements.trips.TAX_COLUMNS`:
   MTA, improvement, congestion, CBDT, airport), source reference `TAX-<lease number>-<P>`,
   through `post_obligations`;
2. an EARNINGS receipt of Σ its CARD trips' totals, through `apply_earnings_bulk`, which pays
   the lease's balances due in P or earlier in priority order — TAXES first.
Tolls are not charged here: what the passenger paid for tolls is part of the card total, and
the tolls themselves reach the ledger as EZPASS charges from the toll statement.

Both happen in one transaction with the record that the week is closed, so a crash leaves
either everything or nothing, and a re-run (or a second, concurrent run) finds the week closed
and does nothing. While it runs, trip imports wait; afterwards trips of P are refused.
Then `statements.dtr.generate_dtrs` issues the DTRs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import InvalidInput
from batpay.money import ZERO
from batpay.periods import is_period_start, period_end
from batpay.registry import Registry
from batpay.steps import CloseStep, Progress, StepResult
from ledger import services
from ledger.categories import Category
from statements.audit import StatementAction
from statements.dtr import generate_dtrs
from statements.models import TAX_COLUMNS, EarningsClose

_WEEK_SQL = """
SELECT t.lease_id, l.lease_number, l.primary_driver_id, l.vehicle_id, l.medallion_id, count(*),
       SUM({taxes}),
       COALESCE(SUM(t.total_amount) FILTER (WHERE t.payment_type = 'CARD'), 0)
FROM ledger_trip t JOIN leases_lease l ON l.id = t.lease_id
WHERE t.period = %s
GROUP BY t.lease_id, l.lease_number, l.primary_driver_id, l.vehicle_id, l.medallion_id
ORDER BY t.lease_id
""".format(taxes=" + ".join(f"t.{column}" for column in TAX_COLUMNS))


@dataclass(frozen=True)
class EarningsCloseSummary:
    period: dt.date
    already_closed: bool
    leases: int = 0
    taxes_posted: int = 0
    taxes: Decimal = ZERO
    receipts: int = 0
    earnings: Decimal = ZERO
    applied: Decimal = ZERO
    unapplied: Decimal = ZERO
    balances_closed: int = 0


def taxes_reference(lease_number: str, period: dt.date) -> str:
    return f"TAX-{lease_number}-{period.isoformat()}"


def check_closable(period: dt.date, *, today: dt.date | None = None) -> dt.date:
    """A period can be closed once it has ended (the Sunday run closes the week just ended)."""
    if not isinstance(period, dt.date) or not is_period_start(period):
        raise InvalidInput(f"{period} is not a Sunday.", fields={"period": "A period is named by its Sunday."})
    today = today or timezone.localdate()
    if period_end(period) >= today:
        raise InvalidInput(
            f"The week of {period} ends on {period_end(period)}; it can be closed from the day after.",
            fields={"period": "The week has not ended yet."},
        )
    return period


def close_earnings(*, period: dt.date, actor=None, progress: Progress | None = None) -> EarningsCloseSummary:
    """Charge the week's taxes and apply its card earnings, once per period (see the module)."""
    check_closable(period)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        # Imports hold ROW EXCLUSIVE on trips: this waits for running ones and keeps new ones
        # out until the week is recorded as closed.
        cursor.execute("LOCK TABLE ledger_trip IN SHARE MODE")
        cursor.execute(
            "INSERT INTO ledger_earningsclose (period, leases, taxes, earnings, closed_by_id, closed_at) "
            "VALUES (%s, 0, 0, 0, %s, now()) ON CONFLICT (period) DO NOTHING RETURNING id",
            [period, actor.pk if getattr(actor, "is_authenticated", False) else None],
        )
        created = cursor.fetchone()
        if created is None:
            return EarningsCloseSummary(period=period, already_closed=True)
        cursor.execute(_WEEK_SQL, [period])
        week = cursor.fetchall()
        if progress:
            progress(len(week), 0)
        taxes = [
            services.ObligationRow(
                category=Category.TAXES,
                source_reference=taxes_reference(lease_number, period),
                amount=tax,
                driver_id=driver_id,
                lease_id=lease_id,
                period=period,
                vehicle_id=vehicle_id,
                medallion_id=medallion_id,
                description=f"Taxes and fees of {trips} trip{'s' if trips != 1 else ''}, week of {period}",
            )
            for lease_id, lease_number, driver_id, vehicle_id, medallion_id, trips, tax, _ in week
            if tax > 0
        ]
        posted = services.post_obligations(rows=taxes, actor=actor)
        result = services.apply_earnings_bulk(
            rows=[
                services.EarningsRow(driver_id=driver_id, lease_id=lease_id, period=period, amount=card)
                for lease_id, _, driver_id, _, _, _, _, card in week
            ],
            actor=actor,
        )
        summary = EarningsCloseSummary(
            period=period,
            already_closed=False,
            leases=len(week),
            taxes_posted=len(posted),
            taxes=sum((p.amount for p in posted), ZERO),
            receipts=result.receipts,
            earnings=result.received,
            applied=result.applied,
            unapplied=result.unapplied,
            balances_closed=result.closed,
        )
        EarningsClose.objects.filter(pk=created[0]).update(
            leases=summary.leases, taxes=summary.taxes, earnings=summary.earnings
        )
        audit(
            action=StatementAction.CLOSE_EARNINGS,
            actor=actor,
            object_type=EarningsClose._meta.label,
            object_id=str(created[0]),
            payload={
                "period": period.isoformat(),
                "leases": summary.leases,
                "taxes_posted": summary.taxes_posted,
                "taxes": str(summary.taxes),
                "receipts": summary.receipts,
                "earnings": str(summary.earnings),
                "applied": str(summary.applied),
                "unapplied": str(summary.unapplied),
            },
        )
        if progress:
            progress(len(week), len(week))
    return summary


# --- the steps of the Sunday run's weekly close (operations.jobs runs them in order) ----------------

# Apps add steps in their AppConfig.ready(); this app's own two are registered in StatementsConfig.
CLOSE_STEPS: Registry[CloseStep] = Registry("weekly close step")


def register_close_step(name: str, fn: Callable[..., StepResult], *, order: int, label: str = "") -> None:
    """Add a step to the weekly close; steps run by ascending `order`. `label` is how people read it."""
    CLOSE_STEPS.register(name, CloseStep(name=name, fn=fn, label=label), order=order)


def close_earnings_step(*, period: dt.date, actor=None, progress: Progress | None = None) -> StepResult:
    summary = close_earnings(period=period, actor=actor, progress=progress)
    return StepResult(
        count=summary.receipts,
        amount=summary.earnings,
        details={
            "already_closed": summary.already_closed,
            "leases": summary.leases,
            "taxes_posted": summary.taxes_posted,
            "taxes": str(summary.taxes),
            "earnings_receipts": summary.receipts,
            "applied": str(summary.applied),
            "unapplied": str(summary.unapplied),
            "balances_closed": summary.balances_closed,
        },
    )


def generate_dtrs_step(*, period: dt.date, actor=None, progress: Progress | None = None) -> StepResult:
    summary = generate_dtrs(period=period, actor=actor, progress=progress)
    return StepResult(
        count=summary.generated,
        amount=summary.total_due_to_driver,
        details={"card_earnings": str(summary.card_earnings), "total_due_to_driver": str(summary.total_due_to_driver)},
    )
