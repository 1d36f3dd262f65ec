"""The Driver Transaction Report (SPEC §5): one per lease per period, issued from a snapshot of
the ledger (`statements.snapshots`), voided with a reason and replaced by a new version.

A DTR regenerated later (after later payments, voids or charges) shows the same figures unless
the ledger itself was changed for that week — e.g. an installment of a past week posted late. A
DTR is written once (the database refuses changes, ledger migration 0004); a wrong one is voided
with a reason and replaced by a new version with a new number. Its PDF (`statements.pdf`) is
rendered after commit by a Celery task (`statements.tasks`).

The weekly run can be split by ranges of lease ids (`lease_range`) over parallel workers. Batches
of one period do not wait for each other: only the period's first batch holds the period's lock
(see `_lock_period`), and what they share — the numbering and the check that a lease has no DTR
yet — is held only while the batch's rows are written (`_issue`), not while its snapshots are read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.identifiers import next_numbers
from batpay.money import ZERO
from batpay.periods import is_period_start
from batpay.steps import Progress
from ledger.services import VOID_REASON_MIN_LENGTH
from statements.audit import StatementAction
from statements.models import DriverTransactionReport, EarningsClose
from statements.snapshots import build_snapshots, leases_due_a_dtr
from statements.tasks import render_dtr_pdfs

DTR = DriverTransactionReport
BATCH_SIZE = 2000
# PDFs rendered per task: enough to amortise a worker's start-up, few enough to spread a
# fleet's week over many workers.
RENDER_CHUNK = 25


# --- issuing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """A DTR just written: what the run and its audit need, without reading the row back."""

    pk: int
    dtr_number: str
    lease_id: int
    card_earnings: Decimal
    total_due_to_driver: Decimal


# Every column a new DTR row sets (the others are NULL); written with COPY in this order.
_COLUMNS = (
    "id", "dtr_number", "lease_id", "driver_id", "period", "version", "status", "snapshot", "card_earnings",
    "subtotal_of_deductions", "prior_balance", "balance_carried_forward", "total_due_to_driver",
    "supersedes_id", "pdf", "generated_by_id", "generated_at", "void_reason",
)  # fmt: skip


def _issue(
    *, period: dt.date, lease_ids: Sequence[int], actor, replacing: dict[int, DTR] | None = None
) -> list[Issued]:
    """Write the DTRs of these leases (inside the caller's transaction): snapshot, number, row.
    A lease that has a DTR of the period by the time the rows are written (a concurrent run got
    there first) is left out, unless its DTR is being replaced."""
    snapshots = build_snapshots(period=period, lease_ids=lease_ids)
    # Serialised before the turn below is taken: other batches wait only for the rows to be written.
    texts = {lease_id: json.dumps(snapshot, separators=(",", ":")) for lease_id, snapshot in snapshots.items()}
    replacing = replacing or {}
    with connection.cursor() as cursor:
        # From here to the commit, batches of every period take turns: numbers are gap-free, and a
        # lease issued meanwhile by another batch is seen and skipped.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('ledger.dtr:write'))")
        if not replacing:
            cursor.execute(
                "SELECT lease_id FROM ledger_drivertransactionreport WHERE period = %s AND lease_id = ANY(%s)",
                [period, list(snapshots)],
            )
            for (lease_id,) in cursor.fetchall():
                del snapshots[lease_id]
        if not snapshots:
            return []
        year = timezone.localdate().year
        numbers = iter(next_numbers(f"DTR-{year}", len(snapshots)))
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('ledger_drivertransactionreport', 'id')) "
            "FROM generate_series(1, %s)",
            [len(snapshots)],
        )
        ids = iter(sorted(row[0] for row in cursor.fetchall()))
        now = timezone.now()
        actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        issued = []
        with cursor.cursor.copy(f"COPY ledger_drivertransactionreport ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for lease_id in sorted(snapshots):
                snapshot = snapshots[lease_id]
                previous = replacing.get(lease_id)
                totals = snapshot["totals"]
                row = Issued(
                    next(ids),
                    f"DTR-{year}-{next(numbers):06d}",
                    lease_id,
                    Decimal(snapshot["card_earnings"]),
                    Decimal(snapshot["total_due_to_driver"]),
                )
                copy.write_row(
                    (
                        row.pk,
                        row.dtr_number,
                        lease_id,
                        snapshot["driver"]["id"],
                        period,
                        previous.version + 1 if previous else 1,
                        DTR.Status.ISSUED.value,
                        texts[lease_id],
                        snapshot["card_earnings"],
                        snapshot["subtotal_of_deductions"],
                        totals["prior_balance"],
                        totals["balance_carried_forward"],
                        snapshot["total_due_to_driver"],
                        previous.pk if previous else None,
                        "",
                        actor_id,
                        now,
                        "",
                    )
                )
                issued.append(row)
    return issued


def _check_period(period: dt.date) -> dt.date:
    if not isinstance(period, dt.date) or not is_period_start(period):
        raise InvalidInput(f"{period} is not a Sunday.", fields={"period": "A period is named by its Sunday."})
    return period


@dataclass(frozen=True)
class DtrSummary:
    period: dt.date
    generated: int
    card_earnings: Decimal
    total_due_to_driver: Decimal
    dtr_ids: tuple[int, ...]


def generate_dtrs(
    *,
    period: dt.date,
    actor=None,
    progress: Progress | None = None,
    render: bool = True,
    batch_size: int = BATCH_SIZE,
    lease_range: tuple[int, int] | None = None,
) -> DtrSummary:
    """Issue the period's DTRs: one for every lease due one that has none yet (issued or voided
    — a voided DTR is replaced by its void, never here). Batch by batch, each committing on its
    own, so a crash loses no finished batch and a re-run finishes the rest; a concurrent run
    skips what the other issued. `lease_range` (lo, hi) limits the run to the leases with
    lo <= id <= hi: a worker's shard of the week. `render` queues the PDFs."""
    _check_period(period)
    if lease_range is not None:
        lease_range = _check_range(lease_range)
    check_earnings_closed(period)
    due = leases_due_a_dtr(period=period, lease_range=lease_range)
    issued = DTR.objects.filter(period=period)
    if lease_range is not None:
        issued = issued.filter(lease__gte=lease_range[0], lease__lte=lease_range[1])
    issued_already = set(issued.values_list("lease_id", flat=True))
    todo = [lease_id for lease_id in due if lease_id not in issued_already]
    total = len(todo)
    if progress:
        progress(total, 0)
    generated: list[int] = []
    earnings = due_to_drivers = ZERO
    for offset in range(0, total, batch_size):
        chunk = todo[offset : offset + batch_size]
        with transaction.atomic(durable=True):
            if not DTR.objects.filter(period=period).exists():
                _lock_period(period)
            taken = set(DTR.objects.filter(period=period, lease_id__in=chunk).values_list("lease_id", flat=True))
            chunk = [lease_id for lease_id in chunk if lease_id not in taken]
            dtrs = _issue(period=period, lease_ids=chunk, actor=actor) if chunk else []
            if dtrs:
                ids = [dtr.pk for dtr in dtrs]
                batch_earnings = sum((dtr.card_earnings for dtr in dtrs), ZERO)
                batch_due = sum((dtr.total_due_to_driver for dtr in dtrs), ZERO)
                audit(
                    action=StatementAction.GENERATE_DTRS,
                    actor=actor,
                    object_type=DTR._meta.label,
                    object_id=period.isoformat(),
                    payload={
                        "period": period.isoformat(),
                        "generated": len(ids),
                        "first": dtrs[0].dtr_number,
                        "last": dtrs[-1].dtr_number,
                        "card_earnings": str(batch_earnings),
                        "total_due_to_driver": str(batch_due),
                    },
                )
                if render:
                    _queue_render(ids)
                generated += ids
                earnings += batch_earnings
                due_to_drivers += batch_due
        if progress:
            progress(total, min(total, offset + batch_size))
    return DtrSummary(period, len(generated), earnings, due_to_drivers, tuple(generated))


