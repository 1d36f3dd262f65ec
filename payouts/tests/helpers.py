"""Shared steps of the payout scenarios: weeks closed the way the Sunday run closes them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from batpay.testing import set_clock
from ledger import services
from statements.close import close_earnings
from statements.dtr import generate_dtrs

# A real ABA routing number (check digit valid) and a second one.
CHASE = "021000021"
CITI = "021000089"


def at(monkeypatch, day: dt.date, hour: int = 6) -> None:
    """The clock at `hour` o'clock New York time on `day` (EST/EDT as that day has it)."""
    offset = "-04:00" if dt.date(day.year, 3, 8) <= day <= dt.date(day.year, 11, 1) else "-05:00"
    set_clock(monkeypatch, f"{day.isoformat()}T{hour:02d}:00:00{offset}")


def charge(lease, category, amount, ref, period, driver=None):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=driver or lease.primary_driver,
        lease=lease,
        period=period,
    )


def earn(lease, period, amount, driver=None):
    """The week's card earnings, as the close books them (effective the week's Saturday)."""
    return services.apply_earnings(driver=driver or lease.primary_driver, lease=lease, period=period, amount=D(amount))


def close_week(period):
    close_earnings(period=period)
    generate_dtrs(period=period, render=False)
