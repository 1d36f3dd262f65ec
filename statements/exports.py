"""The columns of the DTR list's exports (the admin's export actions): a row per DTR, as people read it."""

from batpay.exports import Column

DTR_COLUMNS = [
    Column("DTR number", lambda d: d.dtr_number),
    Column("Period", lambda d: d.period, "date"),
    Column("Lease", lambda d: d.lease.lease_number),
    Column("Driver", lambda d: d.driver.full_name),
    Column("TLC license", lambda d: d.driver.tlc_license_number),
    Column("Status", lambda d: d.get_status_display()),
    Column("Version", lambda d: d.version, "int"),
    Column("Card earnings", lambda d: d.card_earnings, "money"),
    Column("Deductions", lambda d: d.subtotal_of_deductions, "money"),
    Column("Prior balance", lambda d: d.prior_balance, "money"),
    Column("Balance carried forward", lambda d: d.balance_carried_forward, "money"),
    Column("Total due to driver", lambda d: d.total_due_to_driver, "money"),
    Column("Issued", lambda d: d.generated_at, "datetime"),
]
