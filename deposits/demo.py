"""Demo security deposits for `manage.py seed_demo`: every lease gets one, most in installments."""

from decimal import Decimal

from deposits.services import deposit_create


def seed_demo_deposits(*, leases, actor=None) -> int:
    """A 500.00 deposit in 4 weekly installments from next week on most leases, 300.00 at once on
    every third; returns how many were agreed."""
    for n, lease in enumerate(leases):
        at_once = n % 3 == 0
        deposit_create(
            driver_id=lease.primary_driver_id, lease_id=lease.pk,
            deposit_amount=Decimal("300.00") if at_once else Decimal("500.00"),
            collection="AT_ONCE" if at_once else "INSTALLMENTS", installment_count=None if at_once else 4,
            start_week="NEXT", actor=actor,
        )  # fmt: skip
    return len(leases)
