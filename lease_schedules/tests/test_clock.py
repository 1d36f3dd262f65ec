"""Lease weeks across a change of the clock: a week is seven calendar days (167 or 169 hours when
the clock changes in it), and a partial week is prorated by calendar days, not 24-hour blocks."""

import datetime as dt
from decimal import Decimal

from batpay.periods import WEEK
from batpay.testing import FALL_BACK, SPRING_FORWARD, set_clock
from lease_schedules.models import LeaseInstallment
from lease_schedules.plan import lease_weeks
from lease_schedules.services import lease_terminate


def schedule_of(lease) -> list[tuple]:
    return list(
        LeaseInstallment.objects.filter(plan__lease=lease)
        .exclude(status="CANCELLED")
        .order_by("period_start")
        .values_list("period_start", "days", "amount")
    )


def test_a_lease_around_the_march_change_is_charged_by_calendar_days(fleet, monkeypatch):
    set_clock(monkeypatch, "2026-03-08T01:30:00-05:00")  # entered on the change Sunday, before the change
    # From the Saturday before the change through the Wednesday after: 1 day, then 4 (Sun–Wed).
    lease = fleet.lease(
        start_date=SPRING_FORWARD - dt.timedelta(days=1),
        end_date=SPRING_FORWARD + dt.timedelta(days=3),
        weekly_rate=Decimal("700.00"),
    )

    assert schedule_of(lease) == [
        (SPRING_FORWARD - WEEK, 1, Decimal("100.00")),
        (SPRING_FORWARD, 4, Decimal("400.00")),
    ]


def test_a_whole_change_week_is_the_weekly_rate_and_a_termination_on_the_change_sunday_is_one_day(fleet, monkeypatch):
    set_clock(monkeypatch, "2025-11-02T01:30:00-05:00")  # the second 01:30
    lease = fleet.lease(start_date=FALL_BACK - WEEK, weekly_rate=Decimal("700.00"))
    assert schedule_of(lease)[:3] == [
        (FALL_BACK - WEEK, 7, Decimal("700.00")),
        (FALL_BACK, 7, Decimal("700.00")),  # 169 hours, seven days
        (FALL_BACK + WEEK, 7, Decimal("700.00")),
    ]

    lease_terminate(actor=fleet.actor, lease=lease, termination_date=FALL_BACK, reason="Car returned on Sunday")

    assert schedule_of(lease) == [(FALL_BACK - WEEK, 7, Decimal("700.00")), (FALL_BACK, 1, Decimal("100.00"))]


def test_the_weeks_a_lease_covers_count_calendar_days_in_both_change_weeks():
    for change in (SPRING_FORWARD, FALL_BACK):
        weeks = lease_weeks(
            start_date=change + dt.timedelta(days=2), end_date=change + WEEK, first_period=change, through=change + WEEK
        )
        assert [(week.period, week.days) for week in weeks] == [(change, 5), (change + WEEK, 1)]
