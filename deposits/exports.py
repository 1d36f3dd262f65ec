"""The columns of the deposit export, shared by the API and the admin."""

from batpay.exports import Column

DEPOSIT_COLUMNS = [
    Column("Deposit ID", lambda d: d.deposit_id),
    Column("Status", lambda d: d.status),
    Column("Driver ID", lambda d: d.driver_id, "int"),
    Column("Driver", lambda d: d.driver.full_name),
    Column("Lease", lambda d: d.lease.lease_number),
    Column("Lease ends", lambda d: d.lease.end_date, "date"),
    Column("Amount", lambda d: d.deposit_amount, "money"),
    Column("Collection", lambda d: d.get_collection_display()),
    Column("Installments", lambda d: d.installment_count, "int"),
    Column("Start week", lambda d: d.start_week, "date"),
    Column("Deposit held", lambda d: d.deposit_held, "money"),
    Column("Released", lambda d: d.released_at, "datetime"),
    Column("Released amount", lambda d: d.released_amount, "money"),
    Column("Applied to balances", lambda d: d.applied_amount, "money"),
    Column("Release reason", lambda d: d.release_reason),
]
