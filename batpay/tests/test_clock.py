"""The clock (docs/rules.md, "Clock"): wall times read across both changes of New York's clock,
the date and the period of an instant, and "today" at the hours around a change."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from batpay.periods import (
    REPEATED,
    SKIPPED,
    OutsideCalendar,
    clock_change,
    current_period,
    last_closed_period,
    local_date,
    local_zone,
    period_bounds,
    period_end,
    period_start,
    read_time,
)
from batpay.testing import FALL_BACK, SPRING_FORWARD, set_clock

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-03-08T01:59:59", "2026-03-08T06:59:59Z"),  # EST, just before the change
        ("2026-03-08T02:00:00", "2026-03-08T07:00:00Z"),  # skipped: read as 02:00 EST = 03:00 EDT
        ("2026-03-08T02:51:00", "2026-03-08T07:51:00Z"),  # skipped: 03:51 EDT
        ("2026-03-08T03:00:00", "2026-03-08T07:00:00Z"),  # EDT
        ("2026-03-08T02:51:00-04:00", "2026-03-08T06:51:00Z"),  # an offset decides, even in the gap
        ("2025-11-02T00:59:59", "2025-11-02T04:59:59Z"),
        ("2025-11-02T01:30:00", "2025-11-02T05:30:00Z"),  # repeated: its first occurrence, EDT
        ("2025-11-02T01:30:00-04:00", "2025-11-02T05:30:00Z"),
        ("2025-11-02T01:30:00-05:00", "2025-11-02T06:30:00Z"),  # the second occurrence, given by its offset
        ("2025-11-02T02:00:00", "2025-11-02T07:00:00Z"),  # EST
        ("2025-11-02T06:30:00Z", "2025-11-02T06:30:00Z"),
        ("2025-11-02 01:30", "2025-11-02T05:30:00Z"),
    ],
)
def test_a_wall_time_is_read_as_one_instant(text, instant):
    read = read_time(text)

    assert read == utc(instant)
    assert read.tzinfo is UTC  # instants compare and subtract in UTC, never by wall time


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2025-11-02T25:00:00", "2025-11-02T01:30:00\x00", "２０２５-11-02T01:30:00"]
)
def test_what_is_not_an_iso_8601_time_is_a_value_error(text):
    with pytest.raises(ValueError):
        read_time(text)


@pytest.mark.parametrize("text", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+05:00"])
def test_a_time_whose_instant_leaves_the_calendar_is_refused_as_such(text):
    with pytest.raises(OutsideCalendar):
        read_time(text)


def test_the_changes_of_the_clock_are_found():
    assert clock_change(dt.datetime(2026, 3, 8, 2, 30)) == SKIPPED
    assert clock_change(dt.datetime(2025, 11, 2, 1, 30)) == REPEATED
    assert clock_change(dt.datetime(2026, 3, 8, 3, 0)) is None
    assert clock_change(dt.datetime(2025, 11, 2, 2, 0)) is None
    assert clock_change(dt.datetime(2025, 11, 2, 0, 59)) is None


def test_same_zone_datetimes_compare_by_wall_time_which_is_why_instants_are_utc():
    """The trap the trips import fell into: two datetimes of one ZoneInfo compare by wall time."""
    zone = local_zone()
    second = dt.datetime(2025, 11, 2, 1, 10, tzinfo=zone, fold=1)  # 06:10 UTC
    first = dt.datetime(2025, 11, 2, 1, 40, tzinfo=zone)  # 05:40 UTC
    assert first > second  # by the wall
    assert first.astimezone(UTC) < second.astimezone(UTC)  # in time
    assert read_time("2025-11-02T01:40:00-04:00") < read_time("2025-11-02T01:10:00-05:00")


def _change_instant(year: int, spring: bool) -> dt.datetime:
    """07:00 UTC on the second Sunday of March, 06:00 UTC on the first Sunday of November (US rule)."""
    first = dt.date(year, 3 if spring else 11, 1)
    sunday = first + dt.timedelta(days=(6 - first.weekday()) % 7)
    if spring:
        sunday += dt.timedelta(days=7)
    return dt.datetime.combine(sunday, dt.time(7 if spring else 6), tzinfo=UTC)


instants_near_a_change = st.builds(
    lambda year, spring, seconds: _change_instant(year, spring) + dt.timedelta(seconds=seconds),
    st.integers(2007, 2037),
    st.booleans(),
    st.integers(-5 * 86400, 5 * 86400),
)


@given(instants_near_a_change)
def test_the_period_of_an_instant_is_the_sunday_on_or_before_its_new_york_date_and_has_seven_days(instant):
    day = local_date(instant)
    start = period_start(day)

    assert start.weekday() == 6 and start <= day <= period_end(start)
    assert (period_end(start) - start).days == 6
    assert period_start(instant) == start
    first, after = period_bounds(start)
    assert first <= instant < after  # compared as instants: the bounds are New York midnights
    assert (after.date() - first.date()).days == 7
    assert (first.hour, first.minute, after.hour, after.minute) == (0, 0, 0, 0)
    # Seven calendar days are 167 hours in the March week and 169 in the November week.
    hours = (after.astimezone(UTC) - first.astimezone(UTC)) / HOUR
    spring, autumn = (_change_instant(start.year, spring) for spring in (True, False))
    expected = 167 if first <= spring < after else 169 if first <= autumn < after else 168
    assert hours == expected


@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 12, 31)).map(
        lambda value: value.replace(microsecond=0)
    )
)
def test_a_wall_time_without_offset_keeps_its_date_and_is_itself_unless_skipped(wall):
    instant = read_time(wall.isoformat())

    assert local_date(instant) == wall.date()  # no change of the clock crosses midnight in New York
    shown = instant.astimezone(local_zone()).replace(tzinfo=None)
    assert shown == (wall + HOUR if clock_change(wall) == SKIPPED else wall)
    if clock_change(wall) == REPEATED:
        assert instant.astimezone(local_zone()).fold == 0  # the first occurrence


@pytest.mark.parametrize(
    ("now", "today", "last_closed"),
    [
        # The March change Sunday: the run at 01:30 (EST), 03:30 (EDT) or 04:00 works on the week just ended.
        ("2026-03-07T23:30:00-05:00", SPRING_FORWARD - dt.timedelta(days=1), dt.date(2026, 2, 22)),
        ("2026-03-08T00:30:00-05:00", SPRING_FORWARD, dt.date(2026, 3, 1)),
        ("2026-03-08T01:30:00-05:00", SPRING_FORWARD, dt.date(2026, 3, 1)),
        ("2026-03-08T03:30:00-04:00", SPRING_FORWARD, dt.date(2026, 3, 1)),
        ("2026-03-08T04:00:00-04:00", SPRING_FORWARD, dt.date(2026, 3, 1)),
        # The November change Sunday: both 01:30s, and 03:30 EST.
        ("2025-11-01T23:30:00-04:00", FALL_BACK - dt.timedelta(days=1), dt.date(2025, 10, 19)),
        ("2025-11-02T01:30:00-04:00", FALL_BACK, dt.date(2025, 10, 26)),
        ("2025-11-02T01:30:00-05:00", FALL_BACK, dt.date(2025, 10, 26)),
        ("2025-11-02T03:30:00-05:00", FALL_BACK, dt.date(2025, 10, 26)),
        # The Saturday that ends a change week, late in the evening: still that week.
        ("2025-11-08T23:59:00-05:00", dt.date(2025, 11, 8), dt.date(2025, 10, 26)),
    ],
)
def test_today_and_the_default_period_follow_new_york_at_every_hour_of_a_change_weekend(
    monkeypatch, now, today, last_closed
):
    set_clock(monkeypatch, now)

    assert timezone.localdate() == today
    assert current_period() == period_start(today)
    assert last_closed_period() == last_closed
