"""Trips across both changes of the clock (docs/rules.md, "Clock"): the hour skipped on the March
Sunday, the hour repeated on the November Sunday, with and without offsets in the file; the
week a trip belongs to near midnight on those weekends; the close and the DTR of such a week."""

import datetime as dt
from decimal import Decimal as D

import pytest

from ledger.models import Receipt
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport, Trip
from statements.tests.trip_files import import_lines, trip

UTC = dt.UTC
SPRING = dt.date(2026, 3, 8)  # 02:00 EST → 03:00 EDT (07:00 UTC); a Sunday, so its own period
AUTUMN = dt.date(2025, 11, 2)  # 02:00 EDT → 01:00 EST (06:00 UTC); a Sunday too


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def stored(trip_id: str) -> tuple[dt.datetime, dt.datetime, dt.date]:
    found = Trip.objects.get(trip_id=trip_id)
    return found.start_time.astimezone(UTC), found.end_time.astimezone(UTC), found.period


def reasons(batch) -> dict[str, str]:
    return {row.trip_id: row.reason for row in batch.kept_rows.all()}


def test_the_file_with_a_trip_starting_in_the_skipped_hour_goes_in(fleet):
    """The issue's file: 02:51 on the March Sunday, ending after the change. It used to abort the
    whole import with an IntegrityError (a wall-time compare let it through to the CHECK)."""
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    lines = [
        trip("S-GOOD", d, m, "2026-03-07T22:00:00", end="2026-03-07T22:30:00"),
        # 02:51 does not exist: read as 02:51 EST = 03:51 EDT, so ending 03:10 EDT is 41 minutes earlier.
        trip("S-0251", d, m, "2026-03-08T02:51:00", end="2026-03-08T03:10:00"),
        trip("S-0251-LATER", d, m, "2026-03-08T02:51:00", end="2026-03-08T04:05:00"),
        # Across the change without offsets: 01:55 EST to 03:05 EDT is ten minutes.
        trip("S-ACROSS", d, m, "2026-03-08T01:55:00", end="2026-03-08T03:05:00"),
        # With offsets the instants are exact, wall times in the gap included.
        trip("S-OFFSET", d, m, "2026-03-08T02:30:00-04:00", end="2026-03-08T03:05:00"),
        trip("S-OFFSET-BACK", d, m, "2026-03-08T02:30:00-05:00", end="2026-03-08T03:10:00-04:00"),
    ]

    batch = import_lines(lines)

    assert (batch.rows, batch.imported, batch.invalid) == (6, 4, 2)
    assert stored("S-0251-LATER") == (instant("2026-03-08T07:51:00Z"), instant("2026-03-08T08:05:00Z"), SPRING)
    assert stored("S-ACROSS") == (instant("2026-03-08T06:55:00Z"), instant("2026-03-08T07:05:00Z"), SPRING)
    assert stored("S-OFFSET")[:2] == (instant("2026-03-08T06:30:00Z"), instant("2026-03-08T07:05:00Z"))
    assert stored("S-GOOD")[2] == dt.date(2026, 3, 1)
    kept = reasons(batch)
    assert kept["S-0251"] == (
        "end_time is 41 min before start_time (start_time 02:51 is in the hour skipped on 2026-03-08 (clocks went "
        "forward), read as 03:51 EDT)"
    )
    # 02:30 EST is 07:30 UTC, 03:10 EDT is 07:10 UTC: measured in real time, not on the wall.
    assert kept["S-OFFSET-BACK"] == "end_time is 20 min before start_time"
    assert batch.kept_rows.get(trip_id="S-0251").line_number == 3

    again = import_lines(lines)

    assert (again.imported, again.already_imported, again.invalid) == (0, 4, 2)


