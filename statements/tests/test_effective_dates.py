"""Issue 11's five cases, each with its exact figures under the one rule for effective dates
(ledger/effective.py, docs/rules.md "Effective dates"). The clock is set day by day: the
weeks run W = 2025-09-28 … 10-04, W+1 = 10-05 … 10-11, W+2 = 10-12 … 10-18."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.utils import timezone

from lease_schedules.services import lease_terminate
from ledger import services
from ledger.invariants import violations
from ledger.models import Category, ObligationBalance, Posting, Receipt, Refund
from ledger.selectors import balances_as_of
from statements.close import close_earnings
from statements.dtr import generate_dtrs, void_dtr
from statements.models import DriverTransactionReport
from statements.pdf import statement_context
from statements.tests.trip_files import import_lines, worked_example

W = dt.date(2025, 9, 28)
W1 = dt.date(2025, 10, 5)
W2 = dt.date(2025, 10, 12)
DTR = DriverTransactionReport


@pytest.fixture
def clock(monkeypatch):
    """`clock.day = …` sets what the code takes for today in New York."""

    class Clock:
        day = W

    real = timezone.localdate

    def localdate(value=None, timezone=None):
        return real(value, timezone) if value is not None else Clock.day

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)
    return Clock


def charge(lease, category, amount, ref, period=W):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=lease.primary_driver,
        lease=lease,
        period=period,
    )


def close_week(period):
    close_earnings(period=period)
    generate_dtrs(period=period, render=False)


def dtr(lease, period) -> DTR:
    return DTR.objects.get(lease=lease, period=period, status=DTR.Status.ISSUED)


def category(snapshot, name) -> dict:
    return next(c for c in snapshot["categories"] if c["category"] == name)


def figures(c) -> tuple:
    return (c["prior_balance"], c["charges"], c["paid"], c["balance_carried_forward"])


def outstanding_as_of(lease, day) -> dict:
    return {row.source_reference: row.outstanding for row in balances_as_of(as_of=day, lease_id=lease.pk)}


def assert_sound():
    assert violations() == []
    call_command("check_ledger")


def test_a_close_that_runs_after_a_void_never_shows_a_negative_balance(fleet, clock, admin_api):
    lease = fleet.lease()
    import_lines(worked_example(lease, W))  # taxes 191.25, card earnings 465.00
    pvb = charge(lease, Category.PVB, "115.00", "PVB-1")
    clock.day = W1
    close_week(W)
    payment = pvb.postings.get(entry_type="CREDIT")
    assert (payment.amount, payment.effective_date) == (D("115.00"), dt.date(2025, 10, 4))
    import_lines(worked_example(lease, W1, prefix="W1"))

    # W+1 has ended but is not closed yet when the payment is voided: the void is dated today.
    clock.day = W2
    reversal = services.void_posting(posting=payment, reason="Ticket paid twice at the window")
    assert reversal.effective_date == W2
    # The 115.00 handed back to W's earnings pays what the driver owes through W+2: this ticket.
    again = pvb.postings.get(entry_type="CREDIT", status="POSTED", reverses=None)
    assert (again.amount, again.effective_date, again.receipt_id) == (D("115.00"), W2, payment.receipt_id)
    assert again.description == f"Credit from earnings of the week of 2025-09-28 returned by void #{reversal.pk}"
    close_week(W1)

    # W+1's earnings find nothing owed on the ticket at their week's end: they do not pay it again.
    pvb.refresh_from_db()
    assert (pvb.outstanding, pvb.status) == (D("0.00"), "CLOSED")
    week1 = dtr(lease, W1).snapshot
    assert figures(category(week1, "PVB")) == ("0.00", "0.00", "0.00", "0.00")
    assert category(week1, "PVB")["lines"] == []
    assert (week1["card_earnings"], week1["total_due_to_driver"]) == ("465.00", "273.75")
    assert all(not c["balance_carried_forward"].startswith("-") for c in week1["categories"])
    assert outstanding_as_of(lease, dt.date(2025, 10, 11)) == {}
    response = admin_api.get(f"/api/ledger/drivers/{lease.primary_driver_id}/balances?as_of=2025-10-11")
    assert (response.status_code, response.json()["outstanding"], response.json()["leases"]) == (200, "0.00", [])

    # W+2's statement shows the void and the repayment, in words, and nothing else on the ticket.
    clock.day = dt.date(2025, 10, 19)
    close_week(W2)
    week2 = dtr(lease, W2).snapshot
    ticket = category(week2, "PVB")
    assert figures(ticket) == ("0.00", "0.00", "0.00", "0.00")
    assert (ticket["paid_other"], ticket["payments_reversed"]) == ("115.00", "115.00")
    assert [(e["date"], e["text"], e["amount"]) for e in ticket["lines"][0]["events"]] == [
        ("2025-10-12", f"Payment reversed — void #{reversal.pk}: Ticket paid twice at the window", "115.00"),
        ("2025-10-12", f"Credit from earnings of the week of 2025-09-28 returned by void #{reversal.pk}", "-115.00"),
    ]
    assert (week2["earnings_returned"], week2["total_due_to_driver"]) == ("0.00", "0.00")
    assert_sound()


def test_credit_a_void_returns_pays_older_lease_charges_at_once(fleet, clock):
    lease = fleet.lease()
    driver = lease.primary_driver
    old_rent = charge(lease, Category.LEASE, "500.00", "LEASE-W", period=W)
    new_rent = charge(lease, Category.LEASE, "500.00", "LEASE-W1", period=W1)
    ticket = charge(lease, Category.PVB, "200.00", "PVB-1")
    clock.day = dt.date(2025, 10, 7)
    receipt = services.apply_interim_payment(
        driver=driver,
        lease=lease,
        amount=D("200.00"),
        method="CASH",
        allocations=[services.Allocation(ticket.pk, D("200.00"))],
    )
    clock.day = dt.date(2025, 10, 8)

    services.void_posting(posting=receipt.postings.get(), reason="Allocated to the wrong ticket")

    for balance in (old_rent, new_rent, ticket, receipt):
        balance.refresh_from_db()
    assert (old_rent.outstanding, new_rent.outstanding, ticket.outstanding) == (
        D("300.00"),
        D("500.00"),
        D("200.00"),
    )
    assert receipt.unapplied == D("0.00")
    paid = old_rent.postings.get(entry_type="CREDIT")
    assert (paid.amount, paid.effective_date) == (D("200.00"), dt.date(2025, 10, 8))

    # A prepayment recorded while rent is open pays it oldest first at once; the rest is credit.
    prepayment = services.record_prepayment(driver=driver, lease=lease, amount=D("900.00"), method="ACH")
    old_rent.refresh_from_db()
    new_rent.refresh_from_db()
    assert (old_rent.outstanding, new_rent.outstanding, prepayment.unapplied) == (D("0"), D("0"), D("100.00"))
    assert_sound()


def test_credit_on_a_terminated_lease_is_applied_to_its_fee_and_the_rest_refunded(fleet, clock, finance):
    lease = fleet.lease(start_date=W, weekly_rate=D("500.00"))
    driver = lease.primary_driver
    clock.day = dt.date(2025, 10, 1)
    prepayment = services.record_prepayment(driver=driver, lease=lease, amount=D("800.00"), method="CHECK")
    lease_terminate(
        actor=finance,
        lease=lease,
        termination_date=dt.date(2025, 10, 1),
        reason="Driver moved away",
        cancellation_fee="250.00",
    )
    fee = ObligationBalance.objects.get(lease=lease, category=Category.CANCELLATION_FEE)
    call_command("post_due_installments", "--source", "all", "--period", "2025-09-28", verbosity=0)
    rent = ObligationBalance.objects.get(lease=lease, category=Category.LEASE)
    prepayment.refresh_from_db()
    # 4 days of rent (Sun–Wed) at 500/7 = 285.71, paid from the credit; nothing else will ever come.
    assert (rent.original_amount, rent.outstanding, prepayment.unapplied) == (D("285.71"), D("0"), D("514.29"))
    assert fee.outstanding == D("250.00")

    clock.day = dt.date(2025, 10, 9)
    applied = services.apply_credit(
        receipt_id=prepayment.pk, balance_id=fee.pk, reason="Lease ended: fee paid from its credit", actor=finance
    )
    refund = services.refund_credit(
        receipt_id=prepayment.pk,
        reason="Lease ended: nothing more is owed",
        method="CHECK",
        reference="CHK-1042",
        actor=finance,
    )

    fee.refresh_from_db()
    prepayment.refresh_from_db()
    assert (applied.amount, applied.effective_date, applied.reason) == (
        D("250.00"),
        dt.date(2025, 10, 9),
        "Lease ended: fee paid from its credit",
    )
    assert (fee.outstanding, fee.status) == (D("0.00"), "CLOSED")
    assert (refund.amount, refund.method, refund.reference, refund.refunded_on) == (
        D("264.29"),
        "CHECK",
        "CHK-1042",
        dt.date(2025, 10, 9),
    )
    assert prepayment.unapplied == D("0.00")
    applied_total = sum(p.amount if p.entry_type == "CREDIT" else -p.amount for p in prepayment.postings.all())
    assert applied_total + prepayment.unapplied + Refund.objects.get().amount == prepayment.amount
    assert_sound()


def test_prepayment_credit_counts_from_the_day_the_money_came(fleet, clock):
    lease = fleet.lease()
    clock.day = dt.date(2025, 9, 30)  # Tuesday of W
    receipt = services.record_prepayment(driver=lease.primary_driver, lease=lease, amount=D("500.00"), method="CASH")
    clock.day = W1  # the Sunday job charges W's rent
    rent = charge(lease, Category.LEASE, "500.00", "LEASE-W", period=W)

    paid = rent.postings.get(entry_type="CREDIT")
    assert (paid.receipt_id, paid.amount, paid.effective_date, paid.period) == (
        receipt.pk,
        D("500.00"),
        dt.date(2025, 9, 30),
        W,
    )
    assert outstanding_as_of(lease, W) == {"LEASE-W": D("500.00")}, "on Sunday the money had not come"
    assert outstanding_as_of(lease, dt.date(2025, 9, 29)) == {"LEASE-W": D("500.00")}
    assert outstanding_as_of(lease, dt.date(2025, 9, 30)) == {}
    close_week(W)
    lines = category(dtr(lease, W).snapshot, "LEASE")
    assert figures(lines) == ("0.00", "500.00", "500.00", "0.00")
    assert [(e["text"], e["amount"]) for e in lines["lines"][0]["events"]] == [
        (f"Credit from lease prepayment #{receipt.pk}", "-500.00")
    ]
    assert_sound()


def test_a_reversed_earnings_payment_is_printed_as_a_reversal(fleet, clock):
    lease = fleet.lease()
    import_lines(worked_example(lease, W))
    ticket = charge(lease, Category.PVB, "115.00", "PVB-1")
    clock.day = W1
    close_week(W)
    clock.day = dt.date(2025, 10, 8)
    # The ticket is dismissed: voiding the charge releases its payment; nothing else is owed, so
    # the 115.00 is due to the driver on this week's statement.
    reversal = services.void_posting(posting=ticket.postings.get(entry_type="DEBIT"), reason="Ticket dismissed by DOF")
    clock.day = W2
    close_week(W1)

    report = dtr(lease, W1)
    s = report.snapshot
    assert (s["earnings_returned"], s["total_due_to_driver"]) == ("115.00", "115.00")
    assert (s["totals"]["paid_other"], s["totals"]["payments_reversed"]) == ("0.00", "115.00")
    assert figures(category(s, "PVB")) == ("0.00", "-115.00", "-115.00", "0.00")
    html = render_to_string("statements/report.html", statement_context(report))
    assert f"Payment reversed — void #{reversal.pk - 1}: Ticket dismissed by DOF" in html
    assert f"Charge voided — void #{reversal.pk}: Ticket dismissed by DOF" in html
    assert "Payments reversed by voids (owed again)" in html
    assert 'Paid by cash, check, ACH or prepayment</td><td class="num">-115.00' not in html
    assert_sound()


def test_an_installment_posted_late_is_a_charge_on_the_statement_of_the_week_it_is_posted(fleet, clock):
    lease = fleet.lease()
    charge(lease, Category.LEASE, "500.00", "LEASE-W", period=W)
    clock.day = W1
    close_week(W)
    first = dtr(lease, W)

    clock.day = dt.date(2025, 10, 8)  # Wednesday of W+1: a repair installment of W, posted late
    repair = charge(lease, Category.REPAIRS, "200.00", "RPR-2025-001-01", period=W)
    posting = repair.postings.get()
    assert (repair.due_period, posting.effective_date, posting.period) == (W, dt.date(2025, 10, 8), W1)
    assert outstanding_as_of(lease, dt.date(2025, 10, 4)) == {"LEASE-W": D("500.00")}

    clock.day = W2
    close_week(W1)
    lines = category(dtr(lease, W1).snapshot, "REPAIRS")
    assert figures(lines) == ("0.00", "200.00", "0.00", "200.00")
    assert lines["lines"][0]["due_period"] == "2025-09-28"
    assert [(e["date"], e["text"], e["amount"]) for e in lines["lines"][0]["events"]] == [
        ("2025-10-08", "Late charge for the week of 2025-09-28", "200.00")
    ]
    # W's statement, issued again, is what it was: the late charge belongs to W+1's.
    _, again = void_dtr(dtr_number=first.dtr_number, reason="Reprint with the late charge?")
    assert again.snapshot == first.snapshot
    assert Receipt.objects.count() == 0 and Posting.objects.filter(entry_type="CREDIT").count() == 0
    assert_sound()
