"""Issue 14's two weeks for a small fleet, everything together: weekly closes, a misc charge and a misc
credit, a deposit collected in installments and released after the lease is terminated, payout runs with
maker-checker, one ACH return and one voided check — every amount asserted, the NACHA files read back.

Ana (ACH, lease A at 300.00 a week, a 200.00 deposit in two weekly installments) and Ben (check, lease B
at 300.00). Deposits are held 7 days after a lease ends here (the setting; 30 by default).

- P1 (09-28 … 10-04). Ben is charged 50.00 for cleaning, then given a 40.00 goodwill credit, which pays
  his open rent at once. Earnings: Ana 1,000.00, Ben 500.00. Run 1 (for P1) pays Ana 600.00 by ACH and
  Ben 190.00 by check #100001.
- P2. Ana's ACH comes back R01, Ben's check is voided: both amounts are due again. Ana earns 250.00 and
  her lease is terminated on Saturday 10-11; Ben earns 400.00. Run 2 first pays what Ana still owes from
  the returned money, then pays each driver the rest.
- P3. Ana's deposit, held since the lease ended, is released by the daily job on 10-18 and paid out by
  run 3.
"""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from batpay.errors import Conflict
from charges.models import MiscChargeType
from charges.services import misc_charge_create, misc_credit_create
from deposits import selectors as deposit_selectors
from deposits.models import Deposit
from deposits.services import deposit_create
from lease_schedules.services import lease_terminate
from leases.models import Driver
from ledger.due import due_by_driver
from ledger.models import Category, ObligationBalance
from operations.jobs import run_deposit_release, run_posting_job
from payouts import nacha, services
from payouts.models import Payout, PayoutRun
from payouts.tests.helpers import CHASE, at, charge, close_week, earn
from statements.models import DriverTransactionReport

P0, P1, P2, P3 = dt.date(2025, 9, 21), dt.date(2025, 9, 28), dt.date(2025, 10, 5), dt.date(2025, 10, 12)


def held(lease) -> D:
    deposit = Deposit.objects.get(lease=lease)
    deposit_selectors.attach_held([deposit])
    return deposit.deposit_held


def outstanding(lease) -> dict:
    return {
        (b.category, b.source_reference): b.outstanding
        for b in ObligationBalance.objects.filter(lease=lease).exclude(outstanding=0)
    }


def approved(run, people):
    with pytest.raises(Conflict):
        services.nacha_file(run)  # not yet approved
    with pytest.raises(Conflict):
        services.approve_run(run_id=run.pk, actor=people["maker"])  # the maker cannot check
    return services.approve_run(run_id=run.pk, actor=people["checker"])


def read_nacha(run):
    text = services.nacha_file(run)
    records = text.splitlines()
    assert all(len(record) == 94 for record in records) and len(records) % 10 == 0
    return nacha.parse(text)


@pytest.fixture
def people(make_user):
    return {"maker": make_user("Finance"), "checker": make_user("Controller")}


