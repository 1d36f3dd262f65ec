"""A payment's date is "today (New York)" at the moment it is recorded, on change weekends too."""

import datetime as dt
from decimal import Decimal

import pytest

from batpay.errors import InvalidInput
from batpay.testing import FALL_BACK, SPRING_FORWARD, set_clock
from ledger import services


@pytest.mark.parametrize(
    ("now", "received_on", "period"),
    [
        ("2026-03-08T04:30:00+00:00", SPRING_FORWARD - dt.timedelta(days=1), SPRING_FORWARD - dt.timedelta(days=7)),
        ("2026-03-08T07:30:00+00:00", SPRING_FORWARD, SPRING_FORWARD),  # 03:30 EDT
        ("2025-11-02T03:30:00+00:00", FALL_BACK - dt.timedelta(days=1), FALL_BACK - dt.timedelta(days=7)),
        ("2025-11-02T06:30:00+00:00", FALL_BACK, FALL_BACK),  # the second 01:30
    ],
)
def test_a_payment_recorded_around_a_change_is_dated_and_booked_by_the_new_york_day(
    fleet, monkeypatch, now, received_on, period
):
    lease = fleet.lease()
    set_clock(monkeypatch, now)

    receipt = services.record_prepayment(
        driver=lease.primary_driver, lease=lease, amount=Decimal("50.00"), method="CASH", actor=fleet.actor
    )

    assert (receipt.received_on, receipt.period) == (received_on, period)
    with pytest.raises(InvalidInput) as refused:
        services.record_prepayment(
            driver=lease.primary_driver,
            lease=lease,
            amount=Decimal("50.00"),
            method="CASH",
            actor=fleet.actor,
            received_on=received_on + dt.timedelta(days=1),
        )
    assert refused.value.fields == {"received_on": ["Not in the future."]}
