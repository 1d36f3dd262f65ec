"""The interest rule of SPEC §4 on its own: pure functions, no database."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batpay.errors import InvalidInput
from batpay.periods import period_end
from loans.interest import first_period_days, installment_interest, loan_schedule

from .conftest import P1, WEDNESDAY


def rows(schedule):
    return [
        (
            item.sequence,
            item.period_start,
            item.extra["interest_days"],
            item.extra["principal_amount"],
            item.extra["interest_amount"],
            item.amount,
        )
        for item in schedule
    ]


def test_the_worked_example_of_the_spec():
    # 1,200.00 at 10 % dated Wednesday 2025-10-01, start CURRENT (the week of Sunday 2025-09-28).
    assert first_period_days(loan_date=WEDNESDAY, start_week=P1) == 4  # Wed, Thu, Fri, Sat
    first = loan_schedule(loan_amount=D("1200.00"), interest_rate=D("10"), loan_date=WEDNESDAY, start_week=P1)[0]
    assert first.extra == {"principal_amount": D("250.00"), "interest_amount": D("1.32"), "interest_days": 4}
    assert first.amount == D("251.32")


def test_a_whole_schedule_to_the_cent():
    schedule = loan_schedule(loan_amount=D("1200.00"), interest_rate=D("10"), loan_date=WEDNESDAY, start_week=P1)
    week = dt.timedelta(days=7)
    assert rows(schedule) == [
        # k, week,        d_k, principal,      interest = outstanding × 10 % × d_k/365,  total due
        (1, P1, 4, D("250.00"), D("1.32"), D("251.32")),  # 1,200 × 0.1 × 4/365 = 1.3150…
        (2, P1 + week, 7, D("250.00"), D("1.82"), D("251.82")),  # 950 × 0.1 × 7/365 = 1.8219…
        (3, P1 + 2 * week, 7, D("250.00"), D("1.34"), D("251.34")),  # 700 × 0.1 × 7/365 = 1.3424…
        (4, P1 + 3 * week, 7, D("250.00"), D("0.86"), D("250.86")),  # 450 × 0.1 × 7/365 = 0.8630…
        (5, P1 + 4 * week, 7, D("200.00"), D("0.38"), D("200.38")),  # 200 × 0.1 × 7/365 = 0.3835…
    ]
    assert [item.period_end for item in schedule] == [period_end(item.period_start) for item in schedule]
    assert sum(item.extra["interest_amount"] for item in schedule) == D("5.72")
    assert sum(item.amount for item in schedule) == D("1205.72")


def test_a_later_start_charges_the_first_installment_for_every_day_since_the_loan():
    # Start NEXT for a loan of Wednesday: Wed 10-01 … Sat 10-11 is 11 days.
    schedule = loan_schedule(
        loan_amount=D("3500.00"), interest_rate=D("19.99"), loan_date=WEDNESDAY, start_week=P1 + dt.timedelta(days=7)
    )
    assert [item.extra["interest_days"] for item in schedule] == [11] + [7] * 11
    assert [item.extra["principal_amount"] for item in schedule] == [D("300.00")] * 11 + [D("200.00")]
    # 3,500 × 19.99 % × 11/365 = 21.0852…; last week: 200 × 19.99 % × 7/365 = 0.7667…
    assert schedule[0].extra["interest_amount"] == D("21.09")
    assert schedule[-1].extra["interest_amount"] == D("0.77")


def test_a_loan_on_the_last_day_of_the_first_period_has_one_day_and_half_cents_round_up():
    saturday = period_end(P1)
    # 182.50 × 1 % × 1/365 = 0.005 exactly: half-up makes it a cent (banker's rounding would make it 0.00).
    only = loan_schedule(loan_amount=D("182.50"), interest_rate=D("1"), loan_date=saturday, start_week=P1)
    assert rows(only) == [(1, P1, 1, D("182.50"), D("0.01"), D("182.51"))]
    assert installment_interest(outstanding=D("182.49"), rate=D("1"), days=1) == D("0.00")


def test_zero_rate_loans_charge_the_principal_only():
    schedule = loan_schedule(loan_amount=D("450.00"), interest_rate=D("0"), loan_date=WEDNESDAY, start_week=P1)
    assert [(item.extra["principal_amount"], item.extra["interest_amount"], item.amount) for item in schedule] == [
        (D("100.00"), D("0.00"), D("100.00")),
        (D("100.00"), D("0.00"), D("100.00")),
        (D("100.00"), D("0.00"), D("100.00")),
        (D("100.00"), D("0.00"), D("100.00")),
        (D("50.00"), D("0.00"), D("50.00")),
    ]


def test_a_loan_date_after_the_first_period_is_refused_naming_it():
    with pytest.raises(InvalidInput) as caught:
        loan_schedule(loan_amount=D("500.00"), interest_rate=D("5"), loan_date=P1 + dt.timedelta(days=7), start_week=P1)
    assert list(caught.value.fields) == ["loan_date"]


def oracle(outstanding: Decimal, rate: Decimal, days: int) -> Decimal:
    """The rule in exact rational arithmetic, rounded half-up: an independent check of the Decimal code."""
    exact = Fraction(outstanding) * Fraction(rate) / 100 * days / 365
    cents = exact * 100
    whole = int(cents)  # the values are never negative
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return (Decimal(whole) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


amounts = st.decimals(min_value=D("0.01"), max_value=D("150000.00"), places=2)
rates = st.decimals(min_value=D("0"), max_value=D("20"), places=2)
loan_dates = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31))


@given(amount=amounts, rate=rates, loan_date=loan_dates, weeks_later=st.integers(min_value=0, max_value=8))
def test_every_schedule_keeps_the_rule(amount, rate, loan_date, weeks_later):
    start = loan_date - dt.timedelta(days=(loan_date.weekday() + 1) % 7) + dt.timedelta(days=7 * weeks_later)
    schedule = loan_schedule(loan_amount=amount, interest_rate=rate, loan_date=loan_date, start_week=start)

    assert sum(item.extra["principal_amount"] for item in schedule) == amount
    outstanding = amount
    for item in schedule:
        principal, interest = item.extra["principal_amount"], item.extra["interest_amount"]
        assert principal > 0
        assert interest >= 0
        assert item.amount == principal + interest
        days = (period_end(start) - loan_date).days + 1 if item.sequence == 1 else 7
        assert item.extra["interest_days"] == days
        assert interest == oracle(outstanding, rate, days)
        outstanding -= principal
    assert outstanding == 0
    if rate == 0:
        assert all(item.amount == item.extra["principal_amount"] for item in schedule)
