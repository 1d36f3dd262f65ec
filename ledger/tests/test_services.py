import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from batpay.errors import Conflict, InvalidInput, NotFound
from batpay.periods import period_start
from ledger import services
from ledger.invariants import violations
from ledger.models import Category, EntryType, ObligationBalance, Posting, Receipt
from ledger.selectors import balances_as_of, obligation_balances, prepayment_credit

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)
P3 = dt.date(2025, 10, 12)


def charge(lease, category, amount, ref, period=P1):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=lease.primary_driver,
        lease=lease,
        period=period,
    )


def ledger_counts():
    return (Posting.objects.count(), ObligationBalance.objects.count(), Receipt.objects.count())


def test_create_obligation_writes_a_debit_and_an_open_balance(fleet):
    lease = fleet.lease()
    balance = charge(lease, Category.REPAIRS, "250.00", "RPR-2025-001-01")
    assert (balance.status, balance.original_amount, balance.outstanding) == ("OPEN", D("250.00"), D("250.00"))
    posting = balance.postings.get()
    assert (posting.entry_type, posting.amount, posting.category) == ("DEBIT", D("250.00"), "REPAIRS")
    assert posting.idempotency_key == "obligation:REPAIRS:RPR-2025-001-01"
    assert (posting.vehicle_id, posting.medallion_id, posting.period) == (lease.vehicle_id, lease.medallion_id, P1)

    again = charge(lease, Category.REPAIRS, "250.00", "RPR-2025-001-01")
    assert again.pk == balance.pk
    assert Posting.objects.count() == 1


def test_bulk_posting_skips_what_is_already_posted(fleet):
    lease = fleet.lease()
    rows = [
        services.ObligationRow(
            category="REPAIRS",
            source_reference=f"RPR-2025-001-{k:02d}",
            amount=D("100.00"),
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            period=P1,
        )
        for k in range(1, 6)
    ]
    first = services.post_obligations(rows=rows[:3])
    assert [p.source_reference for p in first] == ["RPR-2025-001-01", "RPR-2025-001-02", "RPR-2025-001-03"]
    second = services.post_obligations(rows=rows)
    assert [p.source_reference for p in second] == ["RPR-2025-001-04", "RPR-2025-001-05"]
    assert services.post_obligations(rows=rows) == []
    assert ObligationBalance.objects.count() == 5 and Posting.objects.count() == 5


def test_bulk_posting_refuses_bad_rows_and_writes_nothing(fleet):
    lease = fleet.lease()
    good = dict(category="REPAIRS", source_reference="X-1", driver_id=lease.primary_driver_id, lease_id=lease.pk)
    for bad, field in [
        (dict(good, amount=D("0.00"), period=P1), "amount"),
        (dict(good, amount=D("-5.00"), period=P1), "amount"),
        (dict(good, amount=D("1.005"), period=P1), "amount"),
        (dict(good, amount=D("10.00"), period=dt.date(2025, 9, 29)), "period"),
        (dict(good, amount=D("10.00"), period=P1, category="NOPE"), "category"),
    ]:
        with pytest.raises(InvalidInput) as err:
            services.post_obligations(rows=[services.ObligationRow(**bad)])
        assert field in err.value.fields
    assert ledger_counts() == (0, 0, 0)


def test_the_waterfall_example_of_the_spec(fleet):
    lease = fleet.lease()
    driver = lease.primary_driver
    taxes = charge(lease, Category.TAXES, "191.25", "TAX-1")
    ezpass = charge(lease, Category.EZPASS, "31.22", "EZ-1")
    rent = charge(lease, Category.LEASE, "500.00", "LEASE-1")

    receipt = services.apply_earnings(driver=driver, lease=lease, period=P1, amount=D("465.00"))

    for balance in (taxes, ezpass, rent):
        balance.refresh_from_db()
    assert (taxes.status, taxes.outstanding) == ("CLOSED", D("0.00"))
    assert (ezpass.status, ezpass.outstanding) == ("CLOSED", D("0.00"))
    assert (rent.status, rent.outstanding) == ("OPEN", D("257.47"))
    assert (receipt.amount, receipt.unapplied) == (D("465.00"), D("0.00"))
    credits = receipt.postings.order_by("id")
    assert [(p.category, p.amount) for p in credits] == [
        ("TAXES", D("191.25")),
        ("EZPASS", D("31.22")),
        ("LEASE", D("242.53")),
    ]
    assert {p.effective_date for p in credits} == {dt.date(2025, 10, 4)}


