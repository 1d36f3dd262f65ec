"""A small demo fleet with a week of trips to close, and a canonical dump of the ledger to compare
closes by (operations.shards' tests)."""

from __future__ import annotations

import datetime as dt
import io
import random

from django.core.management import call_command
from django.utils import timezone

from batpay.periods import WEEK, last_closed_period
from leases.models import Lease
from operations.demo_history import _week_of_trips
from statements.trips import COLUMNS, import_trips

CLOSE_EARNINGS = "ledger.weekly_close.ledger.close_earnings"
GENERATE_DTRS = "ledger.weekly_close.ledger.generate_dtrs"
RENDER_PDFS = "ledger.weekly_close.statements.render_dtr_pdfs"


def world(*, leases: int, seed: int = 5) -> dt.date:
    """A demo fleet (repairs, loans, deposits, misc charges, tolls, violations) with one closed
    week of history, and the next week's trips imported; returns that week, not closed yet."""
    as_of = timezone.localdate() - dt.timedelta(days=8)
    call_command(
        "seed_demo", leases=leases, seed=seed, as_of=as_of, history_weeks=1, stdout=io.StringIO(), stderr=io.StringIO()
    )
    period = last_closed_period(as_of) + WEEK
    rng = random.Random(seed)
    lines = [
        line
        for n, lease in enumerate(Lease.objects.select_related("primary_driver", "medallion").order_by("pk"))
        if lease.start_date <= period
        for line in _week_of_trips(rng, lease, period, prefix=f"S{seed}-{n:04d}")
    ]
    import_trips(
        stream=io.BytesIO(("\n".join([",".join(COLUMNS), *lines]) + "\n").encode()),
        file_name=f"trips-{period}.csv",
        actor=None,
    )
    return period


_IDS = {"balance_id", "posting_id", "receipt_id", "obligation_id"}


def _without_ids(value):
    """A snapshot without the ids of rows a close creates (they differ from run to run)."""
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key not in _IDS}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return value


CANONICAL = {
    "postings": """
        SELECT p.entry_type, p.category, p.amount::text, p.status, p.period, p.effective_date, l.lease_number,
               b.category, b.source_reference, r.kind, r.idempotency_key
        FROM ledger_posting p JOIN leases_lease l ON l.id = p.lease_id
        LEFT JOIN ledger_obligationbalance b ON b.id = p.obligation_id
        LEFT JOIN ledger_receipt r ON r.id = p.receipt_id
    """,
    "balances": """
        SELECT b.category, b.source_reference, b.original_amount::text, b.outstanding::text, b.status, b.due_period,
               l.lease_number
        FROM ledger_obligationbalance b JOIN leases_lease l ON l.id = b.lease_id
    """,
    "receipts": """
        SELECT r.kind, r.idempotency_key, r.amount::text, r.unapplied::text, r.period, l.lease_number
        FROM ledger_receipt r JOIN leases_lease l ON l.id = r.lease_id
    """,
    "dtrs": """
        SELECT l.lease_number, d.period, d.version, d.status, d.card_earnings::text, d.subtotal_of_deductions::text,
               d.prior_balance::text, d.balance_carried_forward::text, d.total_due_to_driver::text, d.snapshot::text
        FROM ledger_drivertransactionreport d JOIN leases_lease l ON l.id = d.lease_id
    """,
    "closes": "SELECT period, leases, taxes::text, earnings::text, completed_at IS NOT NULL FROM ledger_earningsclose",
}


def canonical(cursor) -> dict[str, list[tuple]]:
    """The ledger as figures and references, no row ids: postings, balances, receipts (with what
    each applied), DTRs and their snapshots, the closed weeks. `cursor`: any DB-API cursor."""
    import json

    dump = {}
    for name, sql in CANONICAL.items():
        cursor.execute(sql)
        rows = [tuple(str(value) for value in row) for row in cursor.fetchall()]
        if name == "dtrs":
            rows = [(*row[:-1], json.dumps(_without_ids(json.loads(row[-1])), sort_keys=True)) for row in rows]
        dump[name] = sorted(rows)
    return dump