def test_the_repeated_hour_is_its_first_occurrence_unless_an_offset_says_otherwise(fleet):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    lines = [
        trip("A-FIRST", d, m, "2025-11-02T01:30:00", end="2025-11-02T01:45:00"),
        trip("A-SECOND", d, m, "2025-11-02T01:30:00-05:00", end="2025-11-02T01:45:00-05:00"),
        # From the first 01:50 to the second 01:10: twenty minutes, once the offset says which 01:10.
        trip("A-INTO-SECOND", d, m, "2025-11-02T01:50:00", end="2025-11-02T01:10:00-05:00"),
        trip("A-ACROSS", d, m, "2025-11-02T00:50:00", end="2025-11-02T02:10:00"),
        # Without the offset the same trip ends forty minutes before it starts.
        trip("A-NO-OFFSET", d, m, "2025-11-02T01:50:00", end="2025-11-02T01:10:00"),
        # Later on the wall, earlier in time: the second 01:10 (06:10 UTC) to the first 01:40 (05:40 UTC).
        trip("A-WALL-ORDER", d, m, "2025-11-02T01:10:00-05:00", end="2025-11-02T01:40:00-04:00"),
        trip("A-UNMATCHED", d, "9Z99", "2025-11-02T01:30:00-05:00", end="2025-11-02T01:45:00-05:00"),
    ]

    batch = import_lines(lines)

    assert (batch.rows, batch.imported, batch.invalid, batch.unmatched) == (7, 4, 2, 1)
    assert stored("A-FIRST") == (instant("2025-11-02T05:30:00Z"), instant("2025-11-02T05:45:00Z"), AUTUMN)
    assert stored("A-SECOND") == (instant("2025-11-02T06:30:00Z"), instant("2025-11-02T06:45:00Z"), AUTUMN)
    assert stored("A-INTO-SECOND")[:2] == (instant("2025-11-02T05:50:00Z"), instant("2025-11-02T06:10:00Z"))
    start, end, _ = stored("A-ACROSS")
    assert end - start == dt.timedelta(hours=2, minutes=20)
    kept = reasons(batch)
    assert kept["A-NO-OFFSET"] == (
        "end_time is 40 min before start_time (start_time 01:50 and end_time 01:10 are in the hour repeated on "
        "2025-11-02 (clocks went back), read as its first occurrence; the offset -05:00 gives the second)"
    )
    assert kept["A-WALL-ORDER"] == "end_time is 30 min before start_time"
    # A kept row shows its times as the file wrote them: which 01:30 it was stays readable.
    assert batch.kept_rows.get(trip_id="A-UNMATCHED").raw["start_time"] == "2025-11-02T01:30:00-05:00"


@pytest.mark.parametrize(
    ("start", "period"),
    [
        ("2026-03-08T04:59:59+00:00", dt.date(2026, 3, 1)),  # Saturday 23:59:59 EST
        ("2026-03-08T05:00:00+00:00", SPRING),  # Sunday 00:00 EST
        ("2026-03-08T01:59:59", SPRING),
        ("2026-03-08T03:00:00", SPRING),
        ("2026-03-14T23:59:59", SPRING),  # the next Saturday, EDT
        ("2026-03-15T03:59:59+00:00", SPRING),  # the same instant in UTC
        ("2026-03-15T04:00:00+00:00", dt.date(2026, 3, 15)),
        ("2025-11-01T23:59:59", dt.date(2025, 10, 26)),
        ("2025-11-02T03:59:59+00:00", dt.date(2025, 10, 26)),  # Saturday 23:59:59 EDT
        ("2025-11-02T04:00:00+00:00", AUTUMN),
        ("2025-11-02T01:59:59-05:00", AUTUMN),
        ("2025-11-08T23:59:59", AUTUMN),  # the next Saturday, EST
        ("2025-11-09T04:59:59+00:00", AUTUMN),
        ("2025-11-09T05:00:00+00:00", dt.date(2025, 11, 9)),
    ],
)
def test_a_trip_near_midnight_on_a_change_weekend_is_in_the_week_of_its_new_york_start(fleet, start, period):
    lease = fleet.lease()
    end = (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=5)).isoformat()

    batch = import_lines([trip("N-1", lease.primary_driver, lease.medallion, start, end=end)])

    assert batch.imported == 1
    assert Trip.objects.get().period == period


def _card_total(lines_: int) -> D:
    return D("24.75") * lines_


@pytest.mark.parametrize(
    ("week", "before", "inside", "after"),
    [
        (
            SPRING,
            ["2026-03-08T04:59:00+00:00"],  # Saturday 23:59 EST, the week before
            ["2026-03-08T00:10:00", "2026-03-08T02:51:00", "2026-03-08T03:30:00", "2026-03-14T23:50:00"],
            ["2026-03-15T00:00:00"],
        ),
        (
            AUTUMN,
            ["2025-11-01T23:59:00"],
            ["2025-11-02T01:30:00", "2025-11-02T01:30:00-05:00", "2025-11-02T02:30:00", "2025-11-08T23:50:00"],
            ["2025-11-09T00:00:00"],
        ),
    ],
)
def test_the_close_and_the_dtr_of_a_change_week_count_each_trip_once_in_its_week(fleet, week, before, inside, after):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    starts = [*before, *inside, *after]
    lines = [
        trip(f"W-{n}", d, m, start, end=(dt.datetime.fromisoformat(start) + dt.timedelta(minutes=80)).isoformat())
        for n, start in enumerate(starts)
    ]
    assert import_lines(lines).imported == len(starts)
    previous, following = week - dt.timedelta(days=7), week + dt.timedelta(days=7)

    for period in (previous, week, following):
        close_earnings(period=period)
        generate_dtrs(period=period, render=False)

    earnings = dict(Receipt.objects.filter(kind="EARNINGS").values_list("period", "amount"))
    assert earnings == {
        previous: _card_total(len(before)),
        week: _card_total(len(inside)),
        following: _card_total(len(after)),
    }
    dtr = DriverTransactionReport.objects.get(period=week)
    assert dtr.card_earnings == _card_total(len(inside))
    taxes = next(c for c in dtr.snapshot["categories"] if c["category"] == "TAXES")
    assert taxes["charges"] == f"{D('4.75') * len(inside):.2f}"
