import datetime as dt
from decimal import Decimal

import pytest

from loans import services

# A Sunday safely in the past, whatever day the suite runs, and the Wednesday of its week.
P1 = dt.date(2025, 9, 28)
WEDNESDAY = dt.date(2025, 10, 1)


@pytest.fixture
def make_loan(fleet, finance):
    """make_loan(amount, rate=…, loan_date=…, start_week=…, lease=…, confirm=True) through the real service."""

    def make(
        amount="1200.00", *, rate="10", lease=None, confirm=True, loan_date=WEDNESDAY, start_week="CURRENT", **extra
    ):
        lease = lease or fleet.lease()
        return services.loan_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            loan_amount=Decimal(amount),
            interest_rate=None if rate is None else Decimal(rate),
            loan_date=loan_date,
            start_week=start_week,
            purpose=extra.pop("purpose", "Security deposit on an apartment"),
            actor=finance,
            confirm=confirm,
            **extra,
        )

    return make
