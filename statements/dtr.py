"""The Driver Transaction Report (SPEC §5): one per lease per period, a snapshot of the ledger
as of the period's end, its PDF, and its voiding and regeneration.

Everything is read from postings by effective date, the way `selectors.balances_as_of` reads:
prior balance = what was owed at the end of the day before the period began; charges and
payments = postings effective within the period; balance carried forward = prior + charges −
paid. So a DTR regenerated later (after later payments, voids or charges) shows the same
figures unless the ledger itself was changed for that week — e.g. an installment of a past week
posted late. A DTR is written once (the database refuses changes, migration 0004); a wrong one
is voided with a reason and replaced by a new version with a new number.

Snapshots are built set-based: a handful of queries for a batch of leases, whatever its size.
PDFs are rendered after commit by a Celery task and stored under MEDIA_ROOT.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.identifiers import next_numbers
from batpay.money import ZERO
from batpay.periods import is_period_start, period_end
from leases.models import Lease
from ledger.categories import Category
from ledger.services import VOID_REASON_MIN_LENGTH
from statements.models import DriverTransactionReport, EarningsClose
from statements.trips import PARTS, TAX_COLUMNS

DTR = DriverTransactionReport
SNAPSHOT_FORMAT = 1
BATCH_SIZE = 2000
# PDFs rendered per task: enough to amortise a worker's start-up, few enough to spread a
# fleet's week over many workers.
RENDER_CHUNK = 25
FONT_DIR = Path(__file__).resolve().parent / "fonts"

Progress = Callable[[int, int], None]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# --- which leases get a DTR ---------------------------------------------------------------------


def leases_due_a_dtr(*, period: dt.date) -> list[int]:
    """Every lease in force during the period (not CANCELLED, its dates overlap the week), and any
    other lease with trips or ledger activity in it (a lease ended earlier with a late charge)."""
    start, end = period, period_end(period)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id FROM leases_lease
            WHERE status <> 'CANCELLED' AND start_date <= %(end)s AND (end_date IS NULL OR end_date >= %(start)s)
            UNION
            SELECT lease_id FROM ledger_posting WHERE effective_date BETWEEN %(start)s AND %(end)s
            UNION
            SELECT lease_id FROM ledger_trip WHERE period = %(start)s
            ORDER BY 1
            """,
            {"start": start, "end": end},
        )
        return [row[0] for row in cursor.fetchall()]


# --- snapshots ----------------------------------------------------------------------------------

_LINES_SQL = """
SELECT p.lease_id, b.id, b.category, b.source_reference, b.description, b.due_period, b.original_amount,
       b.driver_id,
       COALESCE(SUM(s.amount) FILTER (WHERE p.effective_date < %(start)s), 0) AS prior,
       COALESCE(SUM(s.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.receipt_id IS NULL), 0) AS charges,
       COALESCE(-SUM(s.amount) FILTER (WHERE p.effective_date >= %(start)s AND p.receipt_id IS NOT NULL), 0) AS paid,
       COALESCE(-SUM(s.amount) FILTER (WHERE p.effective_date >= %(start)s AND r.kind = 'EARNINGS'
                                          AND r.period = %(start)s), 0) AS paid_from_earnings,
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

_EARNINGS_SQL = """
SELECT lease_id, SUM(amount), SUM(unapplied), SUM(returned) FROM (
    SELECT r.lease_id, r.amount, r.amount - COALESCE(applied.amount, 0) AS unapplied, 0 AS returned
    FROM ledger_receipt r
    LEFT JOIN LATERAL (
        SELECT SUM(CASE p.entry_type WHEN 'CREDIT' THEN p.amount ELSE -p.amount END) AS amount
        FROM ledger_posting p WHERE p.receipt_id = r.id AND p.effective_date <= %(end)s
    ) applied ON true
    WHERE r.kind = 'EARNINGS' AND r.period = %(start)s AND r.lease_id = ANY(%(leases)s)
    UNION ALL
    -- Earnings of earlier weeks that a void handed back this week: their statements are issued,
    -- so this one pays the money out.
    SELECT r.lease_id, 0, 0, CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE -p.amount END
    FROM ledger_posting p JOIN ledger_receipt r ON r.id = p.receipt_id
    WHERE r.kind = 'EARNINGS' AND r.period < %(start)s AND r.lease_id = ANY(%(leases)s)
      AND p.effective_date BETWEEN %(start)s AND %(end)s
) earnings
GROUP BY lease_id
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
    paid: Decimal
    paid_from_earnings: Decimal
    charge_voided: bool


