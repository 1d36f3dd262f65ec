"""Issue 13's worked example for parking violations and TLC summonses, from files to the cent.

Weeks: P1 = 2025-09-28 … 10-04, P2 = 10-05 … 10-11, P3 = 10-12 … 10-18. One lease, its driver drives
the worked week of trips every week (card earnings 465.00, taxes 191.25).

- P1: a PVB file charges summons 1111111111 (fine 65.00 + 2.5 % fee 1.63 = 66.63) to the driver, who
  had a trip at the time; a row with a plate nobody has waits for review; a bad row is kept.
- P2: the summons comes back with a 10.00 penalty: an increase of 10.00, a late charge (P1 is
  reported). A TLC summons (100.00) is entered Pending (owes nothing), then Paid: 100.00 + 25.00 fee.
- P3: the summons comes back dismissed: both charges are voided and what the driver paid on them
  (66.63 from P1's earnings, 10.00 from P2's) is handed back. The TLC summons is Reduced to 60.00: a
  replacement of 85.00, then the 125.00 charge is voided; the 125.00 handed back to P2's earnings pays
  the 85.00 at once and 40.00 is the driver's.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from batpay.testing import set_clock
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport
from statements.tests.trip_files import import_lines, trip, worked_example
from violations import services
from violations.models import Charge, Disposition, TlcViolationType, Violation
from violations.tests.files import import_pvb, pvb

P1, P2, P3 = dt.date(2025, 9, 28), dt.date(2025, 10, 5), dt.date(2025, 10, 12)
SUMMONS = "1111111111"


def category(report, name) -> dict:
    return next(c for c in report.snapshot["categories"] if c["category"] == name)


def figures(c) -> tuple:
    return (c["prior_balance"], c["charges"], c["paid"], c["balance_carried_forward"])


def close(lease, period):
    close_earnings(period=period)
    generate_dtrs(period=period, render=False)
    return DriverTransactionReport.objects.get(lease=lease, period=period, status="ISSUED")


@pytest.mark.django_db
def test_worked_fortnight(fleet, finance, monkeypatch, settings):
    settings.PVB_PROCESSING_FEE_PERCENT = D("2.5")
    settings.TLC_SERVICE_FEE = D("25.00")
    lease = fleet.lease()
    driver, plate = lease.primary_driver, lease.vehicle.plate_number

    # --- P1 -------------------------------------------------------------------------------------
    set_clock(monkeypatch, "2025-10-02T12:00:00-04:00")
    # The driver's trip 09:50–10:12 on Tuesday: the violation at 10:05 is theirs by the trip.
    import_lines([trip("PV-1", driver, lease.medallion, dt.datetime(2025, 9, 30, 9, 50))], name="extra.csv")
    batch = import_pvb(
        [
            pvb(SUMMONS, plate, "09/30/2025", "10:05A"),
            pvb("2222222222", "ZZZ9999", "09/30/2025", "11:00A"),  # nobody's plate: waits for review
            pvb("3333333333", plate, "01/01/0001", "10:05A"),  # a date in year 1: bad data
        ],
        actor=finance,
    )
    assert (batch.rows, batch.new_summonses, batch.invalid, batch.needs_review) == (3, 2, 1, 1)
    assert batch.charged == D("66.63")
    kept = batch.kept_rows.get()
    assert kept.line_number == 4 and "Issue Date" in kept.reason
    violation = Violation.objects.get(summons_number=SUMMONS)
    assert (violation.driver, violation.lease, violation.attributed_by) == (driver, lease, "TRIP")
    stray = Violation.objects.get(summons_number="2222222222")
    assert stray.review == "NEEDS_REVIEW" and "No vehicle with plate ZZZ9999" in stray.review_reason
    # The same file again changes nothing.
    again = import_pvb([pvb(SUMMONS, plate, "09/30/2025", "10:05A")], actor=finance)
    assert (again.unchanged, again.new_versions, again.charged) == (1, 0, D("0"))

    set_clock(monkeypatch, "2025-10-05T09:00:00-04:00")
    import_lines(worked_example(lease, P1, prefix="A"))
    dtr1 = close(lease, P1)
    pvb1 = category(dtr1, "PVB")
    assert figures(pvb1) == ("0.00", "66.63", "66.63", "0.00")
    assert pvb1["lines"][0]["description"] == (
        "PVB summons 1111111111, 09/30/2025 10:05A, NO PARKING-STREET CLEANING: 66.63 (fine 65.00, fee 1.63)"
    )
    # Card earnings 465.00 (+ the extra trip's 24.75) pay taxes 191.25 + 4.75 and the violation.
    assert dtr1.card_earnings == D("489.75")
    assert dtr1.total_due_to_driver == D("489.75") - D("196.00") - D("66.63")

    # --- P2: a penalty, and a TLC summons Pending → Paid ------------------------------------------
    set_clock(monkeypatch, "2025-10-08T12:00:00-04:00")
    second = import_pvb([pvb(SUMMONS, plate, "09/30/2025", "10:05A", penalty="10.00")], actor=finance)
    assert (second.new_versions, second.charged) == (1, D("10.00"))
    violation.refresh_from_db()
    assert violation.driver_total == D("76.63") and violation.versions.count() == 2
    inspect = TlcViolationType.objects.get(name="Failure to Inspect")
    summons = services.tlc_summons_create(
        summons_number="TLC100",
        driver_id=driver.pk,
        lease_id=lease.pk,
        violation_type_id=inspect.pk,
        violation_date=dt.date(2025, 10, 6),
        amount="100.00",
        actor=finance,
    )
    assert summons.owed == D("0.00") and not summons.charges.exists()
    summons = services.tlc_change_disposition(
        summons_id=summons.pk, disposition=Disposition.PAID, reason="Hearing found the driver guilty", actor=finance
    )
    assert summons.owed == D("125.00")

    set_clock(monkeypatch, "2025-10-12T09:00:00-04:00")
    import_lines(worked_example(lease, P2, prefix="B"))
    dtr2 = close(lease, P2)
    pvb2, tlc2 = category(dtr2, "PVB"), category(dtr2, "TLC")
    assert figures(pvb2) == ("0.00", "10.00", "10.00", "0.00")
    assert pvb2["lines"][0]["description"].endswith(": now 76.63, +10.00")
    assert figures(tlc2) == ("0.00", "125.00", "125.00", "0.00")
    assert tlc2["lines"][0]["description"] == (
        "TLC summons TLC100, 10/06/2025, Failure to Inspect: 125.00 (paid 100.00, service fee 25.00)"
    )
    assert dtr2.total_due_to_driver == D("465.00") - D("191.25") - D("10.00") - D("125.00")

    # --- P3: dismissed, and the TLC summons reduced ---------------------------------------------
    set_clock(monkeypatch, "2025-10-15T12:00:00-04:00")
    third = import_pvb(
        [pvb(SUMMONS, plate, "09/30/2025", "10:05A", penalty="10.00", status="HEARING HELD-NOT GUILTY", due="0")],
        actor=finance,
    )
    assert (third.new_versions, third.charged) == (1, D("0"))
    violation.refresh_from_db()
    assert violation.driver_total == D("0.00")
    assert [(c.kind, c.amount, c.live) for c in violation.charges.order_by("sequence")] == [
        (Charge.Kind.CHARGE, D("66.63"), False),
        (Charge.Kind.INCREASE, D("10.00"), False),
    ]
    assert [v.driver_total for v in violation.versions.order_by("number")] == [D("66.63"), D("76.63"), D("0.00")]
    summons = services.tlc_change_disposition(
        summons_id=summons.pk,
        disposition=Disposition.REDUCED,
        reduced_amount="60.00",
        reason="Reduced on appeal to 60.00",
        actor=finance,
    )
    assert summons.owed == D("85.00")
    assert [(c.kind, c.amount, c.live) for c in summons.charges.order_by("sequence")] == [
        (Charge.Kind.CHARGE, D("125.00"), False),
        (Charge.Kind.REPLACEMENT, D("85.00"), True),
    ]
    assert [(e.from_disposition, e.to_disposition, e.owed_after) for e in summons.events.order_by("id")] == [
        ("", "PENDING", D("0.00")),
        ("PENDING", "PAID", D("125.00")),
        ("PAID", "REDUCED", D("85.00")),
    ]

    set_clock(monkeypatch, "2025-10-19T09:00:00-04:00")
    dtr3 = close(lease, P3)
    pvb3, tlc3 = category(dtr3, "PVB"), category(dtr3, "TLC")
    # The two PVB charges voided this week: −76.63 of charges, their 76.63 of payments reversed.
    assert figures(pvb3) == ("0.00", "-76.63", "-76.63", "0.00")
    # TLC: 125.00 voided, 85.00 charged late; paid: −125.00 reversed + 85.00 from handed-back earnings.
    assert figures(tlc3) == ("0.00", "-40.00", "-40.00", "0.00")
    # No trips in P3: the driver gets back what the voids freed: 76.63 + 125.00 − 85.00.
    assert dtr3.total_due_to_driver == D("116.63")
    call_command("check_ledger")
