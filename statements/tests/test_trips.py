"""Importing the card-payment system's trips (SPEC §5): matching, re-imports, bad and unmatched rows."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from batpay.errors import InvalidInput
from lease_schedules.services import lease_terminate
from leases import services as fleet_services
from statements.close import close_earnings
from statements.models import Trip, TripImport, TripImportRow
from statements.tests.trip_files import HEADER, csv_bytes, import_lines, trip

P1 = dt.date(2025, 9, 28)
MONDAY = dt.datetime(2025, 9, 29, 8, 0)


def kept(batch):
    return [(row.line_number, row.kind, row.reason) for row in batch.kept_rows.order_by("line_number")]


def test_good_rows_become_trips_of_the_lease_in_force(fleet):
    lease = fleet.lease()
    line = trip("A-1", lease.primary_driver, lease.medallion, MONDAY, fare="36.00", tips="5.75", tolls="6.94",
                airport_fee="1.75")  # fmt: skip

    batch = import_lines([line])

    assert (batch.rows, batch.imported, batch.kept_for_review) == (1, 1, 0)
    stored = Trip.objects.get()
    assert (stored.trip_id, stored.lease_id, stored.driver_id, stored.medallion_id, stored.period) == (
        "A-1",
        lease.pk,
        lease.primary_driver_id,
        lease.medallion_id,
        P1,
    )
    assert (stored.fare, stored.tips, stored.tolls, stored.total_amount) == (
        D("36.00"),
        D("5.75"),
        D("6.94"),
        D("55.19"),
    )
    assert stored.taxes_and_fees == D("6.50")
    assert timezone.localtime(stored.start_time).replace(tzinfo=None) == MONDAY
    assert len(batch.sha256) == 64


def test_re_importing_the_same_file_changes_nothing(fleet):
    lease = fleet.lease()
    lines = [trip(f"R-{n}", lease.primary_driver, lease.medallion, MONDAY + dt.timedelta(hours=n)) for n in range(5)]
    first = import_lines(lines)
    stored = list(Trip.objects.order_by("trip_id").values_list("trip_id", "batch_id", "total_amount"))

    again = import_lines(lines)

    assert (first.imported, again.imported, again.already_imported, again.kept_for_review) == (5, 0, 5, 0)
    assert list(Trip.objects.order_by("trip_id").values_list("trip_id", "batch_id", "total_amount")) == stored
    assert again.sha256 == first.sha256


def test_bad_rows_are_kept_with_line_numbers_and_reasons_and_the_good_rows_go_in(fleet):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    import_lines([trip("ON-FILE", d, m, MONDAY)])
    lines = [
        trip("G-1", d, m, MONDAY),  # line 2
        trip("B-1", "123456", m, MONDAY),  # 3: six-digit license
        trip("B-2", d, m, MONDAY, fare="12.5x", total="24.75"),  # 4
        trip("B-3", d, m, MONDAY, tips="1.005"),  # 5
        trip("B-4", d, m, MONDAY, payment_type="CHEQUE"),  # 6
        trip("B-5", d, m, MONDAY, total="99.99"),  # 7: total is not its parts
        "B-6,5000001,0A01,yesterday,2025-09-29T09:00:00,CARD,20.00,0,0,0.50,1.00,2.50,0.75,0,24.75",  # 8
        trip("B-7", d, m, dt.datetime(2030, 1, 1, 8, 0)),  # 9: in the future
        "B-8,5000001,0A01,2025-09-29T08:00:00",  # 10: short row
        "",  # 11: blank lines are skipped, not counted
        trip("G-1", d, m, MONDAY),  # 12: repeated in the file
        trip("ON-FILE", d, m, MONDAY, fare="21.00"),  # 13: on file with other figures
        trip("G-2", d, m, MONDAY, fare="-3.00"),  # 14: negative
        trip("G-3", d, m, MONDAY + dt.timedelta(hours=1)),  # 15
    ]

    batch = import_lines(lines)

    assert sorted(Trip.objects.values_list("trip_id", flat=True)) == ["G-1", "G-3", "ON-FILE"]
    assert (batch.rows, batch.imported, batch.invalid, batch.unmatched) == (13, 2, 11, 0)
    reasons = dict((line, reason) for line, _, reason in kept(batch))
    assert {kind for _, kind, _ in kept(batch)} == {"INVALID"}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]
    assert "tlc_license '123456' is not 7 digits" in reasons[3]
    assert "fare '12.5x' is not an amount" in reasons[4]
    assert "tips '1.005'" in reasons[5]
    assert "payment_type 'CHEQUE' is not CARD or CASH" in reasons[6]
    assert "total_amount 99.99 is not the sum of the other amounts (24.75)" in reasons[7]
    assert "start_time 'yesterday' is not an ISO 8601" in reasons[8]
    assert "start_time is in the future" in reasons[9]
    assert "has 4 columns, expected 15" in reasons[10]
    assert "appears again (first on line 2)" in reasons[12]
    assert "already on file with different figures" in reasons[13]
    assert "fare '-3.00'" in reasons[14]
    row = batch.kept_rows.get(line_number=4)
    assert (row.trip_id, row.raw["fare"], row.raw["medallion"]) == ("B-2", "12.5x", m.number)
    assert Trip.objects.get(trip_id="ON-FILE").fare == D("20.00")


def test_unmatched_rows_are_kept_and_come_in_once_the_lease_is_right(fleet):
    lease = fleet.lease()
    stranger = fleet.driver(first_name="Sam", last_name="Other", tlc_license_number="5999999")
    d, m = lease.primary_driver, lease.medallion
    lines = [
        trip("U-1", d, "9Z99", MONDAY),  # 2: no such medallion
        trip("U-2", "5888888", m, MONDAY),  # 3: no such driver
        trip("U-3", stranger, m, MONDAY),  # 4: not a driver of the lease
        trip("U-4", d, m, dt.datetime(2025, 8, 29, 8, 0)),  # 5: before the lease began (2025-09-01)
    ]

    batch = import_lines(lines)

    assert (batch.imported, batch.unmatched) == (0, 4)
    reasons = {line: (kind, reason) for line, kind, reason in kept(batch)}
    assert reasons[2] == ("UNMATCHED", "No medallion 9Z99 on file.")
    assert reasons[3] == ("UNMATCHED", "No driver with TLC license 5888888 on file.")
    assert reasons[4][1] == (
        f"No lease on medallion {m.number} was in force on 2025-09-29 with the driver of TLC license 5999999 "
        "as its primary or additional driver."
    )
    assert "in force on 2025-08-29" in reasons[5][1]
    assert batch.kept_rows.get(line_number=4).raw["start_time"] == "2025-09-29T08:00:00"

    fleet_services.lease_update(actor=fleet.actor, lease=lease, changes={"additional_driver_ids": [stranger.pk]})
    again = import_lines(lines)
    assert (again.imported, again.unmatched) == (1, 3)
    assert Trip.objects.get(trip_id="U-3").lease_id == lease.pk


def test_an_additional_drivers_trips_land_on_the_lease(fleet):
    lease = fleet.lease()
    extra = fleet.driver(first_name="Ana", last_name="Shift", tlc_license_number="5777777")
    fleet_services.lease_update(actor=fleet.actor, lease=lease, changes={"additional_driver_ids": [extra.pk]})

    batch = import_lines([trip("X-1", extra, lease.medallion, MONDAY), trip("X-2", lease.primary_driver,
                                                                          lease.medallion, MONDAY)])  # fmt: skip

    assert batch.imported == 2
    assert set(Trip.objects.values_list("trip_id", "lease_id", "driver_id")) == {
        ("X-1", lease.pk, extra.pk),
        ("X-2", lease.pk, lease.primary_driver_id),
    }


def test_a_trip_goes_to_the_lease_in_force_on_its_new_york_date(fleet):
    old = fleet.lease()
    old = lease_terminate(actor=fleet.actor, lease=old, termination_date=dt.date(2025, 10, 1), reason="Car returned")
    new = fleet.lease(
        driver=old.primary_driver,
        vehicle_id=old.vehicle_id,
        medallion_id=old.medallion_id,
        start_date=dt.date(2025, 10, 2),
    )
    d, m = old.primary_driver, old.medallion
    lines = [
        trip("Z-1", d, m, dt.datetime(2025, 10, 1, 23, 50)),
        # 03:30 UTC on the 2nd is 23:30 on the 1st in New York: still the old lease.
        trip("Z-2", d, m, dt.datetime(2025, 10, 2, 3, 30, tzinfo=dt.UTC)),
        trip("Z-3", d, m, dt.datetime(2025, 10, 2, 0, 10)),
        # Saturday 23:59 belongs to the week of Sunday 2025-09-28.
        trip("Z-4", d, m, dt.datetime(2025, 10, 4, 23, 59)),
    ]

    import_lines(lines)

    found = {t.trip_id: (t.lease_id, t.period) for t in Trip.objects.all()}
    assert found == {"Z-1": (old.pk, P1), "Z-2": (old.pk, P1), "Z-3": (new.pk, P1), "Z-4": (new.pk, P1)}


def test_trips_of_a_closed_week_are_kept_as_late(fleet):
    lease = fleet.lease()
    import_lines([trip("W-1", lease.primary_driver, lease.medallion, MONDAY)])
    close_earnings(period=P1)

    batch = import_lines(
        [
            trip("W-1", lease.primary_driver, lease.medallion, MONDAY),  # already in: fine
            trip("W-2", lease.primary_driver, lease.medallion, MONDAY),
        ]
    )

    assert (batch.already_imported, batch.late, batch.imported) == (1, 1, 0)
    assert "The week of 2025-09-28 is closed" in batch.kept_rows.get().reason


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "The file is empty."),
        (HEADER.replace("cbdt_fee", "cbd_fee"), "missing cbdt_fee; unknown cbd_fee"),
        (HEADER + ",tip_pct", "unknown tip_pct"),
        (HEADER.replace("fare", "tips"), "missing fare; repeated tips"),
    ],
)
def test_a_file_with_the_wrong_columns_is_refused_whole(fleet, header, message):
    content = b"" if not header else csv_bytes([], header)

    with pytest.raises(InvalidInput) as refused:
        from statements.trips import import_trips

        import_trips(stream=io.BytesIO(content), file_name="x.csv")

    assert message in refused.value.message
    assert not TripImport.objects.exists()


def test_columns_may_come_in_any_order_with_a_byte_order_mark(fleet):
    lease = fleet.lease()
    names = HEADER.split(",")
    values = trip("O-1", lease.primary_driver, lease.medallion, MONDAY).split(",")
    content = "\ufeff" + ",".join(reversed(names)) + "\r\n" + ",".join(reversed(values)) + "\r\n"

    from statements.trips import import_trips

    batch = import_trips(stream=io.BytesIO(content.encode()), file_name="o.csv")

    assert batch.imported == 1 and Trip.objects.get().total_amount == D("24.75")


def test_the_command_imports_a_file_and_prints_the_kept_rows(fleet, tmp_path):
    lease = fleet.lease()
    path = tmp_path / "week.csv"
    path.write_bytes(
        csv_bytes([trip("C-1", lease.primary_driver, lease.medallion, MONDAY), trip("C-2", "5888888", "9Z99", MONDAY)])
    )
    out = io.StringIO()

    call_command("import_trips", str(path), stdout=out, stderr=io.StringIO())

    text = out.getvalue()
    assert "2 rows, 1 new trips, 0 already imported, 1 kept for review" in text
    assert "line 3: No matching lease: No medallion 9Z99 on file." in text
    assert TripImportRow.objects.count() == 1
    with pytest.raises(CommandError, match="No file"):
        call_command("import_trips", str(tmp_path / "missing.csv"), stdout=io.StringIO())
