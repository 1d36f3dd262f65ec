"""Lease schedules on the shared installment-plan mechanism, and what a lease's weeks cost.

A lease is charged once per payment period it covers. A period the lease covers only in part
(its first or last week) costs weekly rate / 7 × the days of the lease in that period, rounded
half-up to the cent once (`prorated`); a full week costs the weekly rate. The schedule runs from
the lease's first period through the period of its end date, but never more than
`settings.LEASE_SCHEDULE_HORIZON_WEEKS` past the later of today's period and the lease's first
period: an open-ended lease (or one ending years away) is written a year ahead at a time and the
weekly leases job rolls it forward (`lease_schedules.services.lease_schedules_extend`).

Installment ids are the lease number and the period's Sunday (`LS-000042-2025-09-28`): the ledger
posts a source reference once only, so a lease can never be charged twice for the same week,
whatever happens to its schedule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from batpay.money import ZERO, to_money
from batpay.periods import WEEK, current_period, period_end, period_start

DAYS_IN_PERIOD = 7


@dataclass(frozen=True)
class LeaseWeek:
    period: dt.date  # the Sunday
    days: int  # days of the period inside the lease, 1 to 7


def installment_id(lease_number: str, period: dt.date) -> str:
    return f"{lease_number}-{period.isoformat()}"


def prorated(weekly_rate: Decimal, days: int) -> Decimal:
    """weekly rate / 7 × days, half-up to the cent. Multiplying first keeps the quotient exact
    whenever it can be (the rounding is the only one); a full week is the rate itself."""
    if days == DAYS_IN_PERIOD:
        return to_money(weekly_rate)
    return to_money(weekly_rate * days / DAYS_IN_PERIOD)


def horizon(*, first_period: dt.date, today: dt.date | None = None) -> dt.date:
    """The last period a schedule is written to ahead of time."""
    return max(current_period(today), first_period) + WEEK * settings.LEASE_SCHEDULE_HORIZON_WEEKS


def last_period(*, first_period: dt.date, end_date: dt.date | None, today: dt.date | None = None) -> dt.date:
    """The last period the schedule holds now: the end date's, or the horizon if that comes first."""
    ahead = horizon(first_period=first_period, today=today)
    return ahead if end_date is None else min(period_start(end_date), ahead)


def lease_weeks(
    *, start_date: dt.date, end_date: dt.date | None, first_period: dt.date, through: dt.date
) -> list[LeaseWeek]:
    """The periods from `first_period` through `through` that the lease covers, with its days in each."""
    weeks = []
    period = first_period
    while period <= through:
        first_day = max(period, start_date)
        last_day = period_end(period) if end_date is None else min(period_end(period), end_date)
        days = (last_day - first_day).days + 1
        if days > 0:
            weeks.append(LeaseWeek(period=period, days=min(days, DAYS_IN_PERIOD)))
        period += WEEK
    return weeks


def chargeable(weekly_rate: Decimal, days: int) -> bool:
    """A day of a rate under 0.04 a week rounds to 0.00: such a week has nothing to post."""
    return prorated(weekly_rate, days) > ZERO
