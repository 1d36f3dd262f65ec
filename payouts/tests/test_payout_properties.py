"""Random weeks of charges, earnings, cashier credit, misc charges and credits to drivers, security
deposits (at once or in installments, released early by a Controller), terminations, payout runs, ACH
returns and voided checks (hypothesis). After every run is approved:

- nobody is paid more than they are owed: each payout is at least the minimum and takes all the
  driver's money due (none left due), per driver paid out + still due + credit held = received −
  applied − refunded, and credit of a lease in force is never paid out;
- nothing owed is left behind: no driver has money due beside an open balance due by the period
  that money may pay (TAXES only from earnings);
- a driver under the minimum keeps their money due for the next run;
- `check_ledger` passes.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from charges.models import MiscChargeType
from charges.services import misc_charge_create, misc_credit_create
from deposits.models import Deposit
from deposits.services import deposit_create, deposit_release
from lease_schedules.services import lease_terminate
from leases.models import Driver
from ledger import services as ledger
from ledger.due import due_by_driver
from ledger.invariants import violations
from ledger.models import Category, ObligationBalance, Posting, Receipt
from operations.jobs import run_posting_job
from payouts import services
from payouts.models import Payout
from payouts.tests.helpers import CHASE, at, close_week

FIRST = dt.date(2025, 9, 28)
cents = st.integers(min_value=1, max_value=40_000).map(lambda c: D(c).scaleb(-2))
driver = st.integers(min_value=0, max_value=2)
week = st.fixed_dictionaries(
    {
        "charges": st.lists(
            st.tuples(driver, st.sampled_from([Category.LEASE, Category.REPAIRS, Category.MISC]), cents), max_size=3
        ),
        "earnings": st.lists(st.tuples(driver, cents), max_size=3),
        "prepayment": st.none() | st.tuples(driver, cents),
        "misc_charge": st.none() | st.tuples(driver, cents),
        "misc_credit": st.none() | st.tuples(driver, cents),
        # A deposit (amount, installments: 1 = at once) for a driver whose lease has none yet.
        "deposit": st.none() | st.tuples(driver, cents, st.integers(min_value=1, max_value=3)),
        "release": st.none() | driver,
        "terminate": st.none() | driver,
        "undo_first_payout": st.booleans(),
    }
)


@pytest.fixture
def people(make_user):
    return make_user("Finance"), make_user("Controller")


@settings(max_examples=10, deadline=None)
@given(weeks=st.lists(week, min_size=1, max_size=3))
def test_random_weeks_pay_what_is_due_and_leave_nothing_owed(weeks, fleet, people, monkeypatch):
    _example(weeks, fleet, people, monkeypatch)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(weeks=st.lists(week, min_size=1, max_size=5))
def test_many_random_weeks_pay_what_is_due_and_leave_nothing_owed(weeks, fleet, people, monkeypatch):
    _example(weeks, fleet, people, monkeypatch)


def _example(weeks, fleet, people, monkeypatch):
    # Each example runs in a savepoint rolled back at its end, marked as a test case's own block so
    # the services' durable transactions may run inside it.
    atomic = transaction.atomic()
    atomic._from_testcase = True
    atomic.__enter__()
    try:
        _run(weeks, fleet, people, monkeypatch)
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


def _run(weeks, fleet, people, monkeypatch):
    maker, checker = people
    at(monkeypatch, FIRST + dt.timedelta(days=1))
    modes = [Driver.PayTo.ACH, Driver.PayTo.CHECK, Driver.PayTo.ACH]
    leases = [fleet.lease(driver=fleet.driver(pay_to_mode=mode), start_date=FIRST) for mode in modes]
    for lease in (leases[0], leases[2]):
        services.set_bank_account(
            driver=lease.primary_driver, routing_number=CHASE, account_number="12345678", account_type="CHECKING"
        )
    reference = 0
    last_run = None
    for number, plan in enumerate(weeks):
        period = FIRST + dt.timedelta(weeks=number)
        at(monkeypatch, period + dt.timedelta(days=2), 10)
        if plan["undo_first_payout"] and last_run is not None:
            first = last_run.payouts.order_by("pk").first()
            if first and first.method == Payout.Method.ACH:
                services.return_ach(trace_number=first.trace_number, return_code="R02")
            elif first:
                services.void_check(check_number=first.check_number, reason="Never cashed by the payee")
        for who, category, amount in plan["charges"]:
            reference += 1
            lease = leases[who]
            ledger.create_obligation(
                category=category,
                amount=amount,
                source_reference=f"H-{reference}",
                driver=lease.primary_driver,
                lease=lease,
                period=period,
            )
        if plan["misc_charge"]:
            who, amount = plan["misc_charge"]
            misc_charge_create(
                driver_id=leases[who].primary_driver_id,
                lease_id=leases[who].pk,
                charge_type_id=MiscChargeType.objects.order_by("pk").first().pk,
                amount=amount,
            )
        if plan["misc_credit"]:
            who, amount = plan["misc_credit"]
            misc_credit_create(
                driver_id=leases[who].primary_driver_id, lease_id=leases[who].pk, amount=amount, note="Goodwill"
            )
        if plan["deposit"] and not Deposit.objects.filter(lease=leases[plan["deposit"][0]]).exists():
            who, amount, count = plan["deposit"]
            if amount >= D("0.01") * count and leases[who].status == "ACTIVE":
                deposit_create(
                    driver_id=leases[who].primary_driver_id,
                    lease_id=leases[who].pk,
                    deposit_amount=amount,
                    collection="AT_ONCE" if count == 1 else "INSTALLMENTS",
                    installment_count=count if count > 1 else None,
                    start_week="CURRENT",
                )
        if plan["release"] is not None:
            deposit = Deposit.objects.filter(lease=leases[plan["release"]], released_at__isnull=True).first()
            if deposit is not None:
                deposit_release(deposit_id=deposit.deposit_id, reason="Released early by the Controller")
        run_posting_job(source="deposits", period=period)
        if plan["prepayment"]:
            who, amount = plan["prepayment"]
            lease = leases[who]
            ledger.record_prepayment(driver=lease.primary_driver, lease=lease, amount=amount, method="CASH")
        if plan["terminate"] is not None and leases[plan["terminate"]].status == "ACTIVE":
            leases[plan["terminate"]] = lease_terminate(
                actor=maker,
                lease=leases[plan["terminate"]],
                termination_date=period + dt.timedelta(days=2),
                reason="Driver left the fleet",
            )
        for who, amount in plan["earnings"]:
            lease = leases[who]
            if not Receipt.objects.filter(kind="EARNINGS", lease=lease, period=period).exists():
                ledger.apply_earnings(driver=lease.primary_driver, lease=lease, period=period, amount=amount)
        at(monkeypatch, period + dt.timedelta(days=7), 5)
        close_week(period)
        at(monkeypatch, period + dt.timedelta(days=7), 6)
        due_before = due_by_driver(until=period)
        run, created = services.prepare_run(period=period, actor=maker)
        assert created
        run = services.approve_run(run_id=run.pk, actor=checker)
        last_run = run
        _check(run, period, due_before)


def _check(run, period, due_before):
    minimum = run.minimum
    due_after = due_by_driver(until=period)
    paid = {p.driver_id: p.amount for p in run.payouts.all()}
    for driver_id, amount in paid.items():
        assert amount >= minimum
        assert driver_id not in due_after  # all of it paid
        assert amount <= due_before[driver_id]  # never more than was due (debts came first)
    for driver_id, amount in due_after.items():
        assert driver_id not in paid and 0 < amount < minimum  # carried, under the minimum
    assert run.total == sum(paid.values(), D(0))
    with connection.cursor() as cursor:
        # Credit of a lease in force is for its rent: never paid out.
        cursor.execute(
            """
            SELECT count(*) FROM ledger_posting p JOIN ledger_receipt r ON r.id = p.receipt_id
            JOIN leases_lease l ON l.id = r.lease_id
            WHERE p.category = 'PAYOUT' AND p.reverses_id IS NULL AND p.idempotency_key LIKE 'payout:p%%'
              AND r.kind IN ('INTERIM_PAYMENT', 'PREPAYMENT') AND l.status IN ('ACTIVE', 'SUSPENDED')
            """
        )
        assert cursor.fetchone()[0] == 0
    # Nothing owed is left behind: money due beside an open balance it may pay.
    for driver_id in due_after:
        open_balances = ObligationBalance.objects.filter(driver_id=driver_id, status="OPEN", due_period__lte=period)
        assert not open_balances.exclude(category=Category.TAXES).exists()
    # Per driver, money in = applied + paid out + still due + credit held + refunded (invariant 6).
    paid_out = {}
    for posting in Posting.objects.filter(category="PAYOUT"):
        sign = 1 if posting.entry_type == "CREDIT" else -1
        paid_out[posting.driver_id] = paid_out.get(posting.driver_id, D(0)) + sign * posting.amount
    assert all(amount >= 0 for amount in paid_out.values())
    assert violations() == []