def test_earnings_pay_by_priority_then_oldest_due_then_creation(fleet):
    lease = fleet.lease()
    loan_new = charge(lease, Category.LOANS, "50.00", "DL-2", period=P2)
    repair = charge(lease, Category.REPAIRS, "40.00", "RPR-1", period=P2)
    loan_old = charge(lease, Category.LOANS, "50.00", "DL-1", period=P1)
    misc_a = charge(lease, Category.MISC, "10.00", "MISC-A", period=P1)
    misc_b = charge(lease, Category.MISC, "10.00", "MISC-B", period=P1)

    services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P2, amount=D("145.00"))

    outstanding = {b.source_reference: b.outstanding for b in ObligationBalance.objects.all()}
    assert outstanding == {
        repair.source_reference: D("0.00"),
        loan_old.source_reference: D("0.00"),
        loan_new.source_reference: D("0.00"),
        misc_a.source_reference: D("5.00"),
        misc_b.source_reference: D("10.00"),
    }


def test_earnings_above_what_is_owed_stay_unapplied_for_the_driver(fleet):
    lease = fleet.lease()
    charge(lease, Category.LEASE, "300.00", "LEASE-1")
    receipt = services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("1000.00"))
    assert receipt.unapplied == D("700.00")


def test_earnings_do_not_pay_charges_due_in_a_later_period(fleet):
    lease = fleet.lease()
    charge(lease, Category.LEASE, "100.00", "LEASE-1", period=P1)
    later = charge(lease, Category.REPAIRS, "100.00", "RPR-EARLY", period=P3)
    receipt = services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("150.00"))
    later.refresh_from_db()
    assert later.outstanding == D("100.00")
    assert receipt.unapplied == D("50.00")


def test_earnings_rerun_changes_nothing(fleet):
    lease = fleet.lease()
    charge(lease, Category.LEASE, "500.00", "LEASE-1")
    first = services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("200.00"))
    before = ledger_counts()
    again = services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("200.00"))
    assert again.pk == first.pk and ledger_counts() == before
    assert ObligationBalance.objects.get().outstanding == D("300.00")


def test_bulk_earnings_for_many_leases_in_one_call(fleet, django_assert_max_num_queries):
    leases = [fleet.lease() for _ in range(20)]
    for lease in leases:
        charge(lease, Category.TAXES, "10.00", f"TAX-{lease.pk}")
        charge(lease, Category.LEASE, "100.00", f"LEASE-{lease.pk}")
    rows = [services.EarningsRow(lease.primary_driver_id, lease.pk, P1, D("60.00")) for lease in leases]
    with django_assert_max_num_queries(12):
        result = services.apply_earnings_bulk(rows=rows)
    assert (result.receipts, result.received, result.applied, result.unapplied) == (
        20,
        D("1200.00"),
        D("1200.00"),
        D("0.00"),
    )
    assert set(ObligationBalance.objects.filter(category="LEASE").values_list("outstanding", flat=True)) == {D("50.00")}


