"""DTR snapshots (SPEC §5): read from the ledger as of the week's end, written once, voided and
reissued as a new version — and reproduced exactly after later activity."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from batpay.errors import Conflict, InvalidInput, NotFound
from batpay.periods import period_start
from leases import services as fleet_services
from ledger import services
from ledger.models import Category, Posting
from statements.close import close_earnings
from statements.dtr import generate_dtrs, void_dtr
from statements.models import DriverTransactionReport
from statements.snapshots import build_snapshots
from statements.tests.trip_files import import_lines, worked_example

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)
P3 = dt.date(2025, 10, 12)
DTR = DriverTransactionReport


def charge(lease, category, amount, ref, period=P1, driver=None):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=driver or lease.primary_driver,
        lease=lease,
        period=period,
    )


def close_week(period):
    close_earnings(period=period)
    generate_dtrs(period=period, render=False)


def current(lease, period) -> DTR:
    return DTR.objects.get(lease=lease, period=period, status=DTR.Status.ISSUED)


def category(report, name) -> dict:
    return next(c for c in report.snapshot["categories"] if c["category"] == name)


@pytest.fixture
def worked(fleet):
    """The worked example's week closed: TAXES and EZPASS paid, LEASE 257.47 carried forward."""
    lease = fleet.lease()
    import_lines(worked_example(lease, P1))
    charge(lease, Category.EZPASS, "31.22", "EZP-1")
    charge(lease, Category.LEASE, "500.00", "LEASE-1")
    close_week(P1)
    return lease


def test_regenerating_a_past_dtr_after_later_activity_gives_the_same_figures(worked, fleet):
    lease = worked
    original = current(lease, P1)
    ezpass_debit = Posting.objects.get(obligation__source_reference="EZP-1", entry_type="DEBIT", reverses=None)
    # Later activity: the next week's charge and earnings, a cashier's payment, and a void of a
    # charge the first DTR showed as paid (its money returns to the earnings receipt today).
    charge(lease, Category.LEASE, "500.00", "LEASE-2", period=P2)
    charge(lease, Category.REPAIRS, "200.00", "RPR-2025-001-01", period=P2)
    services.apply_interim_payment(driver=lease.primary_driver, lease=lease, amount=D("100.00"), method="CASH")
    services.void_posting(posting=ezpass_debit, reason="Toll charged to the wrong tag")
    import_lines(worked_example(lease, P2, prefix="W2"))
    close_week(P2)

    voided, replacement = void_dtr(dtr_number=original.dtr_number, reason="Reprint requested by the driver")

    assert replacement.snapshot == original.snapshot
    assert (replacement.version, replacement.supersedes_id, replacement.period) == (2, original.pk, P1)
    assert replacement.dtr_number != original.dtr_number
    assert (replacement.total_due_to_driver, replacement.balance_carried_forward) == (D("0.00"), D("257.47"))
    voided.refresh_from_db()
    assert (voided.status, voided.void_reason) == ("VOIDED", "Reprint requested by the driver")
    assert voided.snapshot == original.snapshot  # the voided report is kept as it was issued


def test_the_next_dtr_shows_later_corrections_not_the_past_one(worked):
    lease = worked
    ezpass_debit = Posting.objects.get(obligation__source_reference="EZP-1", entry_type="DEBIT", reverses=None)
    charge(lease, Category.LEASE, "500.00", "LEASE-2", period=P2)
    services.void_posting(posting=ezpass_debit, reason="Toll charged to the wrong tag")
    # The void is effective today, so it belongs to the week running now, not to P2: P2 still
    # reads as it would have on its Saturday night.
    close_week(P2)

    p2 = current(lease, P2)
    assert category(p2, "LEASE")["prior_balance"] == "257.47"
    assert category(p2, "EZPASS") == {**category(p2, "EZPASS"), "prior_balance": "0.00", "charges": "0.00"}
    assert p2.snapshot["totals"]["prior_balance"] == "257.47"


