import datetime as dt
import itertools
from decimal import Decimal

import pytest

from leases import services as fleet_services
from leases.models import Lease
from loans import services

# A Sunday safely in the past, whatever day the suite runs, and the Wednesday of its week.
P1 = dt.date(2025, 9, 28)
WEDNESDAY = dt.date(2025, 10, 1)


class Fleet:
    """Drivers on leases, made through the fleet's own services (loan tests only need valid rows)."""

    def __init__(self, actor):
        self.actor = actor
        self.n = itertools.count(1)

    def driver(self):
        n = next(self.n)
        return fleet_services.driver_create(
            actor=self.actor, first_name=f"Driver{n}", last_name="Loans", tlc_license_number=f"{6500000 + n}"
        )

    def lease(self, *, driver=None) -> Lease:
        n = next(self.n)
        vehicle = fleet_services.vehicle_create(
            actor=self.actor, vin=f"5YJ3E1EA{n:09d}", plate_number=f"L{n:06d}C", make="Toyota", model="RAV4", year=2024
        )
        medallion = fleet_services.medallion_create(actor=self.actor, number=f"{n % 9 + 1}L{n % 100:02d}")
        return fleet_services.lease_create(
            actor=self.actor,
            lease_type=Lease.Type.DOV,
            driver_id=(driver or self.driver()).pk,
            vehicle_id=vehicle.pk,
            medallion_id=medallion.pk,
            start_date=dt.date(2025, 9, 1),
            weekly_rate=Decimal("500.00"),
        )


@pytest.fixture
def finance(make_user):
    return make_user("Finance")


@pytest.fixture
def fleet(finance) -> Fleet:
    return Fleet(finance)


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
