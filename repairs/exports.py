"""The columns of the repair exports, shared by the API and the admin (same table, every format)."""

from batpay.exports import Column

REPAIR_COLUMNS = [
    Column("Repair ID", lambda r: r.repair_id),
    Column("Status", lambda r: r.get_status_display()),
    Column("Driver ID", lambda r: r.driver_id, "int"),
    Column("Driver", lambda r: r.driver.full_name),
    Column("TLC license", lambda r: r.driver.tlc_license_number),
    Column("Lease", lambda r: r.lease.lease_number),
    Column("VIN", lambda r: r.vehicle.vin),
    Column("Medallion", lambda r: r.medallion.number),
    Column("Invoice number", lambda r: r.invoice_number),
    Column("Invoice date", lambda r: r.invoice_date, "date"),
    Column("Workshop", lambda r: r.get_workshop_type_display()),
    Column("Description", lambda r: r.repair_description),
    Column("Repair amount", lambda r: r.repair_amount, "money"),
    Column("Weekly installment", lambda r: r.weekly_installment_amount, "money"),
    Column("Start week", lambda r: r.start_week, "date"),
    Column("Installments", lambda r: r.installment_count, "int"),
    Column("Total paid", lambda r: r.total_paid, "money"),
    Column("Outstanding", lambda r: r.outstanding_balance, "money"),
    Column("Created", lambda r: r.created_at, "datetime"),
]

INSTALLMENT_COLUMNS = [
    Column("Installment ID", lambda i: i.installment_id),
    Column("Repair ID", lambda i: i.plan.repair_id),
    Column("Repair status", lambda i: i.plan.get_status_display()),
    Column("Driver", lambda i: i.plan.driver.full_name),
    Column("VIN", lambda i: i.plan.vehicle.vin),
    Column("Medallion", lambda i: i.plan.medallion.number),
    Column("Number", lambda i: i.sequence, "int"),
    Column("Period start", lambda i: i.period_start, "date"),
    Column("Period end", lambda i: i.period_end, "date"),
    Column("Amount", lambda i: i.amount, "money"),
    Column("Status", lambda i: i.get_status_display()),
    Column("Posting reference", lambda i: i.posting_id, "int"),
    Column("Posted at", lambda i: i.posted_at, "datetime"),
]
