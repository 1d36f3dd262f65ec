"""The columns of the misc charge and credit exports, shared by the API and the admin."""

from batpay.exports import Column

CHARGE_COLUMNS = [
    Column("Charge ID", lambda c: c.misc_id),
    Column("Status", lambda c: c.status),
    Column("Type", lambda c: c.charge_type.name),
    Column("Driver ID", lambda c: c.driver_id, "int"),
    Column("Driver", lambda c: c.driver.full_name),
    Column("Lease", lambda c: c.lease.lease_number),
    Column("Amount", lambda c: c.amount, "money"),
    Column("Outstanding", lambda c: c.obligation.outstanding, "money"),
    Column("Due week", lambda c: c.obligation.due_period, "date"),
    Column("Note", lambda c: c.note),
    Column("Receipt file", lambda c: "yes" if c.receipt_file else "no"),
    Column("Reversal reason", lambda c: c.reversal_reason),
    Column("Created", lambda c: c.created_at, "datetime"),
]

CREDIT_COLUMNS = [
    Column("Credit ID", lambda c: c.credit_id),
    Column("Status", lambda c: c.status),
    Column("Driver ID", lambda c: c.driver_id, "int"),
    Column("Driver", lambda c: c.driver.full_name),
    Column("Lease", lambda c: c.lease.lease_number),
    Column("Amount", lambda c: c.amount, "money"),
    Column("Receipt", lambda c: c.receipt_id, "int"),
    Column("Due to driver", lambda c: c.receipt.unapplied, "money"),
    Column("Note", lambda c: c.note),
    Column("Reversal reason", lambda c: c.reversal_reason),
    Column("Created", lambda c: c.created_at, "datetime"),
]
