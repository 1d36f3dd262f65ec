"""Two weeks of a small fleet paid by ACH and by check (issue 14, "Must show"): closes, payout runs
with maker-checker, one ACH return and one voided check — every amount asserted, the NACHA files
read back and checked record by record."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from batpay.errors import Conflict
from leases.models import Driver
from ledger import services as ledger
from ledger.due import due_by_driver
from ledger.models import Category, ObligationBalance, Posting, Receipt
from payouts import nacha, services
from payouts.models import Payout, PayoutRun
from payouts.tests.helpers import CHASE, CITI, at, charge, close_week, earn
from statements.models import DriverTransactionReport

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)
P3 = dt.date(2025, 10, 12)


@pytest.fixture
def people(make_user):
    return {"maker": make_user("Finance"), "checker": make_user("Controller")}


def test_two_weeks_of_ach_and_check_payouts(fleet, people, monkeypatch):
    at(monkeypatch, dt.date(2025, 10, 1))
    ach = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.ACH), weekly_rate=D("300.00"))
    savings = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.ACH), weekly_rate=D("300.00"))
    check = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.CHECK), weekly_rate=D("300.00"))
    no_bank = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.ACH), weekly_rate=D("300.00"))
    small = fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.CHECK), weekly_rate=D("300.00"))
    services.set_bank_account(
        driver=ach.primary_driver,
        routing_number=CHASE,
        account_number="123456789",
        account_type="CHECKING",
        actor=people["maker"],
    )
    services.set_bank_account(
        driver=savings.primary_driver,
        routing_number=CITI,
        account_number="9876543210",
        account_type="SAVINGS",
        actor=people["maker"],
    )
    # A prepayment on a lease in force is credit for its rent: held, never paid out.
    ledger.record_prepayment(driver=check.primary_driver, lease=check, amount=D("80.00"), method="CASH")

    # --- week 1 --------------------------------------------------------------------------------
    charge(ach, Category.LEASE, "300.00", "L-ACH-1", P1)
    earn(ach, P1, "1000.00")  # 700.00 due
    earn(savings, P1, "400.00")  # 400.00 due
    charge(check, Category.LEASE, "300.00", "L-CHK-1", P1)  # 80.00 credit pays it at once: 220.00 owed
    earn(check, P1, "150.00")  # pays 150.00 of it: 70.00 owed, nothing due
    earn(no_bank, P1, "120.00")  # ACH driver without bank details: paid by check
    earn(small, P1, "5.00")  # under the 10.00 minimum: carried
    at(monkeypatch, P2, 5)
    close_week(P1)

    at(monkeypatch, P2, 6)
    run1, created = services.prepare_run(period=P1, actor=people["maker"])
    assert created and run1.status == PayoutRun.Status.PREPARED
    assert services.prepare_run(period=P1, actor=people["maker"]) == (run1, False)  # idempotent
    payouts = {p.driver_id: p for p in run1.payouts.all()}
    assert {d: (p.method, p.amount) for d, p in payouts.items()} == {
        ach.primary_driver_id: ("ACH", D("700.00")),
        savings.primary_driver_id: ("ACH", D("400.00")),
        no_bank.primary_driver_id: ("CHECK", D("120.00")),
    }
    assert (run1.total, run1.ach_total, run1.check_total) == (D("1220.00"), D("1100.00"), D("120.00"))
    assert (run1.carried_count, run1.carried_total, run1.settled) == (1, D("5.00"), D("0.00"))
    assert payouts[no_bank.primary_driver_id].note.startswith("Paid by check")
    assert payouts[ach.primary_driver_id].account_last4 == "6789"

    # Maker-checker: only an approved run is exported, and never by the one who prepared it.
    with pytest.raises(Conflict, match="only an approved run"):
        services.nacha_file(run1)
    with pytest.raises(Conflict, match="another user must approve"):
        services.approve_run(run_id=run1.pk, actor=people["maker"])
    assert due_by_driver(until=P1)[ach.primary_driver_id] == D("700.00")  # nothing drawn yet
    run1 = services.approve_run(run_id=run1.pk, actor=people["checker"])
    assert run1.status == PayoutRun.Status.APPROVED and run1.effective_entry_date == dt.date(2025, 10, 6)
    assert due_by_driver(until=P1) == {small.primary_driver_id: D("5.00")}

    first = nacha.parse(services.nacha_file(run1))
    assert (first.record_count, first.block_count, first.batch_count) == (10, 1, 1)
    assert (first.sec_code, first.company_name, first.company_id) == ("PPD", "BIG APPLE TAXI", "1234567890")
    assert first.effective_date == "251006"
    assert [(e.transaction_code, e.routing_number, e.account_number, e.amount) for e in first.entries] == [
        ("22", CHASE, "123456789", D("700.00")),
        ("32", CITI, "9876543210", D("400.00")),
    ]
    assert (first.total_credit, first.total_debit) == (D("1100.00"), D("0.00"))
    assert first.entry_hash == 2100002 + 2100008
    assert [e.trace_number for e in first.entries] == ["021000020000001", "021000020000002"]
    check_payout = Payout.objects.get(run=run1, method="CHECK")
    assert check_payout.check_number == 100001
    dtr_p1 = DriverTransactionReport.objects.get(lease=no_bank, period=P1)
    assert check_payout.dtr_numbers == [dtr_p1.dtr_number]
    csv = services.positive_pay_csv(run1).splitlines()
    assert csv[1] == f"000000000000,100001,2025-10-05,120.00,{no_bank.primary_driver.full_name},"
    assert services.check_register_pdf(run1).startswith(b"%PDF")
    run1 = services.mark_paid(run_id=run1.pk, actor=people["maker"])
    assert run1.status == PayoutRun.Status.PAID

    # --- week 2: an ACH return, a voided check, new charges --------------------------------------
    at(monkeypatch, dt.date(2025, 10, 7), 10)
    returned = services.return_ach(trace_number="021000020000001", return_code="R01", actor=people["maker"])
    assert returned.status == Payout.Status.RETURNED
    assert services.return_ach(trace_number="021000020000001", return_code="R01").status == "RETURNED"  # no-op
    voided = services.void_check(check_number=100001, reason="Check lost in the mail", actor=people["checker"])
    assert voided.status == Payout.Status.VOIDED
    assert services.void_check(check_number=100001, reason="Check lost in the mail").status == "VOIDED"
    assert due_by_driver(until=P1)[ach.primary_driver_id] == D("700.00")  # due again
    assert due_by_driver(until=P1)[no_bank.primary_driver_id] == D("120.00")

    charge(ach, Category.LEASE, "300.00", "L-ACH-2", P2)
    earn(ach, P2, "0.01")  # pays a cent of it: 299.99 owed
    charge(check, Category.LEASE, "300.00", "L-CHK-2", P2)
    earn(check, P2, "600.00")  # 70.00 of week 1, 300.00 of week 2: 230.00 due
    earn(small, P2, "6.00")  # 11.00 due with week 1's carried 5.00
    at(monkeypatch, P3, 5)
    close_week(P2)

    # The statement of the week of the return shows the payout, the return and the void.
    dtr = DriverTransactionReport.objects.get(lease=ach, period=P2)
    assert [(e["text"], e["amount"]) for e in dtr.snapshot["payouts"]] == [
        ("Paid on 2025-10-05 by ACH run " + run1.number + " (••••6789, trace 021000020000001)", "-700.00"),
        ("ACH return R01 (Insufficient funds) of run " + run1.number + ", trace 021000020000001", "700.00"),
    ]
    assert dtr.snapshot["total_due_to_driver"] == "0.00"

    at(monkeypatch, P3, 6)
    run2, _ = services.prepare_run(period=P2, actor=people["maker"])
    # The returned 700.00 first pays the 299.99 the ACH driver owes.
    assert run2.settled == D("299.99")
    assert ObligationBalance.objects.get(source_reference="L-ACH-2").status == "CLOSED"
    run2 = services.approve_run(run_id=run2.pk, actor=people["checker"])
    paid = {p.driver_id: (p.method, p.amount, p.check_number) for p in run2.payouts.all()}
    assert paid == {
        ach.primary_driver_id: ("ACH", D("400.01"), None),
        check.primary_driver_id: ("CHECK", D("230.00"), 100002),
        no_bank.primary_driver_id: ("CHECK", D("120.00"), 100003),
        small.primary_driver_id: ("CHECK", D("11.00"), 100004),
    }
    second = nacha.parse(services.nacha_file(run2))
    assert [(e.amount, e.trace_number) for e in second.entries] == [(D("400.01"), "021000020000003")]
    assert (second.record_count, second.block_count, second.total_credit) == (10, 1, D("400.01"))
    assert due_by_driver(until=P2) == {}
    # The prepayment credit of a lease in force was never paid out.
    held = Receipt.objects.get(kind="PREPAYMENT")
    assert held.unapplied == D("0.00") and not Posting.objects.filter(receipt=held, category="PAYOUT").exists()
    # Σ paid out = 1,220.00 + 761.01 − 820.00 returned or voided.
    paid_out = sum(
        (p.amount if p.entry_type == "CREDIT" else -p.amount for p in Posting.objects.filter(category="PAYOUT")), D(0)
    )
    assert paid_out == D("1161.01")
    call_command("check_ledger", stdout=io.StringIO())
