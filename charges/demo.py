"""Demo misc charges and credits for `manage.py seed_demo`: a few of each on the first leases."""

from decimal import Decimal

from charges.models import MiscChargeType
from charges.services import misc_charge_create, misc_credit_create

CHARGES = (("Cleaning", Decimal("75.00"), "Vomit cleanup after a night shift"), ("Lost key", Decimal("120.00"), ""))


def seed_demo_charges(*, leases, actor=None) -> int:
    """One charge on each of the first leases (types in turn) and a goodwill credit on every fifth;
    returns how many were entered."""
    types = {t.name: t.pk for t in MiscChargeType.objects.all()}
    entered = 0
    for n, lease in enumerate(leases[:10]):
        name, amount, note = CHARGES[n % len(CHARGES)]
        misc_charge_create(
            driver_id=lease.primary_driver_id, lease_id=lease.pk, charge_type_id=types[name], amount=amount,
            note=note, actor=actor,
        )  # fmt: skip
        entered += 1
        if n % 5 == 0:
            misc_credit_create(
                driver_id=lease.primary_driver_id, lease_id=lease.pk, amount=Decimal("50.00"),
                note="Goodwill: meter out of order for a day", actor=actor,
            )  # fmt: skip
            entered += 1
    return entered
