import datetime as dt
from decimal import Decimal

import pytest

from leases.models import Driver, Lease, Medallion, Vehicle
from repairs import services

# A Sunday safely in the past, whatever day the suite runs.
P1 = dt.date(2025, 9, 28)


class Fleet:
    """Drivers on leases. Fleet rules are the leases app's; repair tests only need valid rows."""

    def __init__(self):
        self.n = 0

    def driver(self) -> Driver:
        self.n += 1
        return Driver.objects.create(
            first_name=f"Driver{self.n}", last_name="Repairs", tlc_license_number=f"{6000000 + self.n}"
        )

    def lease(self, *, driver: Driver | None = None) -> Lease:
        self.n += 1
        n = self.n
        vehicle = Vehicle.objects.create(
            vin=f"2T1BURHE{n:09d}", plate_number=f"R{n:06d}C", make="Toyota", model="Camry", year=2023
        )
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        medallion = Medallion.objects.create(number=f"{n // 100 % 10}{letters[n // 1000 % 23]}{n % 100:02d}")
        return Lease.objects.create(
            lease_number=f"RL-{n:05d}",
            lease_type=Lease.Type.DOV,
            primary_driver=driver or self.driver(),
            vehicle=vehicle,
            medallion=medallion,
            start_date=dt.date(2025, 9, 1),
            weekly_rate=Decimal("500.00"),
        )


@pytest.fixture
def fleet(db) -> Fleet:
    return Fleet()


@pytest.fixture
def finance(make_user):
    return make_user("Finance")


@pytest.fixture
def make_repair(fleet, finance):
    """make_repair(amount=…, confirm=True, start_week=P1, lease=…) through the real service."""
    counter = {"n": 0}

    def make(amount="1200.00", *, lease=None, confirm=True, start_week=P1, invoice_number=None, **extra):
        counter["n"] += 1
        lease = lease or fleet.lease()
        return services.repair_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            invoice_number=invoice_number or f"INV-{counter['n']:04d}",
            invoice_date=extra.pop("invoice_date", dt.date(2025, 9, 30)),
            workshop_type=extra.pop("workshop_type", "BIG_APPLE"),
            repair_description=extra.pop("repair_description", "Front bumper"),
            repair_amount=Decimal(amount),
            start_week=start_week,
            actor=finance,
            confirm=confirm,
            **extra,
        )

    return make
