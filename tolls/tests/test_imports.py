"""Reading the E-ZPass export: columns in any order, the amount notation, dates and times, plates and
tags, attribution by trips, and hostile rows kept with their line and reason while the rest goes in."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batpay.errors import InvalidInput
from statements.tests.trip_files import import_lines as import_trips
from statements.tests.trip_files import trip
from tolls.imports import COLUMNS, import_tolls, read_amount, read_tag_or_plate
from tolls.models import Toll, TollImport, TollImportRow
from tolls.services import tag_save
from tolls.tests.toll_files import HEADER, csv_bytes, import_lines, plate_of, toll

pytestmark = pytest.mark.django_db
TUESDAY = dt.datetime(2025, 9, 30, 8, 0)


def test_amounts_in_parentheses_are_charges_and_plain_ones_refunds():
    assert read_amount("($9.11)") == (D("9.11"), True)
    assert read_amount("$9.00") == (D("9.00"), False)
    assert read_amount(" ( $1,234.50 ) ") == (D("1234.50"), True)
    assert read_amount("-$2.10") == (D("2.10"), True)
    for text in ("($9.11", "9.111", "$9,11", "3e2", "(NaN)", "", "$", "٣٠٠", "$1" + "0" * 40):
        assert read_amount(text) is None, text


@given(cents=st.integers(min_value=1, max_value=99_999_999_999), charge=st.booleans())
def test_every_amount_printed_the_export_s_way_reads_back_to_the_cent(cents, charge):
    amount = D(cents) / 100
    text = f"${amount:,.2f}"
    assert read_amount(f"({text})" if charge else text) == (amount, charge)


def test_plates_and_tags():
    assert read_tag_or_plate("NY T659924C") == ("NY T659924C", "PT659924C")
    assert read_tag_or_plate(" ny   t659924c ") == ("NY T659924C", "PT659924C")
    assert read_tag_or_plate("T659924C") == ("T659924C", "PT659924C")
    assert read_tag_or_plate("00612345678") == ("00612345678", "T00612345678")
    assert read_tag_or_plate("006-1234 5678") == ("00612345678", "T00612345678")
    for text in ("", "12345", "NY T6599 24C EXTRA WORDS", "NY T65992/4C"):
        assert read_tag_or_plate(text) is None, text


def test_columns_in_any_order_and_case_with_extra_columns(fleet):
    lease = fleet.lease()
    order = list(reversed(COLUMNS))
    line = dict(zip(COLUMNS, toll("L-1", plate_of(lease), TUESDAY, "($6.94)").split(","), strict=True))
    header = ",".join(name.upper() for name in order) + ",Notes"
    body = ",".join(line[name] for name in order) + ",whatever"

    batch = import_tolls(stream=io.BytesIO(f"{header}\n{body}\n".encode()), file_name="shuffled.csv")

    assert (batch.charges, batch.charged_amount, batch.invalid) == (1, D("6.94"), 0)
    assert Toll.objects.get().lease == lease


def test_a_header_missing_a_column_refuses_the_whole_file_and_writes_nothing(fleet):
    header = ",".join(name for name in COLUMNS if name != "Amount")
    with pytest.raises(InvalidInput, match="missing Amount") as refused:
        import_tolls(stream=io.BytesIO(f"{header}\n1,2,3\n".encode()), file_name="short.csv")
    assert refused.value.fields == {"file": ["Columns: missing Amount."]}
    assert not TollImport.objects.exists()


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00L\x00a\x00n\x00e\x00", b'"unclosed\n'])
def test_a_file_that_is_not_the_export_is_one_clear_error(content):
    with pytest.raises(InvalidInput):
        import_tolls(stream=io.BytesIO(content), file_name="odd.csv")
    assert not TollImport.objects.exists()


def test_hostile_rows_are_kept_with_their_line_and_reason_and_the_rest_goes_in(fleet, monkeypatch):
    lease = fleet.lease()
    plate = plate_of(lease)
    good = toll("G-1", plate, TUESDAY, "($6.94)")
    lines = [
        good,
        toll("N-\x00", plate, TUESDAY, "($1.00)"),
        toll("C-1", plate, TUESDAY, "($1.00)", agency="MTA\x1b"),
        toll("Y-1", plate, TUESDAY, "($1.00)").replace("09/30/2025", "01/01/0001"),
        toll("D-1", plate, TUESDAY, "($1.00)").replace("09/30/2025", "02/30/2025"),
        toll("T-1", plate, TUESDAY, "($1.00)").replace("08:00:00", "25:00:00"),
        toll("M-1", plate, TUESDAY, "($99999999999999.00)"),
        toll("B-1", plate, TUESDAY, "($1.00)", balance="$99999999999999.00"),
        toll("Z-1", plate, TUESDAY, "$0.00"),
        toll("F-1", plate, dt.datetime(2099, 1, 1, 8, 0), "($1.00)"),
        toll("X" * 41, plate, TUESDAY, "($1.00)"),
        toll("P-1", "NY !!", TUESDAY, "($1.00)"),
        "too,few,cells",
        toll("G-1", plate, TUESDAY, "($6.94)"),
    ]
    content = csv_bytes(lines).replace(b"MTA\x1b", b"MTA\xff\xfe")  # bytes that are not UTF-8 too

    batch = import_tolls(stream=io.BytesIO(content), file_name="hostile.csv")

    assert (batch.rows, batch.charges, batch.invalid) == (14, 1, 13)
    kept = dict(TollImportRow.objects.values_list("line_number", "reason"))
    assert kept[3] == "Lane Txn ID contains a control character (U+0000)"
    assert kept[4] == "Agency holds bytes that are not UTF-8 text"
    assert "Date '01/01/0001': must be between 2000-01-01 and 2099-12-31" in kept[5]
    assert "is not a date of the calendar" in kept[6]
    assert "is not a time of day" in kept[7]
    assert kept[8] == "Amount 99999999999999.00 is more than 1000.00, more than any toll"
    assert "Post Txn Balance" in kept[9]
    assert "neither a toll nor a refund" in kept[10]
    assert "in the future" in kept[11]
    assert "longer than 40 characters" in kept[12]
    assert "is not a plate like NY T659924C" in kept[13]
    assert kept[14] == "has 3 columns, expected 11"
    assert kept[15] == "Lane Txn ID G-1 appears again (first on line 2)"
    assert Toll.objects.get().lane_txn_id == "G-1"
    again = import_tolls(stream=io.BytesIO(content), file_name="hostile.csv")
    assert (again.imported, again.already_imported, again.invalid) == (0, 1, 13)


def test_a_lane_txn_id_on_file_with_other_figures_is_kept_not_changed(fleet):
    lease = fleet.lease()
    import_lines([toll("L-1", plate_of(lease), TUESDAY, "($6.94)")])

    batch = import_lines([toll("L-1", plate_of(lease), TUESDAY, "($7.94)")])

    assert batch.invalid == 1
    assert batch.kept_rows.get().reason.startswith("Lane Txn ID L-1 is already on file with different figures")
    assert Toll.objects.get().amount == D("6.94")


def test_the_driver_with_a_trip_within_30_minutes_else_the_primary_driver(fleet):
    primary, extra = fleet.driver(), fleet.driver()
    lease = fleet.lease(driver=primary, additional_driver_ids=[extra.pk])
    other = fleet.lease(driver=extra)  # the additional driver's own lease on another car: not this one's trips
    import_trips(
        [
            trip("T-1", extra, lease.medallion, TUESDAY, end=TUESDAY + dt.timedelta(minutes=40)),
            trip("T-2", extra, other.medallion, TUESDAY + dt.timedelta(hours=5)),
            trip("T-3", extra, lease.medallion, dt.datetime(2025, 10, 1, 23, 50)),
        ]
    )
    plate = plate_of(lease)
    import_lines(
        [
            toll("in-trip", plate, TUESDAY + dt.timedelta(minutes=20), "($1.00)"),
            toll("after-end", plate, TUESDAY + dt.timedelta(minutes=70), "($1.00)"),  # 30 min after it ended
            toll("too-late", plate, TUESDAY + dt.timedelta(minutes=71), "($1.00)"),
            toll("before", plate, TUESDAY - dt.timedelta(minutes=30), "($1.00)"),
            toll("other-car", plate, TUESDAY + dt.timedelta(hours=5), "($1.00)"),
            toll("next-day", plate, dt.datetime(2025, 10, 2, 0, 15), "($1.00)"),  # 25 min after T-3 began
            toll("day-after", plate, dt.datetime(2025, 10, 2, 8, 0), "($1.00)"),
        ]
    )

    drivers = dict(Toll.objects.values_list("lane_txn_id", "driver"))
    assert drivers == {
        "in-trip": extra.pk,
        "after-end": extra.pk,
        "too-late": primary.pk,
        "before": extra.pk,
        "other-car": primary.pk,
        "next-day": extra.pk,
        "day-after": primary.pk,
    }


def test_a_tag_number_finds_its_vehicle_and_the_lease_in_force_that_day(fleet, finance):
    old = fleet.lease(end_date=dt.date(2025, 9, 30))
    new = fleet.lease(vehicle_id=old.vehicle_id, start_date=dt.date(2025, 10, 1))
    tag_save(tag_number="006-1234 5678", vehicle_id=old.vehicle_id, actor=finance)

    import_lines(
        [
            toll("on-old", "00612345678", TUESDAY, "($1.00)"),
            toll("on-new", "00612345678", dt.datetime(2025, 10, 1, 9, 0), "($1.00)"),
            toll("unknown-tag", "00699999999", TUESDAY, "($1.00)"),
            toll("before-any", plate_of(old), dt.datetime(2025, 9, 20, 9, 0), "($1.00)"),
        ]
    )

    tolls = {t.lane_txn_id: t for t in Toll.objects.all()}
    assert (tolls["on-old"].lease, tolls["on-new"].lease) == (old, new)
    assert tolls["unknown-tag"].reason == "No vehicle has E-ZPass tag 00699999999."
    assert tolls["before-any"].reason == f"No lease was in force on 09/20/2025 on the vehicle of {plate_of(old)}."
    assert tolls["before-any"].vehicle_id == old.vehicle_id


def test_the_header_may_carry_a_byte_order_mark(fleet):
    lease = fleet.lease()
    content = b"\xef\xbb\xbf" + csv_bytes([toll("L-1", plate_of(lease), TUESDAY, "($6.94)")], header=HEADER)
    assert import_tolls(stream=io.BytesIO(content), file_name="bom.csv").charges == 1
