"""The columns of the toll exports, shared by the API and the admin (same table, every format)."""

from batpay.exports import Column

TOLL_COLUMNS = [
    Column("Lane Txn ID", lambda t: t.lane_txn_id),
    Column("Kind", lambda t: t.get_kind_display()),
    Column("Status", lambda t: t.get_status_display()),
    Column("Tag/Plate #", lambda t: t.tag_or_plate),
    Column("Date", lambda t: t.toll_date, "date"),
    Column("Time", lambda t: t.toll_time.strftime("%H:%M:%S")),
    Column("Agency", lambda t: t.agency),
    Column("Entry plaza", lambda t: t.entry_plaza),
    Column("Exit plaza", lambda t: t.exit_plaza),
    Column("Class", lambda t: t.vehicle_class),
    Column("Amount", lambda t: t.amount, "money"),
    Column("Period", lambda t: t.period, "date"),
    Column("Lease", lambda t: t.lease.lease_number if t.lease_id else None),
    Column("Driver", lambda t: t.driver.full_name if t.driver_id else None),
    Column("TLC license", lambda t: t.driver.tlc_license_number if t.driver_id else None),
    Column("Attributed by", lambda t: t.get_attribution_display() if t.attribution else None),
    Column("Reason", lambda t: t.reason),
    Column("Charge reference", lambda t: t.source_reference if t.status == "POSTED" else None),
    Column("Import", lambda t: t.batch_id, "int"),
    Column("Line", lambda t: t.line_number, "int"),
]
