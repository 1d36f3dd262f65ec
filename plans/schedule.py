"""Start weeks and schedules: which periods a plan's installments fall in (SPEC §4).

Installment k (1-based) of a plan starting in period S covers S + 7(k−1) … S + 7(k−1) + 6.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from batpay.errors import InvalidInput
from batpay.periods import WEEK, date_problem, is_period_start, local_date, next_period, period_end, period_start
from plans.matrix import MAX_INSTALLMENTS

CURRENT = "CURRENT"
NEXT = "NEXT"


@dataclass(frozen=True)
class ScheduledInstallment:
    sequence: int
    period_start: dt.date
    period_end: dt.date
    amount: Decimal  # what will be posted
    # A plan type's own installment columns, e.g. a loan's principal_amount and interest_amount.
    extra: Mapping[str, Any] = dataclass_field(default_factory=dict)


def resolve_start_week(value: str | dt.date | None, *, entry_date: dt.date, field: str = "start_week") -> dt.date:
    """CURRENT (the period containing `entry_date`), NEXT (the one after) or an explicit Sunday.

    Anything else is an InvalidInput naming `field`.
    """
    if isinstance(value, dt.datetime):
        value = local_date(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.upper() == CURRENT:
                return period_start(entry_date)
            if text.upper() == NEXT:
                return next_period(entry_date)
        except OverflowError:  # an entry date at the edge of the calendar (a loan dated 0001-01-01)
            raise InvalidInput(
                f"{field} {text.upper()} falls outside the calendar.", fields={field: "Outside the calendar."}
            )
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{field} must be CURRENT, NEXT or a Sunday (YYYY-MM-DD); got {text!r}.",
                fields={field: "CURRENT, NEXT or a Sunday (YYYY-MM-DD)."},
            )
    if not isinstance(value, dt.date):
        raise InvalidInput(
            f"{field} is required: CURRENT, NEXT or a Sunday (YYYY-MM-DD).",
            fields={field: "CURRENT, NEXT or a Sunday (YYYY-MM-DD)."},
        )
    if problem := date_problem(value):
        raise InvalidInput(f"{field} {value.isoformat()} is out of range: {problem}", fields={field: problem})
    if not is_period_start(value):
        raise InvalidInput(
            f"{field} {value.isoformat()} is a {value:%A}; a payment period starts on a Sunday.",
            fields={field: f"{value.isoformat()} is not a Sunday."},
        )
    return value


def build_schedule(amounts: Sequence[Decimal], *, start: dt.date, field: str = "amount") -> list[ScheduledInstallment]:
    """One installment per amount, in consecutive periods from `start` (a Sunday)."""
    if not is_period_start(start):
        raise ValueError(f"{start} is not a Sunday")
    if len(amounts) > MAX_INSTALLMENTS:
        raise InvalidInput(
            f"The plan would run {len(amounts)} weeks; at most {MAX_INSTALLMENTS} weekly installments are allowed.",
            fields={field: f"Too large: more than {MAX_INSTALLMENTS} weekly installments."},
        )
    if dt.date.max - start < WEEK * len(amounts) - dt.timedelta(days=1):
        # The last period would end past 9999-12-31: a typing error, not a schedule.
        raise InvalidInput(
            f"start_week {start.isoformat()} is too far ahead: the schedule would run past the calendar.",
            fields={"start_week": "Too far in the future."},
        )
    schedule = []
    for index, amount in enumerate(amounts):
        first = start + WEEK * index
        schedule.append(
            ScheduledInstallment(sequence=index + 1, period_start=first, period_end=period_end(first), amount=amount)
        )
    return schedule
