"""Loan interest days across a change of the clock: days are calendar days, not 24-hour blocks."""

import datetime as dt
from decimal import Decimal

import pytest

from batpay.periods import WEEK
from batpay.testing import FALL_BACK, SPRING_FORWARD, set_clock
from loans.interest import first_period_days, loan_schedule


@pytest.mark.parametrize(
    ("loan_date", "start_week", "days"),
    [
        (SPRING_FORWARD, SPRING_FORWARD, 7),  # the whole 167-hour week
        (SPRING_FORWARD - dt.timedelta(days=1), SPRING_FORWARD - WEEK, 1),
        (SPRING_FORWARD - dt.timedelta(days=1), SPRING_FORWARD, 8),  # the Saturday before, and the change week
        (FALL_BACK, FALL_BACK, 7),  # the whole 169-hour week
        (FALL_BACK + dt.timedelta(days=3), FALL_BACK, 4),
    ],
)
def test_the_first_periods_interest_days_are_calendar_days(loan_date, start_week, days):
    assert first_period_days(loan_date=loan_date, start_week=start_week) == days
    first = loan_schedule(
        loan_amount=Decimal("3650.00"), interest_rate=Decimal("10"), loan_date=loan_date, start_week=start_week
    )[0]
    # 3,650 × 10 % / 365 = 1.00 a day.
    assert (first.extra["interest_days"], first.extra["interest_amount"]) == (days, Decimal(days))


def test_a_loan_entered_at_0130_on_the_change_sunday_is_dated_that_sunday(make_loan, monkeypatch):
    set_clock(monkeypatch, "2025-11-02T01:30:00-05:00")  # 06:30 UTC; the first 01:30 was an hour ago

    loan = make_loan("3650.00", rate="10", loan_date=None, start_week="CURRENT")

    assert (loan.loan_date, loan.start_week) == (FALL_BACK, FALL_BACK)
    first = loan.installments.get(sequence=1)
    assert (first.period_start, first.interest_days, first.interest_amount) == (FALL_BACK, 7, Decimal("7.00"))


def test_a_loan_entered_late_on_the_saturday_before_is_dated_that_saturday(make_loan, monkeypatch):
    set_clock(monkeypatch, "2026-03-08T04:30:00+00:00")  # 23:30 EST on Saturday 2026-03-07

    loan = make_loan("3650.00", rate="10", loan_date=None, start_week="CURRENT")

    assert (loan.loan_date, loan.start_week) == (SPRING_FORWARD - dt.timedelta(days=1), SPRING_FORWARD - WEEK)
    assert loan.installments.get(sequence=1).interest_days == 1
