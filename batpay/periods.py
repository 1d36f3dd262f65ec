"""Payment periods: weeks from Sunday 00:00 to Saturday 23:59:59 in New York, named by the Sunday.

Nobody else does weekday arithmetic: use these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

WEEK = dt.timedelta(days=7)


def period_start(day: dt.date) -> dt.date:
    """The Sunday that starts the period containing `day`."""
    if isinstance(day, dt.datetime):
        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
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
    if not is_period_start(value):
        raise ValueError(f"{value.isoformat()} is a {value:%A}; a period is named by its Sunday")
    return value
