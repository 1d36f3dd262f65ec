"""Payout runs for tests that need one of each kind (the API sweeps, the fuzz): built through the
real services, like `leases.testing` builds the fleet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from leases.models import Driver
from ledger import services as ledger
from payouts import services
from payouts.models import PayoutRun
from statements.close import close_earnings

ROUTING = "021000021"


def payout_runs(*, fleet, approver, period: dt.date) -> tuple[PayoutRun, PayoutRun]:
    """An approved run of the week before `period` (an ACH payout and a check) and a prepared run of
    `period`, which must be closed already. Two new drivers earn 100.00 each that earlier week."""
    earlier = period - dt.timedelta(weeks=1)
    ach = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.ACH), start_date=earlier)
    check = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.CHECK), start_date=earlier)
    services.set_bank_account(
        driver=ach.primary_driver, routing_number=ROUTING, account_number="12345678", account_type="CHECKING"
    )
    for lease in (ach, check):
        ledger.apply_earnings(driver=lease.primary_driver, lease=lease, period=earlier, amount=Decimal("100.00"))
    close_earnings(period=earlier)
    approved, _ = services.prepare_run(period=earlier)
    approved = services.approve_run(run_id=approved.pk, actor=approver)
    prepared, _ = services.prepare_run(period=period)
    return approved, prepared
