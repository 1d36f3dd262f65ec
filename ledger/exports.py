"""The columns of the ledger's list exports, shared by the admin's export actions (same table, every
format): each row as people read it — labels, not codes; debits and credits in their own columns,
so that the totals row of a list of postings means something."""

from batpay.exports import Column
from ledger.categories import EntryType


def _name(person) -> str:
    return person.full_name if person is not None else ""


POSTING_COLUMNS = [
    Column("Posting", lambda p: p.pk, "int"),
    Column("Created", lambda p: p.created_at, "datetime"),
    Column("Category", lambda p: p.get_category_display()),
    Column("Debit", lambda p: p.amount if p.entry_type == EntryType.DEBIT else None, "money"),
    Column("Credit", lambda p: p.amount if p.entry_type == EntryType.CREDIT else None, "money"),
    Column("Status", lambda p: p.get_status_display()),
    Column("Driver", lambda p: _name(p.driver)),
    Column("Lease", lambda p: p.lease.lease_number if p.lease_id else ""),
    Column("Period", lambda p: p.period, "date"),
    Column("Effective date", lambda p: p.effective_date, "date"),
    Column("Charge", lambda p: p.obligation.source_reference if p.obligation_id else ""),
    Column("Receipt", lambda p: p.receipt_id, "int"),
    Column("Reverses posting", lambda p: p.reverses_id, "int"),
    Column("Description", lambda p: p.description),
    Column("Reason", lambda p: p.reason),
]

BALANCE_COLUMNS = [
    Column("Balance", lambda b: b.pk, "int"),
    Column("Category", lambda b: b.get_category_display()),
    Column("Charge", lambda b: b.source_reference),
    Column("Description", lambda b: b.description),
    Column("Driver", lambda b: _name(b.driver)),
    Column("TLC license", lambda b: b.driver.tlc_license_number if b.driver_id else ""),
    Column("Lease", lambda b: b.lease.lease_number if b.lease_id else ""),
    Column("Due period", lambda b: b.due_period, "date"),
    Column("Original", lambda b: b.original_amount, "money"),
    Column("Paid", lambda b: b.original_amount - b.outstanding, "money"),
    Column("Outstanding", lambda b: b.outstanding, "money"),
    Column("Status", lambda b: b.get_status_display()),
]

RECEIPT_COLUMNS = [
    Column("Receipt", lambda r: r.pk, "int"),
    Column("Kind", lambda r: r.get_kind_display()),
    Column("Method", lambda r: r.get_method_display()),
    Column("Driver", lambda r: _name(r.driver)),
    Column("TLC license", lambda r: r.driver.tlc_license_number),
    Column("Lease", lambda r: r.lease.lease_number),
    Column("Period", lambda r: r.period, "date"),
    Column("Received on", lambda r: r.received_on, "date"),
    Column("Amount", lambda r: r.amount, "money"),
    Column("Credit left", lambda r: r.unapplied, "money"),
    Column("Note", lambda r: r.note),
    Column("Recorded by", lambda r: r.created_by.get_username() if r.created_by_id else ""),
    Column("Recorded at", lambda r: r.created_at, "datetime"),
]

REFUND_COLUMNS = [
    Column("Refund", lambda r: r.pk, "int"),
    Column("Driver", lambda r: _name(r.driver)),
    Column("Lease", lambda r: r.lease.lease_number),
    Column("Amount", lambda r: r.amount, "money"),
    Column("Method", lambda r: r.get_method_display()),
    Column("Reference", lambda r: r.reference),
    Column("Refunded on", lambda r: r.refunded_on, "date"),
    Column("Receipt", lambda r: r.receipt_id, "int"),
    Column("Reason", lambda r: r.reason),
    Column("Recorded by", lambda r: r.created_by.get_username() if r.created_by_id else ""),
]
