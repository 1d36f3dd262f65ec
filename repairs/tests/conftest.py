import datetime as dt
from decimal import Decimal

import pytest

from repairs import services

# A Sunday safely in the past, whatever day the suite runs.
P1 = dt.date(2025, 9, 28)


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
