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

The close is recorded as started first (`start_earnings_close`: an EarningsClose row, committed
under a SHARE lock on trips, so running imports finish first and trips of P are refused from
then on); then the leases are booked — by the Sunday run in shards over ranges of leases, each
shard's taxes and earnings in one transaction (`close_earnings_of_leases`), on any number of
workers (operations.shards); then the close is recorded complete with the totals of its parts
(`complete_earnings_close`). Both postings are idempotent by their references, and a complete
close is never booked again. Only then does `statements.dtr.generate_dtrs` issue the DTRs, and
payouts read the week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import InvalidInput
from batpay.money import ZERO
from batpay.periods import is_period_start, period_end
from batpay.registry import Registry
from batpay.steps import CloseStep, Progress, ShardedWork, StepResult
from ledger import services
from ledger.categories import Category
from statements.audit import StatementAction
from statements.dtr import check_earnings_closed, generate_dtrs
from statements.models import TAX_COLUMNS, EarningsClose
from statements.tasks import render_period_pdfs

_WEEK_SQL = """
SELECT t.lease_id, l.lease_number, l.primary_driver_id, l.vehicle_id, l.medallion_id, count(*),
       SUM({taxes}),
       COALESCE(SUM(t.total_amount) FILTER (WHERE t.payment_type = 'CARD'), 0)
FROM ledger_trip t JOIN leases_lease l ON l.id = t.lease_id
WHERE t.period = %s AND t.lease_id BETWEEN %s AND %s
GROUP BY t.lease_id, l.lease_number, l.primary_driver_id, l.vehicle_id, l.medallion_id
ORDER BY t.lease_id
""".format(taxes=" + ".join(f"t.{column}" for column in TAX_COLUMNS))


ALL_LEASES = 2**63 - 1
_MONEY = {"taxes", "earnings", "applied", "unapplied"}


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


def start_earnings_close(*, period: dt.date, actor=None) -> bool:
    """Record that the week's close has started (trips of the week are refused from this commit
    on); returns False when the close is already complete (nothing left to do)."""
    check_closable(period)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        # Imports hold ROW EXCLUSIVE on trips: this waits for running ones and keeps new ones
        # out until the week is recorded as closing.
        cursor.execute("LOCK TABLE ledger_trip IN SHARE MODE")
        cursor.execute(
            "INSERT INTO ledger_earningsclose (period, leases, taxes, earnings, closed_by_id, closed_at) "
            "VALUES (%s, 0, 0, 0, %s, now()) ON CONFLICT (period) DO NOTHING",
            [period, actor.pk if getattr(actor, "is_authenticated", False) else None],
        )
    return not EarningsClose.objects.filter(period=period, completed_at__isnull=False).exists()