def test_interim_payment_allocations_then_leases_oldest_first_then_prepayment(fleet):
    lease = fleet.lease()
    driver = lease.primary_driver
    repair = charge(lease, Category.REPAIRS, "80.00", "RPR-1")
    old_rent = charge(lease, Category.LEASE, "100.00", "LEASE-1", period=P1)
    new_rent = charge(lease, Category.LEASE, "100.00", "LEASE-2", period=P2)

    receipt = services.apply_interim_payment(
        driver=driver,
        lease=lease,
        amount=D("300.00"),
        method="CASH",
        allocations=[services.Allocation(repair.pk, D("50.00"))],
    )

    for balance in (repair, old_rent, new_rent):
        balance.refresh_from_db()
    assert (repair.outstanding, old_rent.outstanding, new_rent.outstanding) == (D("30.00"), D("0.00"), D("0.00"))
    assert receipt.unapplied == D("50.00")
    assert prepayment_credit(driver_id=driver.pk, lease_id=lease.pk) == D("50.00")

    next_rent = charge(lease, Category.LEASE, "100.00", "LEASE-3", period=P3)
    receipt.refresh_from_db()
    assert next_rent.outstanding == D("50.00") and receipt.unapplied == D("0.00")
    applied = next_rent.postings.get(entry_type="CREDIT")
    # Credit counts no earlier than the money was there: booked today, after P3's Sunday.
    day = max(P3, timezone.localdate())
    assert (applied.receipt_id, applied.amount, applied.effective_date) == (receipt.pk, D("50.00"), day)
    assert applied.period == period_start(day)


def test_prepayment_receipt_pays_the_next_lease_charge(fleet):
    lease = fleet.lease()
    driver = lease.primary_driver
    services.record_prepayment(driver=driver, lease=lease, amount=D("600.00"), method="ACH")
    rent = charge(lease, Category.LEASE, "500.00", "LEASE-1")
    assert rent.status == "CLOSED"
    assert prepayment_credit(driver_id=driver.pk, lease_id=lease.pk) == D("100.00")
    repair = charge(lease, Category.REPAIRS, "100.00", "RPR-1")
    assert repair.outstanding == D("100.00"), "prepayment pays only LEASE charges"


def test_interim_payment_retry_with_the_same_key_is_a_no_op(fleet):
    lease = fleet.lease()
    charge(lease, Category.LEASE, "100.00", "LEASE-1")
    kwargs = dict(driver=lease.primary_driver, lease=lease, amount=D("40.00"), method="CHECK", idempotency_key="k-1")
    first = services.apply_interim_payment(**kwargs)
    before = ledger_counts()
    assert services.apply_interim_payment(**kwargs).pk == first.pk
    assert ledger_counts() == before
    with pytest.raises(Conflict):
        services.apply_interim_payment(**{**kwargs, "amount": D("41.00")})


@pytest.mark.parametrize(
    "case",
    ["above_outstanding", "closed", "other_driver", "taxes", "above_payment", "bad_method", "zero", "unknown"],
)
def test_interim_payment_bad_input_writes_nothing(fleet, case):
    lease = fleet.lease()
    other = fleet.lease()
    driver = lease.primary_driver
    repair = charge(lease, Category.REPAIRS, "80.00", "RPR-1")
    taxes = charge(lease, Category.TAXES, "20.00", "TAX-1")
    paid = charge(lease, Category.MISC, "5.00", "MISC-1")
    services.apply_interim_payment(
        driver=driver, lease=lease, amount=D("5.00"), method="CASH", allocations=[services.Allocation(paid.pk, D("5"))]
    )
    foreign = charge(other, Category.REPAIRS, "80.00", "RPR-2")
    before = ledger_counts()
    amount, method, allocations, error = D("100.00"), "CASH", [], InvalidInput
    if case == "above_outstanding":
        allocations = [services.Allocation(repair.pk, D("80.01"))]
    elif case == "closed":
        allocations, error = [services.Allocation(paid.pk, D("1.00"))], Conflict
    elif case == "other_driver":
        allocations = [services.Allocation(foreign.pk, D("10.00"))]
    elif case == "taxes":
        allocations = [services.Allocation(taxes.pk, D("10.00"))]
    elif case == "above_payment":
        amount, allocations = D("50.00"), [services.Allocation(repair.pk, D("60.00"))]
    elif case == "bad_method":
        method = "BITCOIN"
    elif case == "zero":
        amount = D("0.00")
    elif case == "unknown":
        allocations = [services.Allocation(999999, D("1.00"))]
    with pytest.raises(error) as err:
        services.apply_interim_payment(
            driver=driver, lease=lease, amount=amount, method=method, allocations=allocations
        )
    assert err.value.message and err.value.fields
    assert ledger_counts() == before


