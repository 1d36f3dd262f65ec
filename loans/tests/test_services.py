import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.models import AuditEvent
from batpay.periods import next_period, period_start
from ledger import services as ledger
from ledger.models import Posting
from ledger.selectors import obligation_balances
from loans import services
from loans.models import Loan, LoanInstallment

from .conftest import P1, WEDNESDAY

P2, P3, P4, P5 = (P1 + dt.timedelta(days=7 * k) for k in range(1, 5))


def statuses(loan):
    return list(loan.installments.order_by("sequence").values_list("status", flat=True))


def test_create_builds_a_draft_with_its_schedule_and_interest(make_loan, finance):
    loan = make_loan("1200.00", rate="10", confirm=False)
    year = timezone.localdate().year
    assert loan.loan_id == f"DL-{year}-0001"
    assert (loan.status, loan.start_week, loan.loan_date) == ("DRAFT", P1, WEDNESDAY)
    assert (loan.weekly_installment_amount, loan.total_interest, loan.total_due) == (
        D("250.00"),
        D("5.72"),
        D("1205.72"),
    )
    rows = list(
        loan.installments.values_list(
            "installment_id", "period_start", "interest_days", "principal_amount", "interest_amount", "amount", "status"
        )
    )
    assert rows == [
        (f"{loan.loan_id}-01", P1, 4, D("250.00"), D("1.32"), D("251.32"), "SCHEDULED"),
        (f"{loan.loan_id}-02", P2, 7, D("250.00"), D("1.82"), D("251.82"), "SCHEDULED"),
        (f"{loan.loan_id}-03", P3, 7, D("250.00"), D("1.34"), D("251.34"), "SCHEDULED"),
        (f"{loan.loan_id}-04", P4, 7, D("250.00"), D("0.86"), D("250.86"), "SCHEDULED"),
        (f"{loan.loan_id}-05", P5, 7, D("200.00"), D("0.38"), D("200.38"), "SCHEDULED"),
    ]
    assert AuditEvent.objects.filter(action="loans.create", object_id=loan.loan_id, actor=finance).exists()
    assert make_loan("100.00").loan_id == f"DL-{year}-0002"


def test_current_and_next_are_read_against_the_loan_date(make_loan):
    assert make_loan(start_week="NEXT").start_week == P2
    today = timezone.localdate()
    loan = make_loan(loan_date=None, start_week="CURRENT")
    assert (loan.loan_date, loan.start_week) == (today, period_start(today))
    assert make_loan(loan_date=None, start_week="NEXT").start_week == next_period(today)


def test_rate_default_and_maximum_come_from_settings(make_loan, settings):
    settings.LOAN_DEFAULT_INTEREST_RATE = D("0")
    assert make_loan("1200.00", rate=None).total_interest == D("0.00")
    settings.LOAN_DEFAULT_INTEREST_RATE = D("10")
    assert make_loan("1200.00", rate=None).interest_rate == D("10.00")
    settings.LOAN_MAX_INTEREST_RATE = D("12")
    assert make_loan(rate="12").interest_rate == D("12.00")
    with pytest.raises(InvalidInput) as caught:
        make_loan(rate="12.01")
    assert list(caught.value.fields) == ["interest_rate"]


def test_a_zero_rate_loan_posts_its_principal_only(make_loan, finance):
    loan = make_loan("450.00", rate="0")
    assert loan.total_interest == D("0.00")
    summary = services.loan_installments_post_due(period=P5)
    assert (summary.installments, summary.amount) == (5, D("450.00"))


def test_an_additional_driver_may_borrow(fleet, finance):
    lease = fleet.lease()
    extra = fleet.driver()
    lease.additional_drivers.add(extra)
    loan = services.loan_create(
        driver_id=extra.pk, lease_id=lease.pk, loan_amount=D("150.00"), start_week=P1, loan_date=P1, actor=finance
    )
    assert loan.driver_id == extra.pk


def test_bad_input_names_every_bad_field(fleet, finance):
    lease, other = fleet.lease(), fleet.lease()
    with pytest.raises(InvalidInput) as caught:
        services.loan_create(
            driver_id=lease.primary_driver_id,
            lease_id=other.pk,
            loan_amount=D("0"),
            interest_rate=D("20.5"),
            loan_date=timezone.localdate() + dt.timedelta(days=1),
            start_week="2025-10-01",
            purpose="x" * 4001,
            actor=finance,
        )
    assert set(caught.value.fields) == {
        "lease_id",
        "loan_amount",
        "interest_rate",
        "loan_date",
        "start_week",
        "purpose",
    }
    with pytest.raises(InvalidInput) as caught:
        services.loan_create(
            driver_id=999999,
            lease_id=lease.pk,
            loan_amount=D("-5"),
            interest_rate=D("-0.01"),
            loan_date=P1,
            start_week=P1,
            actor=finance,
        )
    assert set(caught.value.fields) == {"driver_id", "loan_amount", "interest_rate"}
    # A loan date after the first period's end.
    with pytest.raises(InvalidInput) as caught:
        services.loan_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            loan_amount=D("500"),
            loan_date=P2,
            start_week=P1,
            actor=finance,
        )
    assert list(caught.value.fields) == ["loan_date"]
    # Dates at the edges of the calendar are refusals, not crashes.
    for loan_date, start_week, field in ((dt.date(1, 1, 1), "CURRENT", "loan_date"), (P1, "9999-12-26", "start_week")):
        with pytest.raises(InvalidInput) as caught:
            services.loan_create(
                driver_id=lease.primary_driver_id,
                lease_id=lease.pk,
                loan_amount=D("500"),
                loan_date=loan_date,
                start_week=start_week,
                actor=finance,
            )
        assert list(caught.value.fields) == [field]
    assert not Loan.objects.exists()


