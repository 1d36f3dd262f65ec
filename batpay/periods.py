"""Payment periods: weeks from Sunday 00:00 to Saturday 23:59:59 in New York, named by the Sunday,
and the clock they are read on.

Nobody else does weekday arithmetic: use these.

The clock (docs/rules.md, "Clock"): an instant's date, and so its period, is its date in New York.
Wall times read from files go through `read_time`, which turns them into UTC instants: a New York
wall time that does not exist (the hour skipped when clocks go forward) is read with the offset in
force before the change, a wall time that happens twice (the hour repeated when they go back) as
its first occurrence. Durations and orders are computed on those UTC instants, never on wall times:
Python compares two datetimes of the same `tzinfo` by their wall time, ignoring the change.

Dates typed in — an API body or query parameter, an admin form, a service's argument, a trips file —
lie between EARLIEST_DATE and LATEST_DATE: `clean_date` (services), `DateField` (DRF), `DateFormField`
(Django forms and the API's filters). Outside, a date is a typing error, and the week arithmetic
on it would overflow the calendar (the Sunday before 0001-01-01, the Saturday after 9999-12-31).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from rest_framework import serializers

from batpay.errors import InvalidInput

WEEK = dt.timedelta(days=7)
SKIPPED = "skipped"
REPEATED = "repeated"


def local_zone() -> ZoneInfo:
    """The business's clock: settings.TIME_ZONE (America/New_York), whatever zone is active."""
    return timezone.get_default_timezone()


def local_date(instant: dt.datetime) -> dt.date:
    """The New York date of an instant; a naive datetime is a New York wall time already."""
    if timezone.is_aware(instant):
        return instant.astimezone(local_zone()).date()
    return instant.date()


def local_instant(wall: dt.datetime) -> dt.datetime:
    """The instant, in UTC, of a naive New York wall time. A time in the hour skipped when clocks
    go forward is read with the offset before the change (02:30 EST, which is 03:30 EDT); a time
    in the hour repeated when they go back is its first occurrence (EDT). Both are Python's
    `fold=0`; PostgreSQL reads the first the same way but the second as standard time, which is
    why wall times are never handed to it as text. OverflowError at the ends of the calendar."""
    return wall.replace(tzinfo=local_zone(), fold=0).astimezone(dt.UTC)


def clock_change(wall: dt.datetime) -> str | None:
    """SKIPPED for a naive New York wall time that never happened, REPEATED for one that happened
    twice, None for every other."""
    zone = local_zone()
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    return SKIPPED if first.utcoffset() < second.utcoffset() else REPEATED


class OutsideCalendar(ValueError):
    """A time that is ISO 8601 but cannot be an instant of Python's calendar (years 1 to 9999) in UTC."""


def read_time(text: str) -> dt.datetime:
    """An ISO 8601 date and time from a file, as an instant in UTC: with an offset it is exact,
    without one it is New York time (`local_instant`). ValueError if it is not one or lies
    outside the calendar once converted (OutsideCalendar)."""
    if not (text.isascii() and text.isprintable()):  # fromisoformat would stop at a NUL and take the rest
        raise ValueError(f"{text!r} is not ISO 8601")
    value = dt.datetime.fromisoformat(text)
    try:
        return local_instant(value) if value.tzinfo is None else value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise OutsideCalendar(f"{text!r} lies outside the calendar") from exc


EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)


def period_start(day: dt.date) -> dt.date:
    """The Sunday that starts the period containing `day` (an instant: its New York date)."""
    if isinstance(day, dt.datetime):
        day = local_date(day)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def period_end(start: dt.date) -> dt.date:
    """The Saturday that ends the period starting on `start`."""
    return period_start(start) + dt.timedelta(days=6)


def is_period_start(day: dt.date) -> bool:
    return day.weekday() == 6


def next_period(start: dt.date) -> dt.date:
    return period_start(start) + WEEK


def previous_period(start: dt.date) -> dt.date:
    return period_start(start) - WEEK


def current_period(today: dt.date | None = None) -> dt.date:
    return period_start(today or timezone.localdate())


def last_closed_period(today: dt.date | None = None) -> dt.date:
    """The period that ended before `today`'s period began: what the Sunday run works on."""
    return previous_period(current_period(today))


def not_to_come(start: dt.date) -> dt.date:
    """Jobs run for the week under way or an earlier one, never for a week still to come: posting a
    future week would charge drivers early in bulk. Raises ValueError otherwise."""
    if start > current_period():
        raise ValueError(
            f"{start.isoformat()} is a week still to come; run jobs for this week ({current_period().isoformat()}) "
            "or an earlier one"
        )
    return start


def period_bounds(start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes [Sunday 00:00, next Sunday 00:00) in the project's time zone."""
    tz = timezone.get_default_timezone()
    first = dt.datetime.combine(period_start(start), dt.time.min, tzinfo=tz)
    return first, dt.datetime.combine(next_period(start), dt.time.min, tzinfo=tz)


def periods_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Every period start from the period of `first` to the period of `last`, inclusive."""
    current, stop = period_start(first), period_start(last)
    while current <= stop:
        yield current
        current += WEEK


def parse_period(value: str | dt.date) -> dt.date:
    """A period named by its Sunday (`2025-09-28`); anything else is a ValueError."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
    if problem := date_problem(value):
        raise ValueError(f"{value.isoformat()}: {problem}")
    if not is_period_start(value):
        raise ValueError(f"{value.isoformat()} is a {value:%A}; a period is named by its Sunday")
    return value


# --- dates typed in -----------------------------------------------------------------------------


def date_problem(day: dt.date) -> str | None:
    """Why `day` cannot be a date typed in (outside EARLIEST_DATE … LATEST_DATE), or None."""
    if isinstance(day, dt.datetime):
        day = day.date()
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    return f"Must be between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."


def clean_date(value: object, *, field: str, noun: str | None = None) -> dt.date:
    """A date a service is given: a date or an ISO string (YYYY-MM-DD), from EARLIEST_DATE to
    LATEST_DATE. Each refusal is an InvalidInput naming `field`; `noun` is how its message names it."""
    noun = noun or field
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.date):
        raise InvalidInput(f"{noun} is not a date (YYYY-MM-DD).", fields={field: "A date (YYYY-MM-DD)."})
    if problem := date_problem(value):
        raise InvalidInput(f"{noun} {value.isoformat()} is out of range: {problem}", fields={field: problem})
    return value


class DateField(serializers.DateField):
    """A date in the API: ISO 8601 (YYYY-MM-DD), from EARLIEST_DATE to LATEST_DATE."""

    default_error_messages = {"out_of_range": "Must be between {earliest} and {latest}."}

    def to_internal_value(self, value) -> dt.date:
        day = super().to_internal_value(value)
        if date_problem(day):
            self.fail("out_of_range", earliest=EARLIEST_DATE.isoformat(), latest=LATEST_DATE.isoformat())
        return day


class DateFormField(forms.DateField):
    """A date in a Django form or an API filter, from EARLIEST_DATE to LATEST_DATE."""

    def to_python(self, value) -> dt.date | None:
        day = super().to_python(value)
        if day is not None and (problem := date_problem(day)):
            raise forms.ValidationError(problem, code="out_of_range")
        return day