def test_two_weeks_of_charges_credits_deposits_and_payouts(fleet, people, finance, monkeypatch, settings):
    settings.DEPOSIT_HOLD_DAYS = 7
    settings.PAYOUT_MINIMUM = D("10.00")
    at(monkeypatch, dt.date(2025, 9, 24))
    a = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.ACH), weekly_rate=D("300.00"))
    b = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.CHECK), weekly_rate=D("300.00"))
    ana, ben = a.primary_driver, b.primary_driver
    services.set_bank_account(
        driver=ana, routing_number=CHASE, account_number="555000111", account_type="CHECKING", actor=finance
    )
    deposit = deposit_create(
        driver_id=ana.pk, lease_id=a.pk, deposit_amount="200.00", collection="INSTALLMENTS",
        installment_count=2, actor=finance,
    )  # fmt: skip
    assert [(i.period_start, i.amount) for i in deposit.installments.order_by("sequence")] == [
        (P1, D("100.00")),
        (P2, D("100.00")),
    ]

    # --- P1 -------------------------------------------------------------------------------------------
    at(monkeypatch, dt.date(2025, 9, 28), 4)
    assert run_posting_job(source="deposits", period=P1).count == 1
    charge(a, Category.LEASE, "300.00", "L-A-1", P1)
    charge(b, Category.LEASE, "300.00", "L-B-1", P1)
    at(monkeypatch, dt.date(2025, 10, 1), 10)
    cleaning = misc_charge_create(
        driver_id=ben.pk,
        lease_id=b.pk,
        charge_type_id=MiscChargeType.objects.get(name="Cleaning").pk,
        amount="50.00",
        note="Seats after a spill",
        actor=finance,
    )
    assert cleaning.misc_id.startswith("MISC-2025-") and cleaning.amount == D("50.00")
    at(monkeypatch, dt.date(2025, 10, 2), 10)
    goodwill = misc_credit_create(driver_id=ben.pk, lease_id=b.pk, amount="40.00", note="Goodwill", actor=finance)
    # Money for Ben pays his open balances in waterfall order: rent before the misc charge.
    assert outstanding(b) == {("LEASE", "L-B-1"): D("260.00"), ("MISC", cleaning.misc_id): D("50.00")}
    assert goodwill.receipt.unapplied == D("0.00")

    earn(a, P1, "1000.00")  # rent 300.00 and the first deposit installment 100.00: 600.00 due
    earn(b, P1, "500.00")  # rent 260.00 and cleaning 50.00: 190.00 due
    assert held(a) == D("100.00")
    at(monkeypatch, P2, 5)
    close_week(P1)
    dtr_a1 = DriverTransactionReport.objects.get(lease=a, period=P1)
    dtr_b1 = DriverTransactionReport.objects.get(lease=b, period=P1)
    assert (dtr_a1.total_due_to_driver, dtr_b1.total_due_to_driver) == (D("600.00"), D("190.00"))
    assert dtr_a1.snapshot["deposit_held"] == "100.00"
    misc_b1 = next(c for c in dtr_b1.snapshot["categories"] if c["category"] == "MISC")
    assert (misc_b1["charges"], misc_b1["paid"], misc_b1["balance_carried_forward"]) == ("50.00", "50.00", "0.00")

    at(monkeypatch, P2, 6)
    run1, created = services.prepare_run(period=P1, actor=people["maker"])
    assert created and run1.status == PayoutRun.Status.PREPARED
    assert {p.driver_id: (p.method, p.amount) for p in run1.payouts.all()} == {
        ana.pk: ("ACH", D("600.00")),
        ben.pk: ("CHECK", D("190.00")),
    }
    run1 = approved(run1, people)
    first = read_nacha(run1)
    assert (first.sec_code, first.batch_count, first.record_count, first.block_count) == ("PPD", 1, 10, 1)
    assert [(e.transaction_code, e.routing_number, e.account_number, e.amount) for e in first.entries] == [
        ("22", CHASE, "555000111", D("600.00"))
    ]
    assert (first.total_credit, first.total_debit, first.entry_hash) == (D("600.00"), D("0.00"), 2100002)
    ana_trace = first.entries[0].trace_number
    check = Payout.objects.get(run=run1, method="CHECK")
    assert (check.check_number, check.dtr_numbers) == (100001, [dtr_b1.dtr_number])
    assert services.positive_pay_csv(run1).splitlines()[1].startswith("000000000000,100001,")
    services.mark_paid(run_id=run1.pk, actor=people["maker"])
    assert due_by_driver(until=P1) == {}

    # --- P2 -------------------------------------------------------------------------------------------
    at(monkeypatch, dt.date(2025, 10, 7), 10)
    assert services.return_ach(trace_number=ana_trace, return_code="R01", actor=finance).status == "RETURNED"
    assert services.return_ach(trace_number=ana_trace, return_code="R01").status == "RETURNED"  # idempotent
    services.void_check(check_number=100001, reason="Lost in the mail", actor=people["checker"])
    assert due_by_driver(until=P1) == {ana.pk: D("600.00"), ben.pk: D("190.00")}

    at(monkeypatch, P2, 4)
    assert run_posting_job(source="deposits", period=P2).count == 1
    charge(a, Category.LEASE, "300.00", "L-A-2", P2)
    charge(b, Category.LEASE, "300.00", "L-B-2", P2)
    at(monkeypatch, dt.date(2025, 10, 11), 12)
    earn(a, P2, "250.00")  # rent 250.00 of 300.00; the deposit's second 100.00 waits
    earn(b, P2, "400.00")  # rent 300.00: 100.00 due
    lease_terminate(actor=finance, lease=a, termination_date=dt.date(2025, 10, 11), reason="Driver left the fleet")
    at(monkeypatch, P3, 5)
    close_week(P2)
    second_installment = deposit.installments.get(sequence=2).installment_id
    assert outstanding(a) == {("LEASE", "L-A-2"): D("50.00"), ("DEPOSIT", second_installment): D("100.00")}

    at(monkeypatch, P3, 6)
    run2, _ = services.prepare_run(period=P2, actor=people["maker"])
    # The returned 600.00 first pays Ana's 50.00 of rent and 100.00 of deposit.
    assert run2.settled == D("150.00")
    assert outstanding(a) == {}
    assert held(a) == D("200.00")
    run2 = approved(run2, people)
    assert {p.driver_id: (p.method, p.amount, p.check_number) for p in run2.payouts.all()} == {
        ana.pk: ("ACH", D("450.00"), None),
        ben.pk: ("CHECK", D("290.00"), 100002),
    }
    second = read_nacha(run2)
    assert [(e.amount, e.account_number) for e in second.entries] == [(D("450.00"), "555000111")]
    assert (second.total_credit, second.entry_hash, second.record_count) == (D("450.00"), 2100002, 10)
    assert second.entries[0].trace_number != ana_trace
    services.mark_paid(run_id=run2.pk, actor=people["maker"])
    dtr_a2 = DriverTransactionReport.objects.get(lease=a, period=P2)
    assert dtr_a2.snapshot["deposit_held"] == "100.00"  # as of Saturday 10-11, before run 2 paid the rest

    # --- P3: the deposit is released after its hold, and paid out -------------------------------------
    at(monkeypatch, dt.date(2025, 10, 17), 3)
    assert run_deposit_release().count == 0  # 6 days after the lease ended: still held
    at(monkeypatch, dt.date(2025, 10, 18), 3)
    release = run_deposit_release()
    assert (release.count, release.amount, release.details["applied"]) == (1, D("200.00"), "0.00")
    assert held(a) == D("0.00")
    assert due_by_driver(until=P3) == {ana.pk: D("200.00")}
    at(monkeypatch, dt.date(2025, 10, 19), 5)
    close_week(P3)
    at(monkeypatch, dt.date(2025, 10, 19), 6)
    run3, _ = services.prepare_run(period=P3, actor=people["maker"])
    run3 = approved(run3, people)
    assert [(p.driver_id, p.method, p.amount) for p in run3.payouts.all()] == [(ana.pk, "ACH", D("200.00"))]
    assert [e.amount for e in read_nacha(run3).entries] == [D("200.00")]
    assert due_by_driver(until=P3) == {}
    call_command("check_ledger", stdout=io.StringIO())
