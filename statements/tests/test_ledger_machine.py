"""The ledger and the weekly close as a state machine (hypothesis `RuleBasedStateMachine`).

Days pass; charges of every category are posted for past, current and next weeks (late ones
too); trips come in; weeks are closed and their DTRs issued, on time or late; cashiers take
payments with allocations, backdated or not; prepayments come in; payments and charges are voided;
leases are terminated with a fee and their weeks posted; Controllers apply or refund credit.
After every step:

- `check_ledger` passes (invariant 5 included: no balance or receipt is negative as of any date);
- for every driver, lease and category, the outstanding as of every date is ≥ 0;
- while a lease and driver have credit, none of their LEASE balances is open;
- every issued DTR has prior + charges − paid = carried forward in every category, and equals a
  fresh read of its week;
- Σ receipts = Σ applied + Σ unapplied + Σ refunded.

`make test` runs 100 examples; `-m slow` runs 5,000 (docs/rules.md gives the timings).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from batpay.errors import DomainError
from batpay.periods import period_end, period_start
from lease_schedules.services import LEASES, lease_terminate
from leases.testing import START
from ledger import services
from ledger.invariants import violations
from ledger.models import Category, ObligationBalance, Posting, Receipt
from plans.services import post_due_installments
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport, EarningsClose
from statements.snapshots import build_snapshots
from statements.tests.trip_files import import_lines, trip

CLOCK = {"day": START}
CHARGED = [c for c in Category.values if c != Category.TAXES]
FIGURES = ("categories", "totals", "card_earnings", "subtotal_of_deductions", "net", "earnings_returned")
cents = st.integers(min_value=1, max_value=60_000).map(lambda c: D(c).scaleb(-2))
which = st.integers(min_value=0, max_value=10_000)


class LedgerMachine(RuleBasedStateMachine):
    fleet: dict = {}

    @initialize()
    def begin(self):
        # Each example runs in a savepoint rolled back at its end. It is marked as a test case's
        # own block (as django.test.TestCase marks its atomics) so that the close's durable
        # transactions may run inside it.
        self.atomic = transaction.atomic()
        self.atomic._from_testcase = True
        self.atomic.__enter__()
        CLOCK["day"] = START
        self.references = 0
        self.trips = 0

    def teardown(self):
        if getattr(self, "atomic", None) is not None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------

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

    def next_unclosed(self) -> dt.date:
        closed = EarningsClose.objects.order_by("-period").values_list("period", flat=True).first()
        return closed + dt.timedelta(days=7) if closed else START

    def attempt(self, operation) -> None:
        # A refusal is fine: the services write nothing then (their own transactions roll back).
        with contextlib.suppress(DomainError):
            operation()

    # --- what happens in a week ----------------------------------------------------------------

    @rule(days=st.integers(min_value=1, max_value=7))
    def days_pass(self, days):
        CLOCK["day"] = self.today + dt.timedelta(days=days)

    @rule(n=which, category=st.sampled_from(CHARGED), amount=cents, weeks=st.integers(min_value=-3, max_value=1))
    def charge(self, n, category, amount, weeks):
        lease = self.lease(n)
        period = max(START, period_start(self.today) + dt.timedelta(weeks=weeks))
        self.references += 1
        self.attempt(
            lambda: services.create_obligation(
                category=category,
                amount=amount,
                source_reference=f"M-{self.references}",
                driver=lease.primary_driver,
                lease=lease,
                period=period,
            )
        )

    @rule(n=which, fares=st.lists(st.integers(min_value=5, max_value=400), min_size=1, max_size=3), card=st.booleans())
    def trips_come_in(self, n, fares, card):
        lease = self.lease(n)
        week = self.next_unclosed()
        start = dt.datetime.combine(max(week, min(self.today, period_end(week))), dt.time(9, 0))
        lines = []
        for fare in fares:
            self.trips += 1
            lines.append(
                trip(
                    f"MT-{self.trips}",
                    lease.primary_driver,
                    lease.medallion,
                    start + dt.timedelta(minutes=30 * self.trips),
                    fare=f"{fare}.00",
                    payment_type="CARD" if card else "CASH",
                )
            )
        import_lines(lines)

    @rule(late=st.integers(min_value=0, max_value=3))
    def close_the_next_week(self, late):
        """The next week is closed and its DTRs issued: on the Sunday after it, or `late` days later
        (the clock moves on to that day if it is not there yet)."""
        period = self.next_unclosed()
        CLOCK["day"] = max(self.today, period_end(period) + dt.timedelta(days=1 + late))
        close_earnings(period=period)
        generate_dtrs(period=period, render=False)

    @rule()
    def sunday_posting_of_lease_installments(self):
        period = period_start(self.today) - dt.timedelta(days=7)
        if period >= START:
            post_due_installments(source=LEASES, period=period)

    @rule(
        n=which, amount=cents, picks=st.lists(st.tuples(which, st.integers(1, 100)), max_size=2), back=st.integers(0, 9)
    )
    def cashier_payment(self, n, amount, picks, back):
        lease = self.lease(n)
        open_balances = list(
            ObligationBalance.objects.filter(lease=lease, driver=lease.primary_driver, status="OPEN")
            .exclude(category=Category.TAXES)
            .order_by("pk")
        )
        allocations, seen = [], set()
        for pick, percent in picks:
            if open_balances:
                balance = open_balances[pick % len(open_balances)]
                if balance.pk not in seen:
                    seen.add(balance.pk)
                    share = max(D("0.01"), (balance.outstanding * percent / 100).quantize(D("0.01")))
                    allocations.append(services.Allocation(balance.pk, share))
        total = max(amount, sum((a.amount for a in allocations), D("0")))
        self.attempt(
            lambda: services.apply_interim_payment(
                driver=lease.primary_driver,
                lease=lease,
                amount=total,
                method="CASH",
                allocations=allocations,
                received_on=max(START, self.today - dt.timedelta(days=back)),
            )
        )

    @rule(n=which, amount=cents, back=st.integers(0, 9))
    def prepayment(self, n, amount, back):
        lease = self.lease(n)
        self.attempt(
            lambda: services.record_prepayment(
                driver=lease.primary_driver,
                lease=lease,
                amount=amount,
                method="CHECK",
                received_on=max(START, self.today - dt.timedelta(days=back)),
            )
        )

    def _void(self, postings, n):
        target = self.pick(postings.filter(status="POSTED", reverses__isnull=True, obligation__isnull=False), n)
        if target is not None:
            self.attempt(lambda: services.void_posting(posting=target, reason="Corrected by the state machine"))

    @rule(n=which)
    def void_a_payment(self, n):
        self._void(Posting.objects.filter(receipt__isnull=False), n)

    @rule(n=which)
    def void_a_charge(self, n):
        self._void(Posting.objects.filter(receipt__isnull=True), n)

    @rule(n=which, back=st.integers(0, 4), fee=st.one_of(st.none(), cents))
    def terminate(self, n, back, fee):
        lease = self.lease(n)
        if lease.status != "ACTIVE":
            return
        day = max(lease.start_date, self.today - dt.timedelta(days=back))
        self.attempt(
            lambda: lease_terminate(
                actor=self.fleet["actor"], lease=lease, termination_date=day, reason="Ended early", cancellation_fee=fee
            )
        )

    @rule(r=which, b=which, part=st.booleans())
    def controller_applies_credit(self, r, b, part):
        receipt = self.pick(Receipt.objects.exclude(kind="EARNINGS").filter(unapplied__gt=0), r)
        if receipt is None:
            return
        balance = self.pick(
            ObligationBalance.objects.filter(driver_id=receipt.driver_id, status="OPEN").exclude(category="TAXES"), b
        )
        if balance is not None:
            amount = D("0.01") if part else None
            self.attempt(
                lambda: services.apply_credit(
                    receipt_id=receipt.pk, balance_id=balance.pk, amount=amount, reason="Credit of an ended lease"
                )
            )

    @rule(r=which)
    def controller_refunds_credit(self, r):
        receipt = self.pick(Receipt.objects.exclude(kind="EARNINGS").filter(unapplied__gt=0), r)
        if receipt is not None:
            self.attempt(
                lambda: services.refund_credit(
                    receipt_id=receipt.pk, method="CHECK", reference=f"CHK-{receipt.pk}", reason="Driver left us"
                )
            )

    # --- what must always hold -----------------------------------------------------------------

    @invariant()
    def the_books_hold(self):
        if getattr(self, "atomic", None) is None:
            return
        assert violations() == []
        with connection.cursor() as cursor:
            # Every driver, lease and category, as of every date a posting changes it.
            cursor.execute(
                """
                SELECT driver_id, lease_id, category, effective_date, as_of FROM (
                    SELECT driver_id, lease_id, category, effective_date,
                           SUM(SUM(CASE entry_type WHEN 'DEBIT' THEN amount ELSE -amount END))
                               OVER (PARTITION BY driver_id, lease_id, category ORDER BY effective_date) AS as_of
                    FROM ledger_posting WHERE obligation_id IS NOT NULL
                    GROUP BY driver_id, lease_id, category, effective_date
                ) x WHERE as_of < 0
                """
            )
            assert cursor.fetchall() == []
            # Credit never waits while a LEASE balance of the same lease and driver is open.
            cursor.execute(
                """
                SELECT r.id FROM ledger_receipt r
                WHERE r.kind <> 'EARNINGS' AND r.unapplied > 0 AND EXISTS (
                    SELECT 1 FROM ledger_obligationbalance b WHERE b.lease_id = r.lease_id
                      AND b.driver_id = r.driver_id AND b.category = 'LEASE' AND b.status = 'OPEN')
                """
            )
            assert cursor.fetchall() == []
            # Σ receipts = Σ applied + Σ unapplied + Σ refunded.
            cursor.execute(
                """
                SELECT (SELECT COALESCE(SUM(amount), 0) FROM ledger_receipt),
                       (SELECT COALESCE(SUM(CASE entry_type WHEN 'CREDIT' THEN amount ELSE -amount END), 0)
                        FROM ledger_posting WHERE receipt_id IS NOT NULL),
                       (SELECT COALESCE(SUM(unapplied), 0) FROM ledger_receipt),
                       (SELECT COALESCE(SUM(amount), 0) FROM ledger_refund)
                """
            )
            received, applied, unapplied, refunded = cursor.fetchone()
            assert received == applied + unapplied + refunded
        by_period: dict[dt.date, dict[int, dict]] = {}
        for report in DriverTransactionReport.objects.filter(status="ISSUED"):
            by_period.setdefault(report.period, {})[report.lease_id] = report.snapshot
        for period, issued in by_period.items():
            fresh = build_snapshots(period=period, lease_ids=list(issued))
            for lease_id, snapshot in issued.items():
                for category in snapshot["categories"]:
                    prior, charges, paid, carried = (
                        D(category[k]) for k in ("prior_balance", "charges", "paid", "balance_carried_forward")
                    )
                    assert prior + charges - paid == carried
                    for line in category["lines"]:
                        assert D(line["balance_carried_forward"]) >= 0, (period, line)
                assert {k: snapshot[k] for k in FIGURES} == {k: fresh[lease_id][k] for k in FIGURES}, period


def run_machine(*, examples: int, fleet_factory, actor, monkeypatch) -> None:
    real = timezone.localdate

    def localdate(value=None, timezone=None):
        return real(value, timezone) if value is not None else CLOCK["day"]

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)
    driver = fleet_factory.driver()
    LedgerMachine.fleet = {
        "actor": actor,
        "leases": [
            fleet_factory.lease(driver=driver),
            fleet_factory.lease(driver=driver),
            fleet_factory.lease(),
        ],
    }
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )


def test_ledger_and_weekly_close_state_machine(fleet, finance, monkeypatch):
    run_machine(examples=100, fleet_factory=fleet, actor=finance, monkeypatch=monkeypatch)


@pytest.mark.slow
def test_ledger_and_weekly_close_state_machine_long(fleet, finance, monkeypatch):
    run_machine(examples=5000, fleet_factory=fleet, actor=finance, monkeypatch=monkeypatch)
