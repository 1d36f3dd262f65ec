"""The columns of the loan exports, shared by the API and the admin (same table, every format)."""

from batpay.exports import Column

LOAN_COLUMNS = [
    Column("Loan ID", lambda r: r.loan_id),
    Column("Status", lambda r: r.get_status_display()),
    Column("Driver ID", lambda r: r.driver_id, "int"),
    Column("Driver", lambda r: r.driver.full_name),
    Column("TLC license", lambda r: r.driver.tlc_license_number),
    Column("Lease", lambda r: r.lease.lease_number),
    Column("Loan date", lambda r: r.loan_date, "date"),
    Column("Purpose", lambda r: r.purpose),
    Column("Principal", lambda r: r.loan_amount, "money"),
    Column("Interest rate %", lambda r: r.interest_rate, "decimal"),
    Column("Weekly principal", lambda r: r.weekly_installment_amount, "money"),
    Column("Total interest", lambda r: r.total_interest, "money"),
    Column("Total due", lambda r: r.total_due, "money"),
    Column("Start week", lambda r: r.start_week, "date"),
    Column("Installments", lambda r: r.installment_count, "int"),
    Column("Total paid", lambda r: r.total_paid, "money"),
    Column("Outstanding", lambda r: r.outstanding_balance, "money"),
    Column("Created", lambda r: r.created_at, "datetime"),
]

INSTALLMENT_COLUMNS = [
    Column("Installment ID", lambda i: i.installment_id),
    Column("Loan ID", lambda i: i.plan.loan_id),
    Column("Loan status", lambda i: i.plan.get_status_display()),
    Column("Driver", lambda i: i.plan.driver.full_name),
    Column("Lease", lambda i: i.plan.lease.lease_number),
    Column("Number", lambda i: i.sequence, "int"),
    Column("Week start", lambda i: i.period_start, "date"),
    Column("Week end", lambda i: i.period_end, "date"),
    Column("Interest days", lambda i: i.interest_days, "int"),
    Column("Principal", lambda i: i.principal_amount, "money"),
    Column("Interest", lambda i: i.interest_amount, "money"),
    Column("Total due", lambda i: i.amount, "money"),
    Column("Status", lambda i: i.get_status_display()),
    Column("Posting reference", lambda i: i.posting_id, "int"),
    Column("Posted at", lambda i: i.posted_at, "datetime"),
]