def test_void_credit_reopens_balance_and_returns_money_to_receipt(fleet):
    lease = fleet.lease()
    repair = charge(lease, Category.REPAIRS, "100.00", "RPR-1")
    receipt = services.apply_interim_payment(
        driver=lease.primary_driver,
        lease=lease,
        amount=D("150.00"),
        method="CASH",
        allocations=[services.Allocation(repair.pk, D("100.00"))],
    )
    credit = receipt.postings.get()
    repair.refresh_from_db()
    assert repair.status == "CLOSED"

    reversal = services.void_posting(posting=credit, reason="Applied to the wrong invoice")

    repair.refresh_from_db()
    receipt.refresh_from_db()
    credit.refresh_from_db()
    # Credit pays LEASE balances only, and this lease has none open: the money waits on the receipt.
    assert (repair.status, repair.outstanding) == ("OPEN", D("100.00"))
    assert receipt.unapplied == D("150.00")
    assert credit.status == "VOIDED"
    assert (reversal.entry_type, reversal.amount, reversal.reverses_id) == ("DEBIT", D("100.00"), credit.pk)
    assert reversal.reason == "Applied to the wrong invoice"
    assert reversal.effective_date == max(timezone.localdate(), credit.effective_date)


def test_void_of_an_earnings_payment_pays_what_is_owed_again_from_the_money_handed_back(fleet):
    lease = fleet.lease()
    rent = charge(lease, Category.LEASE, "100.00", "LEASE-1")
    receipt = services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("150.00"))
    credit = receipt.postings.get()

    reversal = services.void_posting(posting=credit, reason="Applied to the wrong week")

    rent.refresh_from_db()
    receipt.refresh_from_db()
    assert (rent.status, rent.outstanding, receipt.unapplied) == ("CLOSED", D("0.00"), D("50.00"))
    again = rent.postings.get(status="POSTED", entry_type="CREDIT", reverses__isnull=True)
    assert (again.receipt_id, again.amount, again.effective_date) == (receipt.pk, D("100.00"), reversal.effective_date)
    assert violations() == []


def test_void_debit_releases_payments_then_reverses_the_charge(fleet):
    lease = fleet.lease()
    driver = lease.primary_driver
    repair = charge(lease, Category.REPAIRS, "200.00", "RPR-1")
    interim = services.apply_interim_payment(
        driver=driver,
        lease=lease,
        amount=D("50.00"),
        method="CASH",
        allocations=[services.Allocation(repair.pk, D("50.00"))],
    )
    earnings = services.apply_earnings(driver=driver, lease=lease, period=P1, amount=D("80.00"))
    repair.refresh_from_db()
    assert repair.outstanding == D("70.00")
    charge_posting = repair.postings.get(entry_type="DEBIT")

    services.void_posting(posting=charge_posting.pk, reason="Invoice entered twice by mistake")

    repair.refresh_from_db()
    interim.refresh_from_db()
    earnings.refresh_from_db()
    assert (repair.outstanding, repair.status) == (D("0.00"), "CLOSED")
    assert interim.unapplied == D("50.00") and earnings.unapplied == D("80.00")
    assert set(repair.postings.filter(reverses__isnull=True).values_list("status", flat=True)) == {"VOIDED"}
    assert repair.postings.filter(reverses__isnull=False).count() == 3
    assert obligation_balances(category="REPAIRS", source_references=["RPR-1"])["RPR-1"].voided


def test_void_refusals(fleet):
    lease = fleet.lease()
    rent = charge(lease, Category.LEASE, "100.00", "LEASE-1")
    posting = rent.postings.get()
    before = ledger_counts()
    with pytest.raises(InvalidInput) as err:
        services.void_posting(posting=posting, reason="too short")
    assert "reason" in err.value.fields
    assert ledger_counts() == before
    reversal = services.void_posting(posting=posting, reason="Charged the wrong lease")
    after = ledger_counts()
    with pytest.raises(Conflict):
        services.void_posting(posting=posting, reason="Charged the wrong lease again")
    with pytest.raises(Conflict):
        services.void_posting(posting=reversal, reason="Undo the reversal please")
    with pytest.raises(NotFound):
        services.void_posting(posting=987654, reason="No such posting at all")
    assert ledger_counts() == after