def test_the_database_refuses_a_total_due_that_is_not_principal_plus_interest(make_loan):
    loan = make_loan("300.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanInstallment.objects.filter(plan=loan, sequence=1).update(interest_amount=D("9.99"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.objects.filter(pk=loan.pk).update(loan_date=P2)


def test_draft_edit_rebuilds_the_schedule_and_interest(make_loan, finance):
    loan = make_loan("1200.00", confirm=False)
    services.loan_update(
        loan_id=loan.loan_id,
        changes={"loan_amount": "450.00", "interest_rate": "5", "start_week": "NEXT"},
        actor=finance,
    )
    loan.refresh_from_db()
    assert (loan.start_week, loan.weekly_installment_amount) == (P2, D("100.00"))
    # d_1 = Wed 10-01 … Sat 10-11 = 11 days: 450 × 5 % × 11/365 = 0.6780… → 0.68; then 350, 250, 150, 50 × 5 % × 7/365.
    assert list(loan.installments.values_list("sequence", "period_start", "principal_amount", "interest_amount")) == [
        (1, P2, D("100.00"), D("0.68")),
        (2, P3, D("100.00"), D("0.34")),
        (3, P4, D("100.00"), D("0.24")),
        (4, P5, D("100.00"), D("0.14")),
        (5, P5 + dt.timedelta(days=7), D("50.00"), D("0.05")),
    ]
    assert loan.total_interest == D("1.45")
    # Moving the loan date within the first week only changes d_1: Sun 10-05 … Sat 10-11 is 7 days.
    services.loan_update(loan_id=loan.loan_id, changes={"loan_date": "2025-10-05"}, actor=finance)
    assert loan.installments.get(sequence=1).interest_days == 7
    with pytest.raises(InvalidInput) as caught:
        services.loan_update(loan_id=loan.loan_id, changes={"loan_date": "2025-10-12"}, actor=finance)
    assert list(caught.value.fields) == ["loan_date"]


def test_after_confirmation_only_the_purpose_changes(make_loan, finance):
    loan = make_loan("1200.00")
    with pytest.raises(Conflict) as caught:
        services.loan_update(loan_id=loan.loan_id, changes={"interest_rate": "12", "loan_amount": "900"}, actor=finance)
    assert caught.value.code == ErrorCode.INVALID_TRANSITION
    assert set(caught.value.fields) == {"interest_rate", "loan_amount"}
    # Sending back what was read is no change.
    services.loan_update(
        loan_id=loan.loan_id,
        changes={"loan_amount": "1200.00", "interest_rate": "10.00", "start_week": P1.isoformat(), "purpose": "Rent"},
        actor=finance,
    )
    loan.refresh_from_db()
    assert (loan.purpose, loan.total_interest, loan.installments.count()) == ("Rent", D("5.72"), 5)
    with pytest.raises(InvalidInput):
        services.loan_update(loan_id=loan.loan_id, changes={"colour": "red"}, actor=finance)


def test_lifecycle_through_the_services(make_loan, finance):
    loan = make_loan(confirm=False)
    with pytest.raises(Conflict):
        services.loan_change_status(loan_id=loan.loan_id, status="HOLD", reason="why not", actor=finance)
    loan = services.loan_confirm(loan_id=loan.loan_id, actor=finance)
    assert loan.status == "OPEN" and loan.confirmed_at
    loan = services.loan_change_status(loan_id=loan.loan_id, status="HOLD", reason="driver on leave", actor=finance)
    assert (loan.status, loan.status_reason) == ("HOLD", "driver on leave")
    loan = services.loan_change_status(loan_id=loan.loan_id, status="OPEN", actor=finance)
    loan = services.loan_change_status(loan_id=loan.loan_id, status="CANCELLED", reason="entered twice", actor=finance)
    assert loan.status == "CANCELLED" and set(statuses(loan)) == {"CANCELLED"}
    with pytest.raises(NotFound):
        services.loan_confirm(loan_id="DL-1999-0001", actor=finance)
    actions = set(AuditEvent.objects.filter(object_id=loan.loan_id).values_list("action", flat=True))
    assert {"loans.create", "loans.confirm", "loans.hold", "loans.resume", "loans.cancel"} <= actions


def test_posting_charges_the_total_due_under_loans(make_loan, finance):
    loan = make_loan("1200.00")
    first = f"{loan.loan_id}-01"
    summary = services.loan_installments_post(installment_ids=[first], actor=finance)
    assert (summary.installments, summary.amount) == (1, D("251.32"))
    balance = obligation_balances(category="LOANS", source_references=[first])[first]
    assert (balance.original_amount, balance.outstanding, balance.status) == (D("251.32"), D("251.32"), "OPEN")
    with pytest.raises(Conflict) as caught:
        services.loan_installments_post(installment_ids=[first], actor=finance)
    assert caught.value.code == ErrorCode.ALREADY_POSTED
    with pytest.raises(Conflict) as caught:
        services.loan_change_status(loan_id=loan.loan_id, status="CANCELLED", reason="too late", actor=finance)
    assert caught.value.code == ErrorCode.INVALID_TRANSITION


def test_the_job_posts_what_is_due_skips_hold_and_draft_and_is_idempotent(make_loan, finance):
    open_loan = make_loan("1200.00")
    held = make_loan("300.00", rate="0")
    draft = make_loan("300.00", confirm=False)
    services.loan_change_status(loan_id=held.loan_id, status="HOLD", reason="dispute", actor=finance)

    summary = services.loan_installments_post_due(period=P2)
    assert (summary.installments, summary.amount) == (2, D("503.14"))  # 251.32 + 251.82
    assert statuses(open_loan) == ["POSTED", "POSTED", "SCHEDULED", "SCHEDULED", "SCHEDULED"]
    assert set(statuses(held)) == set(statuses(draft)) == {"SCHEDULED"}
    assert services.loan_installments_post_due(period=P2).installments == 0
    dry = services.loan_installments_post_due(period=P5, dry_run=True)
    assert (dry.installments, dry.amount) == (3, D("702.58"))


def test_a_loan_paid_off_by_earnings_and_a_cashier_closes_and_a_void_reopens_it(make_loan, finance):
    loan = make_loan("1200.00")  # totals due 251.32, 251.82, 251.34, 250.86, 200.38 = 1,205.72
    lease, driver = loan.lease, loan.driver
    services.loan_installments_post_due(period=P5)
    assert set(statuses(loan)) == {"POSTED"}

    # Week 1's earnings pay installment 1 only: later installments are not due yet, so 48.68 goes to the driver.
    first = ledger.apply_earnings(driver=driver, lease=lease, period=P1, amount=D("300.00"), actor=finance)
    assert statuses(loan) == ["PAID", "POSTED", "POSTED", "POSTED", "POSTED"]
    assert first.unapplied == D("48.68")

    # The cashier takes installments 2 and 3 at the window, early.
    balances = obligation_balances(category="LOANS", source_references=[f"{loan.loan_id}-02", f"{loan.loan_id}-03"])
    ledger.apply_interim_payment(
        driver=driver,
        lease=lease,
        amount=D("503.16"),
        method="CASH",
        allocations=[
            ledger.Allocation(balance_id=balances[f"{loan.loan_id}-02"].balance_id, amount=D("251.82")),
            ledger.Allocation(balance_id=balances[f"{loan.loan_id}-03"].balance_id, amount=D("251.34")),
        ],
        actor=finance,
    )
    assert statuses(loan) == ["PAID", "PAID", "PAID", "POSTED", "POSTED"]

    receipt = ledger.apply_earnings(driver=driver, lease=lease, period=P5, amount=D("500.00"), actor=finance)
    assert set(statuses(loan)) == {"PAID"}
    assert receipt.unapplied == D("500.00") - D("250.86") - D("200.38")
    loan.refresh_from_db()
    assert loan.status == "CLOSED"
    assert AuditEvent.objects.filter(action="loans.close", object_id=loan.loan_id).exists()

    # Voiding the cashier's payment of installment 3 reopens it, and the loan with it (the money
    # waits on the receipt as credit, which pays rent only; a voided *earnings* payment would be
    # paid again at once from the earnings it hands back: docs/rules.md, "Voids").
    last = LoanInstallment.objects.get(installment_id=f"{loan.loan_id}-03")
    payment = Posting.objects.get(obligation__source_reference=last.installment_id, receipt__kind="INTERIM_PAYMENT")
    ledger.void_posting(posting=payment, reason="cash counted twice", actor=finance)
    last.refresh_from_db()
    loan.refresh_from_db()
    assert (last.status, loan.status) == ("POSTED", "OPEN")
    assert AuditEvent.objects.filter(action="loans.reopen", object_id=loan.loan_id).exists()
    call_command("check_ledger")


def test_voiding_a_charge_cancels_its_installment(make_loan, finance):
    loan = make_loan("200.00")
    services.loan_installments_post_due(period=P1)
    installment = loan.installments.get()
    ledger.void_posting(posting=installment.posting_id, reason="lent to the wrong driver", actor=finance)
    installment.refresh_from_db()
    loan.refresh_from_db()
    assert (installment.status, loan.status) == ("CANCELLED", "CLOSED")
    call_command("check_ledger")
