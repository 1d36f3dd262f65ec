"""The columns of the violation and TLC summons exports, shared by the API and the admin."""

from batpay.exports import Column

VIOLATION_COLUMNS = [
    Column("Summons number", lambda v: v.summons_number),
    Column("Plate", lambda v: v.plate),
    Column("State", lambda v: v.state),
    Column("Issue date", lambda v: v.issue_date, "date"),
    Column("Violation time", lambda v: v.violation_time),
    Column("Violation", lambda v: v.violation),
    Column("Status", lambda v: v.status),
    Column("Fine", lambda v: v.fine_amount, "money"),
    Column("Amount due", lambda v: v.amount_due, "money"),
    Column("Driver owes", lambda v: v.driver_total, "money"),
    Column("Review", lambda v: v.get_review_display()),
    Column("Review reason", lambda v: v.review_reason),
    Column("Driver", lambda v: v.driver.full_name if v.driver else ""),
    Column("TLC license", lambda v: v.driver.tlc_license_number if v.driver else ""),
    Column("Lease", lambda v: v.lease.lease_number if v.lease else ""),
    Column("Medallion", lambda v: v.medallion.number if v.medallion else ""),
    Column("Attributed by", lambda v: v.get_attributed_by_display() if v.attributed_by else ""),
]

TLC_COLUMNS = [
    Column("Summons number", lambda s: s.summons_number),
    Column("Violation type", lambda s: s.violation_type.name),
    Column("Violation date", lambda s: s.violation_date, "date"),
    Column("Amount", lambda s: s.amount, "money"),
    Column("Reduced amount", lambda s: s.reduced_amount, "money"),
    Column("Disposition", lambda s: s.get_disposition_display()),
    Column("Driver owes", lambda s: s.owed, "money"),
    Column("Driver", lambda s: s.driver.full_name),
    Column("TLC license", lambda s: s.driver.tlc_license_number),
    Column("Lease", lambda s: s.lease.lease_number),
    Column("Medallion", lambda s: s.medallion.number),
]