def build_snapshots(*, period: dt.date, lease_ids: Sequence[int]) -> dict[int, dict]:
    """The DTR content of each lease for the period, as plain JSON (money as "0.00" strings).

    Five queries for the whole batch: leases, additional drivers, balance lines, earnings, trips.
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
    earnings: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    trips: dict[int, list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_LINES_SQL, params)
        for lease_id, *values in cursor.fetchall():
            lines[lease_id].append(_Line(*values))
        cursor.execute(_EARNINGS_SQL, params)
        earnings = {lease_id: tuple(figures) for lease_id, *figures in cursor.fetchall()}
        cursor.execute(_TRIPS_SQL, params)
        for lease_id, *values in cursor.fetchall():
            trips[lease_id].append(tuple(values))
    company = {"name": settings.COMPANY_NAME, "address": settings.COMPANY_ADDRESS}
    return {
        lease_id: _snapshot(
            period=period,
            lease=lease,
            company=company,
            lines=lines.get(lease_id, []),
            earnings=earnings.get(lease_id, (ZERO, ZERO, ZERO)),
            trips=trips.get(lease_id, []),
        )
        for lease_id, lease in leases.items()
    }


def _person(driver) -> dict:
    return {"id": driver.pk, "name": driver.full_name, "tlc_license": driver.tlc_license_number}


def _snapshot(*, period, lease, company, lines: list[_Line], earnings, trips) -> dict:
    additional = sorted(lease.additional_drivers.all(), key=lambda d: d.pk)
    drivers = {lease.primary_driver_id: lease.primary_driver, **{d.pk: d for d in additional}}
    card_earnings, unapplied, returned = earnings
    categories = []
    totals = dict.fromkeys(
        ("prior_balance", "charges", "paid", "paid_from_earnings", "paid_other", "balance_carried_forward"), ZERO
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
                "paid_other": line.paid - line.paid_from_earnings,
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


# --- issuing ------------------------------------------------------------------------------------


def _issue(*, period: dt.date, lease_ids: Sequence[int], actor, replacing: dict[int, DTR] | None = None) -> list[DTR]:
    """Write the DTRs of these leases (inside the caller's transaction): snapshot, number, row."""
    snapshots = build_snapshots(period=period, lease_ids=lease_ids)
    year = timezone.localdate().year
    numbers = iter(next_numbers(f"DTR-{year}", len(snapshots)))
    replacing = replacing or {}
    rows = []
    for lease_id in sorted(snapshots):
        snapshot = snapshots[lease_id]
        previous = replacing.get(lease_id)
        rows.append(
            DTR(
                dtr_number=f"DTR-{year}-{next(numbers):06d}",
                lease_id=lease_id,
                driver_id=snapshot["driver"]["id"],
                period=period,
                version=previous.version + 1 if previous else 1,
                snapshot=snapshot,
                card_earnings=Decimal(snapshot["card_earnings"]),
                subtotal_of_deductions=Decimal(snapshot["subtotal_of_deductions"]),
                prior_balance=Decimal(snapshot["totals"]["prior_balance"]),
                balance_carried_forward=Decimal(snapshot["totals"]["balance_carried_forward"]),
                total_due_to_driver=Decimal(snapshot["total_due_to_driver"]),
                supersedes=previous,
                generated_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
        )
    return DTR.objects.bulk_create(rows, batch_size=1000)


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
) -> DtrSummary:
    """Issue the period's DTRs: one for every lease due one that has none yet (issued or voided
    — a voided DTR is replaced by its void, never here). Batch by batch, each committing on its
    own, so a crash loses no finished batch and a re-run finishes the rest; a concurrent run
    waits for the period's lock and then finds nothing left to do. `render` queues the PDFs."""
    _check_period(period)
    if not EarningsClose.objects.filter(period=period).exists():
        raise Conflict(
            f"The earnings of the week of {period} are not closed yet; DTRs are issued after them.",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"period": "Close the week's earnings first."},
        )
    due = leases_due_a_dtr(period=period)
    issued_already = set(DTR.objects.filter(period=period).values_list("lease_id", flat=True))
    todo = [lease_id for lease_id in due if lease_id not in issued_already]
    total = len(todo)
    if progress:
        progress(total, 0)
    generated: list[int] = []
    earnings = due_to_drivers = ZERO
    for offset in range(0, total, batch_size):
        chunk = todo[offset : offset + batch_size]
        with transaction.atomic(durable=True):
            _lock_period(period)
            taken = set(DTR.objects.filter(period=period, lease_id__in=chunk).values_list("lease_id", flat=True))
            chunk = [lease_id for lease_id in chunk if lease_id not in taken]
            if chunk:
                dtrs = _issue(period=period, lease_ids=chunk, actor=actor)
                ids = [dtr.pk for dtr in dtrs]
                batch_earnings = sum((dtr.card_earnings for dtr in dtrs), ZERO)
                batch_due = sum((dtr.total_due_to_driver for dtr in dtrs), ZERO)
                audit(
                    action="ledger.generate_dtrs",
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


def _lock_period(period: dt.date) -> None:
    """Serialise the issuing of one period's DTRs (held to the end of the transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"statements.dtr:{period.isoformat()}"])


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
        (replacement,) = _issue(period=dtr.period, lease_ids=[dtr.lease_id], actor=actor, replacing={dtr.lease_id: dtr})
        audit(
            action="ledger.void_dtr",
            actor=actor,
            obj=dtr,
            reason=reason,
            payload={"dtr_number": dtr.dtr_number, "replacement": replacement.dtr_number},
        )
        # The voided one is drawn again with its VOID mark; the new version for the first time.
        _queue_render([dtr.pk, replacement.pk])
    return dtr, replacement


# --- PDF ----------------------------------------------------------------------------------------


def _queue_render(ids: Sequence[int]) -> None:
    for start in range(0, len(ids), RENDER_CHUNK):
        render_dtr_pdfs.delay_on_commit(list(ids[start : start + RENDER_CHUNK]))


def statement_context(dtr: DTR) -> dict:
    """What the PDF and the admin page show: the snapshot, and the DTR's own number and state."""
    snapshot = dtr.snapshot
    return {
        "dtr": dtr,
        "s": snapshot,
        "detail_categories": [c for c in snapshot["categories"] if c["lines"]],
        "voided": dtr.status == DTR.Status.VOIDED,
        "generated_at": timezone.localtime(dtr.generated_at) if dtr.generated_at else None,
        "font_dir": FONT_DIR.as_uri(),
    }


def render_pdf(dtr: DTR) -> bytes:
    """The DTR as a letter-size PDF, drawn with the fonts shipped in statements/fonts."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    html = render_to_string("statements/report.html", statement_context(dtr))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=fonts)


def pdf_is_current(dtr: DTR) -> bool:
    """A stored PDF that exists and was drawn after the DTR's last change (its void)."""
    if not dtr.pdf or dtr.pdf_rendered_at is None or not dtr.pdf.storage.exists(dtr.pdf.name):
        return False
    return dtr.voided_at is None or dtr.pdf_rendered_at >= dtr.voided_at


def store_pdf(dtr: DTR) -> bytes:
    """Render the PDF and keep it (replacing an older one); returns its bytes."""
    content = render_pdf(dtr)
    storage = DTR._meta.get_field("pdf").storage
    old = dtr.pdf.name if dtr.pdf else ""
    name = storage.save(f"dtrs/{dtr.period:%Y}/{dtr.dtr_number}.pdf", ContentFile(content))
    rendered_at = timezone.now()
    DTR.objects.filter(pk=dtr.pk).update(pdf=name, pdf_rendered_at=rendered_at)
    dtr.pdf.name, dtr.pdf_rendered_at = name, rendered_at
    if old and old != name:
        storage.delete(old)
    return content


def pdf_bytes(dtr: DTR) -> bytes:
    """The stored PDF, or one rendered (and stored) now when it is missing or out of date."""
    if pdf_is_current(dtr):
        with dtr.pdf.open("rb") as stored:
            return stored.read()
    return store_pdf(dtr)


@shared_task(name="ledger.render_dtr_pdfs")
def render_dtr_pdfs(dtr_ids: Iterable[int]) -> int:
    """Render and store the PDFs of these DTRs (queued after they commit). A DTR whose PDF is
    already current is skipped, so a redelivered task does no work twice."""
    rendered = 0
    for dtr in DTR.objects.filter(pk__in=list(dtr_ids)).order_by("pk"):
        if pdf_is_current(dtr):
            continue
        store_pdf(dtr)
        rendered += 1
    return rendered


# --- reads for the API and the admin -------------------------------------------------------------


def dtr_list():
    """DTRs with what a list row shows, without their (large) snapshots."""
    return DTR.objects.select_related(
        "lease__medallion", "driver", "supersedes", "superseded_by", "voided_by", "generated_by"
    ).defer("snapshot")


def dtr_detail():
    return DTR.objects.select_related(
        "lease__medallion", "driver", "supersedes", "superseded_by", "voided_by", "generated_by"
    )
