"""Misc charges, credits and deposits as a state machine (hypothesis `RuleBasedStateMachine`).

Days pass; charges are posted; misc charges and credits are entered and reversed; deposits are
agreed (at once or in installments), posted by the Sunday job, paid by earnings and cashiers,
released early by a Controller or by the daily job after the lease ends; payments are voided.
After every step:

- `check_ledger` passes (no balance or receipt negative at any date; receipts add up);
- what a deposit holds is never negative, equals what was paid on its charges still standing,
  and is 0 once released; a released deposit's charges are all reversed exactly once;
- a credit to a driver never leaves an open non-TAXES balance due by its day on its lease while it
  still had money to spend when it was entered (checked at entry).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from batpay.errors import DomainError
from batpay.models import AuditEvent
from batpay.periods import period_start
from charges import services as charges
from charges.models import MiscCharge, MiscChargeType, MiscCredit
from deposits import selectors
from deposits import services as deposits
from deposits.models import Deposit
from deposits.plan import DEPOSITS
from lease_schedules.services import lease_terminate
from leases.testing import START
from ledger import services as ledger
from ledger.invariants import violations
from ledger.models import Category, ObligationBalance, Posting, Receipt
from plans.services import post_due_installments

CLOCK = {"day": START}
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: D(c).scaleb(-2))
which = st.integers(min_value=0, max_value=10_000)
REASON = "Checked with the driver"


class DepositMachine(RuleBasedStateMachine):
    fleet: dict = {}

    @initialize(at_once=cents, weekly=cents, paid=cents, owed=cents)
    def begin(self, at_once, weekly, paid, owed):
        # Each example runs in a savepoint rolled back at its end, marked as a test case's own block
        # so that the services' durable transactions may run inside it.
        self.atomic = transaction.atomic()
        self.atomic._from_testcase = True
        self.atomic.__enter__()
        CLOCK["day"] = START + dt.timedelta(days=3)
        self.references = 0
        self.deposits_agreed(at_once, weekly, paid, owed)

    def deposits_agreed(self, at_once, weekly, paid, owed):
        """Every example starts with a deposit on each lease (one charged at once and partly paid by a
        cashier, one in weekly installments) and something else owed, so releases have money to move."""
        first, second = self.lease(0), self.lease(1)
        deposits.deposit_create(
            driver_id=first.primary_driver_id, lease_id=first.pk, deposit_amount=at_once, collection="AT_ONCE"
        )
        deposits.deposit_create(
            driver_id=second.primary_driver_id, lease_id=second.pk, deposit_amount=weekly * 3,
            collection="INSTALLMENTS", installment_count=3, start_week="CURRENT",
        )  # fmt: skip
        balance = ObligationBalance.objects.get(category=Category.DEPOSIT, lease=first)
        ledger.apply_interim_payment(
            driver=first.primary_driver, lease=first, amount=paid, method="CASH",
            allocations=[ledger.Allocation(balance.pk, min(paid, balance.outstanding))],
        )  # fmt: skip
        for lease in (first, second):
            ledger.create_obligation(
                category=Category.REPAIRS, amount=owed, source_reference=f"R-{lease.pk}",
                driver=lease.primary_driver, lease=lease,
            )  # fmt: skip

    def teardown(self):
        if getattr(self, "atomic", None) is not None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    @property
    def today(self) -> dt.date:
        return CLOCK["day"]

    def lease(self, n: int):
        leases = self.fleet["leases"]
        lease = leases[n % len(leases)]
        lease.refresh_from_db()
        return lease

    def pick(self, queryset, n: int):
        rows = list(queryset.order_by("pk"))
        return rows[n % len(rows)] if rows else None

    def attempt(self, operation):
        with contextlib.suppress(DomainError):
            return operation()
        return None

    # --- rules -------------------------------------------------------------------------------------

    @rule(days=st.integers(min_value=1, max_value=9))
    def days_pass(self, days):
        CLOCK["day"] = self.today + dt.timedelta(days=days)

    @rule(n=which, category=st.sampled_from([Category.LEASE, Category.REPAIRS, Category.TAXES]), amount=cents)
    def charge(self, n, category, amount):
        lease = self.lease(n)
        self.references += 1
        ledger.create_obligation(
            category=category,
            amount=amount,
            source_reference=f"C-{self.references}",
            driver=lease.primary_driver,
            lease=lease,
        )

    @rule(n=which, amount=cents)
    def misc_charge(self, n, amount):
        lease = self.lease(n)
        charges.misc_charge_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            charge_type_id=MiscChargeType.objects.order_by("pk").first().pk,
            amount=amount,
        )

    @rule(n=which)
    def reverse_misc_charge(self, n):
        charge = self.pick(MiscCharge.objects.filter(status="POSTED"), n)
        if charge:
            charges.misc_charge_reverse(misc_id=charge.misc_id, reason=REASON)

    @rule(n=which, amount=cents)
    def misc_credit(self, n, amount):
        lease = self.lease(n)
        credit = charges.misc_credit_create(
            driver_id=lease.primary_driver_id, lease_id=lease.pk, amount=amount, note="Goodwill"
        )
        if credit.receipt.unapplied > 0:
            # Money left over means nothing it could pay was left open.
            assert not ObligationBalance.objects.filter(
                lease=lease, driver_id=lease.primary_driver_id, status="OPEN",
                due_period__lte=period_start(self.today),
            ).exclude(category=Category.TAXES).exists()  # fmt: skip

    @rule(n=which)
    def reverse_misc_credit(self, n):
        credit = self.pick(MiscCredit.objects.filter(status="POSTED"), n)
        if credit:
            charges.misc_credit_reverse(credit_id=credit.credit_id, reason=REASON)

    @rule(n=which, amount=cents, count=st.integers(min_value=1, max_value=4))
    def agree_deposit(self, n, amount, count):
        lease = self.lease(n)
        self.attempt(
            lambda: deposits.deposit_create(
                driver_id=lease.primary_driver_id,
                lease_id=lease.pk,
                deposit_amount=amount,
                collection="AT_ONCE" if count == 1 else "INSTALLMENTS",
                installment_count=count,
                start_week="CURRENT",
            )
        )

    @rule()
    def sunday_posting(self):
        DEPOSITS.prepare_posting(period=period_start(self.today), actor=None)
        post_due_installments(source=DEPOSITS, period=period_start(self.today))

    @rule(n=which, amount=cents)
    def earnings(self, n, amount):
        lease = self.lease(n)
        week = period_start(self.today) - dt.timedelta(days=7)
        if week >= START:
            ledger.apply_earnings(driver=lease.primary_driver, lease=lease, period=week, amount=amount)

    @rule(n=which, amount=cents)
    def cashier_pays_a_deposit(self, n, amount):
        balance = self.pick(ObligationBalance.objects.filter(category=Category.DEPOSIT, status="OPEN"), n)
        if balance:
            ledger.apply_interim_payment(
                driver=balance.driver, lease=balance.lease, amount=amount, method="CASH",
                allocations=[ledger.Allocation(balance.pk, min(amount, balance.outstanding))],
            )  # fmt: skip

    @rule(n=which)
    def void_a_payment(self, n):
        posting = self.pick(Posting.objects.filter(entry_type="CREDIT", status="POSTED", reverses__isnull=True), n)
        if posting:
            self.attempt(lambda: ledger.void_posting(posting=posting, reason=REASON))

    @rule(n=which)
    def release_early(self, n):
        deposit = self.pick(Deposit.objects.filter(released_at__isnull=True), n)
        if deposit:
            deposits.deposit_release(deposit_id=deposit.deposit_id, reason=REASON)

    @rule(n=which)
    def lease_ends(self, n):
        lease = self.lease(n)
        if lease.status == "ACTIVE":
            self.attempt(
                lambda: lease_terminate(
                    actor=None, lease=lease, termination_date=self.today, reason="Driver left", cancellation_fee="75"
                )
            )

    @rule()
    def daily_release(self):
        deposits.release_due_deposits(today=self.today)

    # --- invariants --------------------------------------------------------------------------------

    @invariant()
    def ledger_holds(self):
        if getattr(self, "atomic", None) is None:
            return
        found = violations()
        assert not found, found

    @invariant()
    def deposits_hold_what_was_paid_and_are_released_once(self):
        if getattr(self, "atomic", None) is None:
            return
        rows = list(Deposit.objects.prefetch_related("installments"))
        selectors.attach_held(rows)
        for deposit in rows:
            assert deposit.deposit_held >= 0
            balance_ids = deposits.deposit_balance_ids(deposit)
            charge_reversed = Posting.objects.filter(entry_type="DEBIT", status="VOIDED", receipt__isnull=True)
            standing = ObligationBalance.objects.filter(pk__in=balance_ids).exclude(
                pk__in=charge_reversed.values("obligation_id")
            )
            assert deposit.deposit_held == sum((b.original_amount - b.outstanding for b in standing), D("0"))
            releases = AuditEvent.objects.filter(action="deposits.release", object_id=deposit.deposit_id).count()
            assert releases == (1 if deposit.released_at else 0)
            if deposit.released_at:
                assert deposit.deposit_held == 0
                assert not standing.exists()
        for receipt in Receipt.objects.filter(kind="DRIVER_CREDIT"):
            assert 0 <= receipt.unapplied <= receipt.amount


def run_machine(*, examples: int, fleet_factory, monkeypatch, settings_) -> None:
    real = timezone.localdate

    def localdate(value=None, timezone=None):
        return real(value, timezone) if value is not None else CLOCK["day"]

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)
    settings_.DEPOSIT_HOLD_DAYS = 5
    driver = fleet_factory.driver()
    DepositMachine.fleet = {"leases": [fleet_factory.lease(driver=driver), fleet_factory.lease(driver=driver)]}
    run_state_machine_as_test(
        DepositMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )


def test_misc_and_deposit_state_machine(fleet, monkeypatch, settings):
    run_machine(examples=10, fleet_factory=fleet, monkeypatch=monkeypatch, settings_=settings)


@pytest.mark.slow
def test_misc_and_deposit_state_machine_long(fleet, monkeypatch, settings):
    run_machine(examples=400, fleet_factory=fleet, monkeypatch=monkeypatch, settings_=settings)
