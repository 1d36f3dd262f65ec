import datetime as dt
from decimal import Decimal

import pytest

from leases.models import Driver, Lease, Medallion, Vehicle


class Fleet:
    """Drivers on leases, made directly: ledger tests are about money, not fleet rules."""

    def __init__(self):
        self.n = 0

    def lease(self, *, driver: Driver | None = None, weekly_rate: str = "500.00") -> Lease:
        self.n += 1
        n = self.n
        driver = driver or Driver.objects.create(
            first_name=f"Driver{n}", last_name="Test", tlc_license_number=f"{5000000 + n}"
        )
        vehicle = Vehicle.objects.create(
            vin=f"1FMCU0F7{n:09d}", plate_number=f"T{n:06d}C", make="Toyota", model="Camry", year=2022
        )
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        medallion = Medallion.objects.create(number=f"{n // 100 % 10}{letters[n // 1000 % 23]}{n % 100:02d}")
        return Lease.objects.create(
            lease_number=f"L-{n:05d}",
            lease_type=Lease.Type.DOV,
            primary_driver=driver,
            vehicle=vehicle,
            medallion=medallion,
            start_date=dt.date(2025, 9, 1),
            weekly_rate=Decimal(weekly_rate),
        )


@pytest.fixture
def fleet(db) -> Fleet:
    return Fleet()
