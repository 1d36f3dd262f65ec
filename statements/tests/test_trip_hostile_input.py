"""Hostile cells in a trips file (docs/rules.md, "Hostile input"): each row is kept for review with its
reason, the good rows go in, the file goes on; nothing reaches the database that it cannot hold."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statements.models import Trip, TripImportRow
from statements.tests.trip_files import import_lines, trip
from statements.trips import COLUMNS

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2025, 9, 29, 8, 0)
# One character of every kind text cannot hold, and a line break (no cell of a trips file is multi-line).
NOT_TEXT = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f", "\n", "\t"]


def with_cell(line: str, column: str, text: str) -> str:
    cells = line.split(",")
    cells[COLUMNS.index(column)] += text
    return ",".join(f'"{cell}"' if "\n" in cell else cell for cell in cells)


@pytest.mark.parametrize("char", NOT_TEXT, ids=repr)
def test_a_cell_that_is_not_text_keeps_its_row_for_review_and_the_file_goes_on(fleet, char):
    lease = fleet.lease()
    bad = [
        with_cell(trip(f"BAD-{n}", lease.primary_driver, lease.medallion, MONDAY), column, char)
        for n, column in enumerate(COLUMNS)
    ]
    good = [trip(f"GOOD-{n}", lease.primary_driver, lease.medallion, MONDAY) for n in (1, 2)]

    batch = import_lines([good[0], *bad, good[1]])

    assert (batch.rows, batch.imported, batch.invalid) == (len(COLUMNS) + 2, 2, len(COLUMNS))
    kept = list(TripImportRow.objects.filter(batch=batch).order_by("line_number"))
    step = 2 if char == "\n" else 1  # a quoted line break: the row spans two lines of the file
    assert [row.line_number for row in kept] == list(range(3, 3 + step * len(COLUMNS), step))
    assert [row.reason.split(":")[0] for row in kept] == list(COLUMNS)
    assert all("\x00" not in str(row.raw) + row.trip_id for row in kept)  # kept escaped: storable
    assert sorted(Trip.objects.values_list("trip_id", flat=True)) == ["GOOD-1", "GOOD-2"]


@given(junk=st.text(st.characters(codec="utf-8", categories=["Cc"]), min_size=1, max_size=5), data=st.data())
def test_any_control_character_anywhere_in_a_row_is_a_kept_row(fleet, junk, data):
    lease = fleet.lease()
    column = data.draw(st.sampled_from(COLUMNS))
    line = trip(f"H-{lease.pk}", lease.primary_driver, lease.medallion, MONDAY)
    junk = junk.replace("\r", "\x00").replace('"', "")  # CR is the csv module's own line end

    batch = import_lines([with_cell(line, column, junk)])

    assert batch.invalid == 1 and batch.imported == 0
    assert not Trip.objects.filter(batch=batch).exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00", "0001-01-01T00:30:00"),
        ("0001-01-01T00:00:00+14:00", "0001-01-01T00:30:00+14:00"),  # before the calendar in New York
        ("9999-12-31T23:00:00", "9999-12-31T23:30:00"),
        ("9999-12-31T23:00:00-12:00", "9999-12-31T23:30:00-12:00"),  # after the calendar in New York
        ("1999-12-31T23:00:00", "1999-12-31T23:30:00"),
    ],
)
def test_a_time_out_of_range_keeps_its_row_for_review(fleet, start, end):
    lease = fleet.lease()
    cells = trip("FAR-1", lease.primary_driver, lease.medallion, MONDAY).split(",")
    cells[3:5] = [start, end]

    batch = import_lines([",".join(cells), trip("NEAR-1", lease.primary_driver, lease.medallion, MONDAY)])

    assert (batch.imported, batch.invalid) == (1, 1)
    assert "start_time" in TripImportRow.objects.get(batch=batch).reason


def test_a_trip_that_takes_its_lease_s_week_past_the_largest_payment_is_kept_for_review(fleet, settings):
    """Card earnings become one EARNINGS receipt and taxes one TAXES charge: each is held to the largest
    payment or charge, counting the trips on file first and then the file's in line order."""
    lease, other = fleet.lease(), fleet.lease()
    settings.MAX_TRANSACTION_AMOUNT = "100.00"
    first = import_lines([trip(f"A-{n}", lease.primary_driver, lease.medallion, MONDAY, fare="40.00") for n in (1, 2)])
    second = import_lines(
        [
            trip("A-3", lease.primary_driver, lease.medallion, MONDAY, fare="40.00"),  # 3 × 44.75 > 100: kept
            trip("A-4", lease.primary_driver, lease.medallion, MONDAY, fare="5.00", payment_type="CASH"),
            trip("B-1", other.primary_driver, other.medallion, MONDAY, fare="90.00"),  # another lease: in
            trip("B-2", other.primary_driver, other.medallion, MONDAY, fare="10.00"),  # 94.75 + 14.75: kept
        ]
    )

    assert (first.imported, second.imported, second.invalid) == (2, 2, 2)
    kept = dict(TripImportRow.objects.filter(batch=second).values_list("trip_id", "reason"))
    assert set(kept) == {"A-3", "B-2"}
    assert "card earnings" in kept["A-3"] and "100.00" in kept["A-3"]


def test_the_week_s_taxes_are_held_to_the_largest_charge_too(fleet, settings):
    lease = fleet.lease()
    settings.MAX_TRANSACTION_AMOUNT = "20.00"
    lines = [
        trip(f"C-{n}", lease.primary_driver, lease.medallion, MONDAY, fare="1.00", payment_type="CASH")
        for n in range(5)
    ]  # 4.75 of taxes each: the fifth takes the week to 23.75

    batch = import_lines(lines)

    assert (batch.imported, batch.invalid) == (4, 1)
    assert "taxes" in TripImportRow.objects.get(batch=batch).reason


def test_a_file_name_that_is_not_text_is_kept_escaped(fleet):
    lease = fleet.lease()

    batch = import_lines([trip("N-1", lease.primary_driver, lease.medallion, MONDAY)], name="week\x00\x1b.csv")

    assert batch.file_name == "week\\x00\\x1b.csv" and batch.imported == 1