def close_earnings_of_leases(*, period: dt.date, lease_range: tuple[int, int], actor=None) -> EarningsCloseSummary:
    """The taxes and earnings of the leases with lo <= id <= hi, in one transaction (the
    caller's when it has one: a shard's, which marks it done). The week must have been started
    (`start_earnings_close`); both postings are idempotent by their references, so a lease
    booked already is not booked again."""
    lo, hi = lease_range
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_WEEK_SQL, [period, lo, hi])
        week = cursor.fetchall()
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
    return EarningsCloseSummary(
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


def complete_earnings_close(
    *, period: dt.date, parts: Sequence[EarningsCloseSummary], actor=None
) -> EarningsCloseSummary:
    """Record the close complete with the totals of its parts (every lease's, once); DTRs and
    payouts may go ahead from this commit on."""
    summary = EarningsCloseSummary(
        period=period,
        already_closed=False,
        **{
            name: sum((getattr(part, name) for part in parts), ZERO if name in _MONEY else 0)
            for name in (
                "leases",
                "taxes_posted",
                "taxes",
                "receipts",
                "earnings",
                "applied",
                "unapplied",
                "balances_closed",
            )
        },
    )
    with transaction.atomic(durable=True):
        close = EarningsClose.objects.select_for_update().get(period=period)
        if close.completed_at is not None:
            return EarningsCloseSummary(period=period, already_closed=True)
        EarningsClose.objects.filter(pk=close.pk).update(
            leases=summary.leases, taxes=summary.taxes, earnings=summary.earnings, completed_at=timezone.now()
        )
        audit(
            action=StatementAction.CLOSE_EARNINGS,
            actor=actor,
            object_type=EarningsClose._meta.label,
            object_id=str(close.pk),
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
    return summary


def close_earnings(*, period: dt.date, actor=None, progress: Progress | None = None) -> EarningsCloseSummary:
    """Charge the week's taxes and apply its card earnings, once per period, in one process:
    started, every lease at once, completed (the Sunday run does the middle part in shards)."""
    if not start_earnings_close(period=period, actor=actor):
        return EarningsCloseSummary(period=period, already_closed=True)
    if progress:
        progress(1, 0)
    with transaction.atomic(durable=True):
        part = close_earnings_of_leases(period=period, lease_range=(0, ALL_LEASES), actor=actor)
    summary = complete_earnings_close(period=period, parts=[part], actor=actor)
    if progress:
        progress(1, 1)
    return summary


def earnings_close_complete(period: dt.date) -> bool:
    return EarningsClose.objects.filter(period=period, completed_at__isnull=False).exists()


# --- the steps of the Sunday run's weekly close (operations.jobs runs them in order) ----------------

# Apps add steps in their AppConfig.ready(); this app's own two are registered in StatementsConfig.
CLOSE_STEPS: Registry[CloseStep] = Registry("weekly close step")


def register_close_step(
    name: str, fn: Callable[..., StepResult], *, order: int, label: str = "", sharded: ShardedWork | None = None
) -> None:
    """Add a step to the weekly close; steps run by ascending `order`. `label` is how people read
    it; `sharded` is how it runs in shards over ranges of leases (`fn` stays its one-process form)."""
    CLOSE_STEPS.register(name, CloseStep(name=name, fn=fn, label=label, sharded=sharded), order=order)


def _details(summary: EarningsCloseSummary) -> dict:
    return {
        "already_closed": summary.already_closed,
        "leases": summary.leases,
        "taxes_posted": summary.taxes_posted,
        "taxes": str(summary.taxes),
        "earnings_receipts": summary.receipts,
        "earnings": str(summary.earnings),
        "applied": str(summary.applied),
        "unapplied": str(summary.unapplied),
        "balances_closed": summary.balances_closed,
    }


def _from_details(period: dt.date, details: dict) -> EarningsCloseSummary:
    return EarningsCloseSummary(
        period=period,
        already_closed=False,
        leases=details["leases"],
        taxes_posted=details["taxes_posted"],
        taxes=Decimal(details["taxes"]),
        receipts=details["earnings_receipts"],
        earnings=Decimal(details["earnings"]),
        applied=Decimal(details["applied"]),
        unapplied=Decimal(details["unapplied"]),
        balances_closed=details["balances_closed"],
    )


def _earnings_result(summary: EarningsCloseSummary) -> StepResult:
    return StepResult(count=summary.receipts, amount=summary.earnings, details=_details(summary))


def close_earnings_step(*, period: dt.date, actor=None, progress: Progress | None = None) -> StepResult:
    return _earnings_result(close_earnings(period=period, actor=actor, progress=progress))


def _start_earnings_shards(*, period: dt.date, actor=None) -> StepResult | None:
    if start_earnings_close(period=period, actor=actor):
        return None
    return _earnings_result(EarningsCloseSummary(period=period, already_closed=True))


def _earnings_shard(*, period: dt.date, lease_range: tuple[int, int], actor=None) -> StepResult:
    return _earnings_result(close_earnings_of_leases(period=period, lease_range=lease_range, actor=actor))


def _finish_earnings_shards(*, period: dt.date, actor=None, shards: Sequence[StepResult], ran) -> StepResult:
    parts = [_from_details(period, shard.details) for shard in shards]
    return _earnings_result(complete_earnings_close(period=period, parts=parts, actor=actor))


# The close in shards: every shard's part of the totals counts, whichever run booked it, so a
# resumed close resumes its set of shards (resume_done) rather than booking anew.
EARNINGS_SHARDS = ShardedWork(
    start=_start_earnings_shards, shard=_earnings_shard, finish=_finish_earnings_shards, resume_done=True
)


def generate_dtrs_step(*, period: dt.date, actor=None, progress: Progress | None = None) -> StepResult:
    summary = generate_dtrs(period=period, actor=actor, progress=progress, render=False)  # the PDF step draws them
    return StepResult(
        count=summary.generated,
        amount=summary.total_due_to_driver,
        details={"card_earnings": str(summary.card_earnings), "total_due_to_driver": str(summary.total_due_to_driver)},
    )


def _check_dtrs_may_start(*, period: dt.date, actor=None) -> None:
    check_earnings_closed(period)


def _dtrs_shard(*, period: dt.date, lease_range: tuple[int, int], actor=None) -> StepResult:
    summary = generate_dtrs(period=period, actor=actor, lease_range=lease_range, render=False)
    return StepResult(
        count=summary.generated,
        amount=summary.total_due_to_driver,
        details={"card_earnings": str(summary.card_earnings), "total_due_to_driver": str(summary.total_due_to_driver)},
    )


def _sum_results(ran: Sequence[StepResult], *money: str) -> StepResult:
    return StepResult(
        count=sum(result.count for result in ran),
        amount=sum((Decimal(result.amount) for result in ran), ZERO),
        details={name: str(sum((Decimal(result.details[name]) for result in ran), ZERO)) for name in money},
    )


def _finish_dtrs(*, period: dt.date, actor=None, shards, ran: Sequence[StepResult]) -> StepResult:
    return _sum_results(ran, "card_earnings", "total_due_to_driver")


# DTRs are issued batch by batch, each committing on its own, and never twice for a lease, so a
# shard is idempotent; this run's count is what it issued.
DTR_SHARDS = ShardedWork(start=_check_dtrs_may_start, shard=_dtrs_shard, finish=_finish_dtrs, atomic=False)


PDF_STEP = "statements.render_dtr_pdfs"


def render_pdfs_step(*, period: dt.date, actor=None, progress: Progress | None = None) -> StepResult:
    """Render the period's DTR PDFs that are not current (every lease at once)."""
    return StepResult(count=render_period_pdfs(period=period, lease_range=(0, ALL_LEASES)))


def _pdfs_shard(*, period: dt.date, lease_range: tuple[int, int], actor=None) -> StepResult:
    return StepResult(count=render_period_pdfs(period=period, lease_range=lease_range))


def _finish_pdfs(*, period: dt.date, actor=None, shards, ran: Sequence[StepResult]) -> StepResult:
    return StepResult(count=sum(result.count for result in ran))


# A PDF already current is skipped, so a shard is idempotent.
PDF_SHARDS = ShardedWork(shard=_pdfs_shard, finish=_finish_pdfs, atomic=False)