def test_detail_lines_name_each_charge_and_what_paid_it(fleet):
    lease = fleet.lease()
    extra = fleet.driver(first_name="Ana", last_name="Shift", tlc_license_number="5777777")
    fleet_services.lease_update(actor=fleet.actor, lease=lease, changes={"additional_driver_ids": [extra.pk]})
    import_lines(worked_example(lease, P1, extra_driver=extra))
    charge(lease, Category.LEASE, "500.00", "LEASE-1")
    repair = charge(lease, Category.REPAIRS, "100.00", "RPR-2025-001-01")
    charge(lease, Category.REPAIRS, "100.00", "RPR-2025-001-02", period=P2)  # posted early: not this week's
    charge(lease, Category.PVB, "65.00", "PVB-4451", driver=extra)
    services.apply_interim_payment(
        driver=lease.primary_driver,
        lease=lease,
        amount=D("60.00"),
        method="CASH",
        allocations=[services.Allocation(balance_id=repair.pk, amount=D("60.00"))],
    )
    close_earnings(period=P1)

    snapshot = build_snapshots(period=P1, lease_ids=[lease.pk])[lease.pk]

    repairs = next(c for c in snapshot["categories"] if c["category"] == "REPAIRS")
    assert [line["source_reference"] for line in repairs["lines"]] == ["RPR-2025-001-01"]
    (line,) = repairs["lines"]
    # The cash payment is booked today, after the week: the week shows the repair still owed.
    assert (line["charges"], line["paid"], line["balance_carried_forward"]) == ("100.00", "0.00", "100.00")
    pvb = next(c for c in snapshot["categories"] if c["category"] == "PVB")
    assert pvb["lines"][0]["driver"] == "Ana Shift" and pvb["lines"][0]["paid"] == "0.00"
    lease_lines = next(c for c in snapshot["categories"] if c["category"] == "LEASE")["lines"]
    assert lease_lines[0]["paid_from_earnings"] == "273.75"  # 465.00 − taxes 191.25
    assert snapshot["trips"]["by_driver"] == [
        {"driver_id": lease.primary_driver_id, "name": lease.primary_driver.full_name,
         "tlc_license": lease.primary_driver.tlc_license_number, "trips": 37, "card_trips": 7,
         "card_total": "325.50", "cash_total": "743.75"},
        {"driver_id": extra.pk, "name": "Ana Shift", "tlc_license": "5777777", "trips": 3, "card_trips": 3,
         "card_total": "139.50", "cash_total": "0.00"},
    ]  # fmt: skip
    assert [d["name"] for d in snapshot["additional_drivers"]] == ["Ana Shift"]
    assert snapshot["card_earnings"] == "465.00"


def test_a_cashiers_payment_during_the_week_shows_as_paid_otherwise(worked, fleet, monkeypatch):
    from django.utils import timezone

    lease = worked
    charge(lease, Category.LEASE, "500.00", "LEASE-2", period=P2)
    # A cashier on Wednesday of week 2 pays 300 on the lease (the oldest balance first).
    monkeypatch.setattr(timezone, "localdate", lambda *args: dt.date(2025, 10, 8))
    services.apply_interim_payment(
        driver=lease.primary_driver, lease=lease, amount=D("300.00"), method="CASH", received_on=dt.date(2025, 10, 8)
    )
    monkeypatch.undo()
    close_week(P2)

    s = current(lease, P2).snapshot
    leases = category(current(lease, P2), "LEASE")
    assert (leases["prior_balance"], leases["charges"], leases["paid"], leases["paid_other"]) == (
        "257.47",
        "500.00",
        "300.00",
        "300.00",
    )
    assert leases["balance_carried_forward"] == "457.47"
    assert (s["totals"]["paid_from_earnings"], s["card_earnings"], s["total_due_to_driver"]) == ("0.00", "0.00", "0.00")


def test_earnings_beyond_what_is_owed_are_due_to_the_driver(fleet):
    lease = fleet.lease()
    import_lines(worked_example(lease, P1))
    charge(lease, Category.LEASE, "200.00", "LEASE-1")
    close_week(P1)

    report = current(lease, P1)

    assert report.total_due_to_driver == D("73.75")  # 465.00 − 191.25 − 200.00
    assert (report.snapshot["net"], report.snapshot["totals"]["balance_carried_forward"]) == ("73.75", "0.00")