def test_the_database_refuses_changes_to_postings(fleet):
    lease = fleet.lease()
    posting = charge(lease, Category.LEASE, "100.00", "LEASE-1").postings.get()
    statements = [
        ("UPDATE ledger_posting SET amount = 1 WHERE id = %s", DatabaseError),
        ("UPDATE ledger_posting SET status = 'VOIDED' WHERE id = %s", DatabaseError),
        ("DELETE FROM ledger_posting WHERE id = %s", DatabaseError),
        (
            "UPDATE ledger_obligationbalance SET outstanding = -1 WHERE id = (SELECT obligation_id FROM ledger_posting "
            "WHERE id = %s)",
            IntegrityError,
        ),
    ]
    for sql, error in statements:
        with pytest.raises(error), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [posting.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.create(
            entry_type=EntryType.DEBIT,
            category="LEASE",
            amount=D("0.00"),
            obligation_id=posting.obligation_id,
            driver_id=posting.driver_id,
            lease_id=posting.lease_id,
            period=P1,
            effective_date=P1,
            idempotency_key="zero",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.create(
            entry_type=EntryType.CREDIT,
            category="LEASE",
            amount=D("1.00"),
            obligation_id=posting.obligation_id,
            driver_id=posting.driver_id,
            lease_id=posting.lease_id,
            period=P1,
            effective_date=P1,
            idempotency_key=posting.idempotency_key,
        )


def test_balances_as_of_reproduce_the_past(fleet):
    lease = fleet.lease()
    driver = lease.primary_driver
    rent = charge(lease, Category.LEASE, "500.00", "LEASE-1", period=P1)
    charge(lease, Category.TAXES, "100.00", "TAX-1", period=P1)
    services.apply_earnings(driver=driver, lease=lease, period=P1, amount=D("300.00"))
    charge(lease, Category.LEASE, "500.00", "LEASE-2", period=P2)
    end_p1 = dt.date(2025, 10, 4)

    def view(as_of):
        return {(r.source_reference, r.outstanding) for r in balances_as_of(as_of=as_of, lease_id=lease.pk)}

    assert view(end_p1) == {("LEASE-1", D("300.00"))}
    credit = rent.postings.get(entry_type="CREDIT")
    services.void_posting(posting=credit, reason="Moved to another lease")
    assert view(end_p1) == {("LEASE-1", D("300.00"))}, "a later void does not rewrite the past"
    today = timezone.localdate()
    # The 200.00 handed back pays LEASE-1 again (oldest first), dated today.
    assert view(today) == {("LEASE-1", D("300.00")), ("LEASE-2", D("500.00"))}
    assert view(dt.date(2025, 9, 27)) == set()


def test_listeners_hear_closing_and_reopening(fleet):
    heard = []
    services.BALANCE_LISTENERS.register("test", services.BalanceListener(category="REPAIRS", notify=heard.append))
    try:
        lease = fleet.lease()
        charge(lease, Category.REPAIRS, "100.00", "RPR-9-01")
        receipt = services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("100.00"))
        assert heard == [["RPR-9-01"]]
        services.void_posting(posting=receipt.postings.get(), reason="Earnings were misattributed")
        assert heard == [["RPR-9-01"], ["RPR-9-01"]]
    finally:
        services.BALANCE_LISTENERS._entries.pop("test")


def test_check_ledger_command_reports_violations(fleet, capsys):
    lease = fleet.lease()
    rent = charge(lease, Category.LEASE, "100.00", "LEASE-1")
    call_command("check_ledger")
    assert "Ledger sound" in capsys.readouterr().out
    with transaction.atomic():
        ObligationBalance.objects.filter(pk=rent.pk).update(outstanding=D("90.00"))
        with pytest.raises(CommandError, match="violation"):
            call_command("check_ledger")
        assert "outstanding 90.00, postings say 100.00" in capsys.readouterr().err
        transaction.set_rollback(True)


def test_a_backdated_payment_does_not_rewrite_reported_balances(fleet):
    lease = fleet.lease()
    future = dt.date.today() + dt.timedelta(days=21)
    due_later = charge(
        lease, Category.LEASE, "100.00", "LEASE-LATER", period=future - dt.timedelta(days=(future.weekday() + 1) % 7)
    )
    earlier = charge(lease, Category.REPAIRS, "100.00", "RPR-1", period=P1)
    last_week = dt.date.today() - dt.timedelta(days=7)
    services.apply_interim_payment(
        driver=lease.primary_driver,
        lease=lease,
        amount=D("150.00"),
        method="CASH",
        received_on=last_week,
        allocations=[services.Allocation(earlier.pk, D("50.00"))],
    )
    before = {r.source_reference: r.outstanding for r in balances_as_of(as_of=last_week, lease_id=lease.pk)}
    assert before == {"RPR-1": D("100.00")}, "the payment is booked today, not on the backdated day"
    between = dt.date.today() + dt.timedelta(days=1)
    assert all(r.outstanding >= 0 for r in balances_as_of(as_of=between, lease_id=lease.pk, include_closed=True))
    due_later.refresh_from_db()
    assert due_later.outstanding == D("0.00")
    credit = due_later.postings.get(entry_type="CREDIT")
    assert credit.effective_date == due_later.due_period, "never counted before the charge is due"


def test_a_cashier_key_shaped_like_an_earnings_key_cannot_swallow_the_weeks_earnings(fleet):
    """The cashier's Idempotency-Key is the receipt's key as sent, and weekly earnings are keyed
    `earnings:<lease>:<driver>:<period>` with ON CONFLICT DO NOTHING: a payment recorded with such
    a key made the week's card earnings disappear without a trace (no receipt, nothing paid)."""
    lease = fleet.lease()
    driver = lease.primary_driver
    rent = charge(lease, Category.LEASE, "500.00", "LEASE-1")
    key = f"earnings:{lease.pk}:{driver.pk}:{P1.isoformat()}"
    with pytest.raises(InvalidInput) as refused:
        services.apply_interim_payment(
            driver=driver, lease=lease, amount=D("10.00"), method="CASH", idempotency_key=key
        )
    assert "idempotency_key" in refused.value.fields

    receipt = services.apply_earnings(driver=driver, lease=lease, period=P1, amount=D("400.00"))
    assert (receipt.kind, receipt.amount) == (Receipt.Kind.EARNINGS, D("400.00"))
    rent.refresh_from_db()
    assert rent.outstanding == D("100.00")


def test_earnings_of_two_weeks_in_one_call_pay_only_what_each_week_owes(fleet):
    """Rule: earnings of period P pay only balances due in P or earlier. The weekly close passes one
    period, but the bulk service accepts several and then lets week 1's receipt pay week 2's rent."""
    lease = fleet.lease()
    driver = lease.primary_driver
    P2 = P1 + dt.timedelta(weeks=1)
    week1 = charge(lease, Category.LEASE, "100.00", "LEASE-W1", period=P1)
    week2 = charge(lease, Category.LEASE, "500.00", "LEASE-W2", period=P2)
    services.apply_earnings_bulk(
        rows=[
            services.EarningsRow(driver.pk, lease.pk, P1, D("600.00")),
            services.EarningsRow(driver.pk, lease.pk, P2, D("50.00")),
        ]
    )
    first = Receipt.objects.get(period=P1, kind="EARNINGS")
    paid_by_first = {p.obligation_id: p.amount for p in first.postings.all()}
    assert paid_by_first == {week1.pk: D("100.00")}
    assert first.unapplied == D("500.00")
    week2.refresh_from_db()
    assert week2.outstanding == D("450.00")
