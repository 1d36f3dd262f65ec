"""Random histories of charges, payments, earnings and voids on real PostgreSQL.

Whatever happens, every invariant holds, money is conserved, a refused operation writes
nothing, and the earnings waterfall pays exactly what a plain Python model of the priority
rule says it should.
"""

import datetime as dt
from decimal import Decimal as D

from django.db import transaction
from django.db.models import Sum
from hypothesis import example, given, settings
from hypothesis import strategies as st

from batpay.errors import DomainError
from ledger import services
from ledger.invariants import violations
from ledger.models import PRIORITY, Category, ObligationBalance, Posting, Receipt

PERIODS = [dt.date(2025, 9, 7) + dt.timedelta(weeks=k) for k in range(4)]
cents = st.integers(min_value=1, max_value=150_000).map(lambda c: D(c).scaleb(-2))
small_cents = st.integers(min_value=1, max_value=40_000).map(lambda c: D(c).scaleb(-2))
lease_index = st.sampled_from([0, 0, 0, 1])  # mostly one lease, so operations meet on the same balances

charge_op = st.tuples(st.just("charge"), lease_index, st.sampled_from(Category.values), small_cents, st.integers(0, 3))
interim_op = st.tuples(
    st.just("interim"),
    lease_index,
    cents,
    st.lists(st.tuples(st.integers(0, 30), st.integers(5, 120)), max_size=3),
)
earnings_op = st.tuples(st.just("earnings"), lease_index, st.integers(0, 3), cents)
prepay_op = st.tuples(st.just("prepay"), lease_index, small_cents)
void_op = st.tuples(st.just("void"), st.integers(0, 200))
operation = st.one_of(charge_op, charge_op, charge_op, earnings_op, earnings_op, interim_op, prepay_op, void_op)


def snapshot():
    return (
        Posting.objects.count(),
        list(ObligationBalance.objects.order_by("pk").values_list("pk", "outstanding")),
        list(Receipt.objects.order_by("pk").values_list("pk", "unapplied")),
    )


def expected_waterfall(lease, period, amount):
    """The priority rule in plain Python: priority, then oldest due, then creation order."""
    open_balances = sorted(
        ObligationBalance.objects.filter(
            lease=lease, driver=lease.primary_driver, status="OPEN", due_period__lte=period
        ),
        key=lambda b: (PRIORITY[b.category], b.due_period, b.pk),
    )
    left, paid = amount, {}
    for balance in open_balances:
        take = min(left, balance.outstanding)
        if take > 0:
            paid[balance.pk] = take
            left -= take
    return paid, left


def run(op, leases, counter):
    kind = op[0]
    if kind == "charge":
        _, which, category, amount, period = op
        lease = leases[which]
        counter[0] += 1
        services.create_obligation(
            category=category,
            amount=amount,
            source_reference=f"SRC-{counter[0]}",
            driver=lease.primary_driver,
            lease=lease,
            period=PERIODS[period],
        )
    elif kind == "interim":
        _, which, amount, picks = op
        lease = leases[which]
        candidates = list(ObligationBalance.objects.filter(lease=lease).order_by("pk"))
        allocations = []
        for index, percent in picks:
            if candidates:
                balance = candidates[index % len(candidates)]
                wanted = max(D("0.01"), (balance.outstanding * percent / 100).quantize(D("0.01")))
                allocations.append(services.Allocation(balance.pk, wanted))
        services.apply_interim_payment(
            driver=lease.primary_driver, lease=lease, amount=amount, method="CASH", allocations=allocations
        )
    elif kind == "earnings":
        _, which, period, amount = op
        lease = leases[which]
        already = Receipt.objects.filter(kind="EARNINGS", lease=lease, period=PERIODS[period]).exists()
        expected, left = expected_waterfall(lease, PERIODS[period], amount)
        before = {b.pk: b.outstanding for b in ObligationBalance.objects.filter(pk__in=expected)}
        receipt = services.apply_earnings(
            driver=lease.primary_driver, lease=lease, period=PERIODS[period], amount=amount
        )
        if not already:
            assert receipt.unapplied == left
            after = {b.pk: b.outstanding for b in ObligationBalance.objects.filter(pk__in=expected)}
            assert {pk: before[pk] - after[pk] for pk in expected} == expected
    elif kind == "prepay":
        _, which, amount = op
        lease = leases[which]
        services.record_prepayment(driver=lease.primary_driver, lease=lease, amount=amount, method="ACH")
    elif kind == "void":
        postings = list(Posting.objects.order_by("pk").values_list("pk", flat=True))
        if postings:
            services.void_posting(posting=postings[op[1] % len(postings)], reason="Property test correction")


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(operation, min_size=1, max_size=20))
@example(  # priority beats age: this week's TAXES is paid before last week's MISC
    ops=[
        ("charge", 0, "MISC", D("100.00"), 0),
        ("charge", 0, "TAXES", D("100.00"), 1),
        ("earnings", 0, 1, D("150.00")),
    ]
)
def test_random_histories_keep_every_invariant_and_conserve_money(fleet, ops):
    leases = getattr(fleet, "pair", None) or [fleet.lease(), fleet.lease()]
    fleet.pair = leases
    with transaction.atomic():
        counter = [0]
        received = D("0.00")
        for op in ops:
            before = snapshot()
            receipts_before = Receipt.objects.count()
            try:
                with transaction.atomic():
                    run(op, leases, counter)
            except DomainError:
                assert snapshot() == before, f"a refused {op[0]} wrote something"
                continue
            for receipt in Receipt.objects.order_by("pk")[receipts_before:]:
                received += receipt.amount
        assert violations() == []
        receipts = Receipt.objects.aggregate(amount=Sum("amount"), unapplied=Sum("unapplied"))
        assert (receipts["amount"] or D("0")) == received
        credits = Posting.objects.filter(receipt__isnull=False, entry_type="CREDIT").aggregate(s=Sum("amount"))["s"]
        debits = Posting.objects.filter(receipt__isnull=False, entry_type="DEBIT").aggregate(s=Sum("amount"))["s"]
        applied = (credits or D("0")) - (debits or D("0"))
        assert received == applied + (receipts["unapplied"] or D("0")), "money received = applied + unapplied"
        owed = ObligationBalance.objects.aggregate(s=Sum("outstanding"))["s"] or D("0")
        net = sum(
            (
                p.amount if p.entry_type == "DEBIT" else -p.amount
                for p in Posting.objects.filter(obligation__isnull=False)
            ),
            D("0"),
        )
        assert owed == net
        transaction.set_rollback(True)