def _check_range(lease_range) -> tuple[int, int]:
    try:
        lo, hi = (int(bound) for bound in lease_range)
    except (TypeError, ValueError):
        raise InvalidInput(
            "Give the range of lease ids as two whole numbers (lo, hi).",
            fields={"lease_range": "Two lease ids, lo <= hi."},
        ) from None
    if lo > hi:
        raise InvalidInput(f"The range {lo}–{hi} is empty.", fields={"lease_range": "lo must not exceed hi."})
    return lo, hi


def check_earnings_closed(period: dt.date) -> None:
    """DTRs are issued once the week's earnings close is complete (every lease's taxes and earnings booked)."""
    if not EarningsClose.objects.filter(period=period, completed_at__isnull=False).exists():
        raise Conflict(
            f"The earnings of the week of {period} are not closed yet; DTRs are issued after them.",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"period": "Close the week's earnings first."},
        )


def _lock_key(period: dt.date) -> str:
    return f"ledger.dtr:{period.isoformat()}"


def _lock_period(period: dt.date) -> None:
    """Hold the period's lock to the end of the transaction: no charge of the period is being
    written meanwhile (`reported_periods` holds it shared), so each is either read by this batch or,
    once this batch commits, late. Only a period's first batch needs it: a batch that sees a DTR of
    the period committed knows every charge written from then on is late."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_lock_key(period)])


def reported_periods(periods) -> set[dt.date]:
    """Those of `periods` that have DTRs: a charge due in one of them is late (ledger.effective).

    Waits, with a shared lock on each period held to the end of the caller's transaction, for a
    batch of that period's DTRs being issued, and keeps new batches out until the charge is
    written: a charge is either on the week's statements or late, never lost between the two.
    """
    periods = sorted(set(periods))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtext(k)) FROM unnest(%s::text[]) AS k ORDER BY k",
            [[_lock_key(period) for period in periods]],
        )
        cursor.execute("SELECT DISTINCT period FROM ledger_drivertransactionreport WHERE period = ANY(%s)", [periods])
        return {row[0] for row in cursor.fetchall()}


def void_dtr(*, dtr_number: str, reason: str, actor=None) -> tuple[DTR, DTR]:
    """Void a DTR with a reason and issue its next version from the ledger as of the period's
    end, in one transaction. Returns (the voided DTR, its replacement)."""
    reason = (reason or "").strip()
    if len(reason) < VOID_REASON_MIN_LENGTH:
        raise InvalidInput(
            f"Give a reason of at least {VOID_REASON_MIN_LENGTH} characters.",
            fields={"reason": f"At least {VOID_REASON_MIN_LENGTH} characters."},
        )
    with transaction.atomic(durable=True):
        dtr = DTR.objects.select_for_update().filter(dtr_number=dtr_number).first()
        if dtr is None:
            raise NotFound(f"No DTR {dtr_number}.")
        if dtr.status == DTR.Status.VOIDED:
            raise Conflict(f"{dtr_number} is already voided.", code=ErrorCode.ALREADY_VOIDED)
        _lock_period(dtr.period)
        dtr.status = DTR.Status.VOIDED
        dtr.voided_at = timezone.now()
        dtr.voided_by = actor if getattr(actor, "is_authenticated", False) else None
        dtr.void_reason = reason
        dtr.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
        (issued,) = _issue(period=dtr.period, lease_ids=[dtr.lease_id], actor=actor, replacing={dtr.lease_id: dtr})
        replacement = DTR.objects.get(pk=issued.pk)
        audit(
            action=StatementAction.VOID_DTR,
            actor=actor,
            obj=dtr,
            reason=reason,
            payload={"dtr_number": dtr.dtr_number, "replacement": replacement.dtr_number},
        )
        # The voided one is drawn again with its VOID mark; the new version for the first time.
        _queue_render([dtr.pk, replacement.pk])
    return dtr, replacement


def _queue_render(ids: Sequence[int]) -> None:
    for start in range(0, len(ids), RENDER_CHUNK):
        render_dtr_pdfs.delay_on_commit(list(ids[start : start + RENDER_CHUNK]))
