"""The interest rule of a driver loan (SPEC §4), as pure functions: no database, no clock.

Simple interest on the scheduled outstanding principal:

    interest_k = outstanding principal before installment k × rate/100 × d_k / 365, half-up to the cent
    d_1 = days from the loan date through the end of the first installment's period, both inclusive
    d_k = 7 for every later installment

The principal is split by the same repayment matrix as every plan; installment k's total due is
its principal plus its interest, and that total is what is posted to the ledger.
Worked example: 1,200.00 at 10 % dated Wednesday 2025-10-01, first period 2025-09-28 … 10-04:
d_1 = 4, interest 1,200 × 0.10 × 4/365 = 1.3150… → 1.32.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, localcontext

from batpay.errors import InvalidInput
from batpay.money import to_money
from batpay.periods import WEEK, period_end
from plans.matrix import split_amount
from plans.schedule import ScheduledInstallment, build_schedule

DAYS_IN_YEAR = 365


def first_period_days(*, loan_date: dt.date, start_week: dt.date) -> int:
    """d_1: the loan date through the first period's Saturday, both days counted."""
    return (period_end(start_week) - loan_date).days + 1


def installment_interest(*, outstanding: Decimal, rate: Decimal, days: int) -> Decimal:
    """outstanding × rate/100 × days/365, rounded half-up to the cent once.

    The product is exact; the one division is carried to 50 digits, far beyond any cent a
    numeric(12,2) amount can reach, so the half-up rounding sees the true value.
    """
    with localcontext() as context:
        context.prec = 50
        return to_money(outstanding * rate * days / Decimal(100 * DAYS_IN_YEAR))


def check_loan_date(*, loan_date: dt.date, start_week: dt.date) -> None:
    """A loan must exist by the end of its first installment's period: d_1 is at least one day."""
    if (loan_date - start_week).days > 6:  # after the Saturday (no date arithmetic near the calendar's end)
        last_day = period_end(start_week)
        raise InvalidInput(
            f"loan_date {loan_date.isoformat()} is after the first installment's period "
            f"({start_week.isoformat()} … {last_day.isoformat()}): choose a later start week or an earlier date.",
            fields={"loan_date": f"After the first period's end ({last_day.isoformat()})."},
        )


def loan_schedule(
    *, loan_amount: Decimal, interest_rate: Decimal, loan_date: dt.date, start_week: dt.date
) -> list[ScheduledInstallment]:
    """The whole schedule: the matrix split of the principal over consecutive weeks from `start_week`,
    each installment with its interest; `amount` is the total due, `extra` the loan's own columns.

    Refusals are InvalidInput naming the field: a loan date after the first period's end
    (`loan_date`), more weekly installments than a plan may have (`loan_amount`).
    """
    principals = split_amount(loan_amount, field="loan_amount")
    weeks = build_schedule(principals, start=start_week, field="loan_amount")
    check_loan_date(loan_date=loan_date, start_week=start_week)
    outstanding = to_money(loan_amount)
    schedule = []
    for week in weeks:
        days = first_period_days(loan_date=loan_date, start_week=start_week) if week.sequence == 1 else WEEK.days
        interest = installment_interest(outstanding=outstanding, rate=interest_rate, days=days)
        schedule.append(
            dataclasses.replace(
                week,
                amount=week.amount + interest,
                extra={"principal_amount": week.amount, "interest_amount": interest, "interest_days": days},
            )
        )
        outstanding -= week.amount
    return schedule
