"""The fleet factory every app's tests use: drivers, vehicles, medallions and leases built through
the real services, never by hand (so every lease has its schedule once lease_schedules is installed).

Its fixtures (`finance`, `fleet`) are registered for the whole suite by the root conftest."""

import datetime as dt
import itertools
from decimal import Decimal

from leases import services
from leases.models import Driver, Lease, Medallion, Vehicle

START = dt.date(2025, 9, 28)
# Distinct first names, so a search by one finds one driver.
FIRST_NAMES = (
    "Aminata",
    "Bilal",
    "Carmen",
    "Dmitri",
    "Esther",
    "Farid",
    "Gloria",
    "Hassan",
    "Ines",
    "Jamal",
    "Kofi",
    "Lucia",
    "Mamadou",
    "Nadia",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tenzin",
)


class FleetFactory:
    def __init__(self, actor) -> None:
        self.actor = actor
        self._n = itertools.count(1)

    def driver(self, **values) -> Driver:
        n = next(self._n)
        first = FIRST_NAMES[n % len(FIRST_NAMES)] + ("" if n < len(FIRST_NAMES) else str(n))
        values = {"first_name": first, "last_name": f"Testdriver{n}", "tlc_license_number": f"{5100000 + n}", **values}
        return services.driver_create(actor=self.actor, **values)

    def vehicle(self, **values) -> Vehicle:
        n = next(self._n)
        values = {
            "vin": f"4T1B11HK5JU{n:06d}",
            "plate_number": f"T{n:06d}C",
            "make": "Toyota",
            "model": "Camry Hybrid",
            "year": 2023,
            **values,
        }
        return services.vehicle_create(actor=self.actor, **values)

    def medallion(self, **values) -> Medallion:
        n = next(self._n)
        values = {"number": f"{n % 9 + 1}{'ABCDEFGHJK'[n // 900 % 10]}{n % 100:02d}", **values}
        return services.medallion_create(actor=self.actor, **values)

    def lease(self, *, driver: Driver | None = None, **values) -> Lease:
        if driver is not None:
            values["driver_id"] = driver.pk
        if "driver_id" not in values:
            values["driver_id"] = self.driver().pk
        if "vehicle_id" not in values:
            values["vehicle_id"] = self.vehicle().pk
        if "medallion_id" not in values:
            values["medallion_id"] = self.medallion().pk
        values = {"lease_type": Lease.Type.DOV, "start_date": START, "weekly_rate": Decimal("500.00"), **values}
        return services.lease_create(actor=self.actor, **values)