def test_voiding_needs_a_reason_happens_once_and_keeps_one_issued_dtr(worked):
    report = current(worked, P1)

    with pytest.raises(InvalidInput):
        void_dtr(dtr_number=report.dtr_number, reason="too short")
    with pytest.raises(NotFound):
        void_dtr(dtr_number="DTR-2025-999999", reason="no such report at all")
    _, replacement = void_dtr(dtr_number=report.dtr_number, reason="Driver disputes the lease charge")
    with pytest.raises(Conflict) as again:
        void_dtr(dtr_number=report.dtr_number, reason="Driver disputes the lease charge")

    assert again.value.code == "already_voided"
    assert DTR.objects.filter(lease=worked, period=P1, status="ISSUED").get() == replacement
    _, third = void_dtr(dtr_number=replacement.dtr_number, reason="Second reprint for the driver")
    assert (third.version, third.supersedes_id) == (3, replacement.pk)


def test_the_database_refuses_to_change_or_delete_a_dtr(worked):
    report = current(worked, P1)

    for change in (
        lambda: DTR.objects.filter(pk=report.pk).update(snapshot={"card_earnings": "999.00"}),
        lambda: DTR.objects.filter(pk=report.pk).update(total_due_to_driver=D("5.00")),
        lambda: DTR.objects.filter(pk=report.pk).update(status="VOIDED", void_reason="", voided_at=None),
        lambda: DTR.objects.filter(pk=report.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    DTR.objects.filter(pk=report.pk).update(pdf="dtrs/2025/x.pdf")  # its PDF may be stored
    report.refresh_from_db()
    assert report.total_due_to_driver == D("0.00") and report.status == "ISSUED"


def test_snapshots_of_many_leases_cost_a_fixed_number_of_queries(fleet, django_assert_max_num_queries):
    leases = [fleet.lease() for _ in range(12)]
    for n, lease in enumerate(leases):
        import_lines(worked_example(lease, P1, prefix=f"L{n}"))
        charge(lease, Category.LEASE, "500.00", f"LEASE-{n}")
    close_earnings(period=P1)

    # Leases and their additional drivers, balance lines, events, earnings, trips, payouts, deposits held.
    with django_assert_max_num_queries(8):
        snapshots = build_snapshots(period=P1, lease_ids=[lease.pk for lease in leases])

    assert {s["totals"]["balance_carried_forward"] for s in snapshots.values()} == {"226.25"}


def test_earnings_a_void_hands_back_pay_what_is_owed_then_are_due_on_the_statement_of_the_void(worked):
    lease = worked
    ezpass_debit = Posting.objects.get(obligation__source_reference="EZP-1", entry_type="DEBIT", reverses=None)
    # The EZPASS charge was paid from P1's earnings; voiding it hands 31.22 back to that receipt
    # today, after P1's statement was issued. The driver still owes rent (226.25): the money pays
    # it at once, and this week's statement says so in words.
    reversal = services.void_posting(posting=ezpass_debit, reason="Toll charged to the wrong tag")
    this_week = period_start(timezone.localdate())

    snapshot = build_snapshots(period=this_week, lease_ids=[lease.pk])[lease.pk]

    assert (snapshot["earnings_returned"], snapshot["total_due_to_driver"]) == ("0.00", "0.00")
    lease_lines = next(c for c in snapshot["categories"] if c["category"] == "LEASE")["lines"]
    assert [(e["text"], e["amount"]) for e in lease_lines[0]["events"]] == [
        (f"Credit from earnings of the week of {P1.isoformat()} returned by void #{reversal.pk}", "-31.22")
    ]
    ezpass = next(c for c in snapshot["categories"] if c["category"] == "EZPASS")
    assert ezpass["charges"] == "-31.22" and ezpass["payments_reversed"] == "31.22" and ezpass["paid"] == "-31.22"
    assert [e["text"] for e in ezpass["lines"][0]["events"]] == [
        f"Payment reversed — void #{reversal.pk - 1}: Toll charged to the wrong tag",
        f"Charge voided — void #{reversal.pk}: Toll charged to the wrong tag",
    ]
    past = build_snapshots(period=P1, lease_ids=[lease.pk])[lease.pk]
    assert (past["earnings_returned"], past["total_due_to_driver"]) == ("0.00", "0.00")
