"""Issue 13's worked fortnight, all three kinds together, from files to the three DTRs that follow.

Lease A: primary driver Ana, additional driver Bilal, who drives three of the card trips of each worked
week (SPEC §5: card earnings 465.00, taxes 191.25, all booked to Ana, whose account the lease is). Ana's
trips run from Monday 07:00 to Thursday night; nobody drives on Friday or Saturday.

- P1 (09-28 … 10-04). Saturday, an E-ZPass file: Bilal's toll during his Monday 10:00 trip (6.94), two
  tolls of Friday (9.11 and 3.50: Ana's, the lease's primary driver), a Congestion Relief Zone gantry (not
  charged), the refund of the 9.11 toll, and a plate nobody has (5.76); and a PVB file: a summons of
  Saturday noon (fine 65.00 + 2.5 % fee 1.63). Sunday, `tolls.post_due` charges the three tolls and the
  refund pays its toll (from that Sunday: P2), then the week is closed.
- P2. Monday, the unknown plate turns out to be A's temporary plate: reassigned to A, a late charge. The
  summons comes back with a 10.00 penalty (an increase, late); a TLC summons goes Pending → Paid (100.00 +
  25.00 service fee). Sunday: the close.
- P3. The summons comes back dismissed (both charges voided, their 76.63 handed back); the TLC summons is
  Reduced to 60.00 (85.00 replaces 125.00: the 125.00 handed back pays the 85.00 at once); a second
  E-ZPass file refunds Bilal's toll, still open: Sunday's `tolls.post_due` applies it, so it pays the toll
  from that Sunday. Then the close (no trips that week).
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from batpay.testing import set_clock
from ledger.models import ObligationBalance
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport
from statements.tests.trip_files import import_lines as import_trips
from statements.tests.trip_files import worked_example
from tolls.models import Toll
from tolls.services import toll_reassign, tolls_post_due
from tolls.tests.toll_files import import_lines as import_tolls
from tolls.tests.toll_files import plate_of, toll
from violations import services as violations
from violations.models import Disposition, TlcViolationType, Violation
from violations.tests.files import import_pvb, pvb

P1, P2, P3 = dt.date(2025, 9, 28), dt.date(2025, 10, 5), dt.date(2025, 10, 12)
BILALS_TRIP = dt.datetime(2025, 9, 29, 10, 10)  # his card trip of Monday 10:00
FRIDAY = dt.datetime(2025, 10, 3, 14, 25, 7)
SUMMONS = "4444444444"


def category(dtr, name: str) -> dict:
    return next(c for c in dtr.snapshot["categories"] if c["category"] == name)


def figures(part: dict) -> tuple:
    return (part["prior_balance"], part["charges"], part["paid"], part["balance_carried_forward"])


def lines(dtr, name: str) -> dict:
    return {line["source_reference"]: line for line in category(dtr, name)["lines"]}


def close(lease, period):
    tolls_post_due(period=period)
    close_earnings(period=period)
    generate_dtrs(period=period, render=False)
    return DriverTransactionReport.objects.get(lease=lease, period=period, status="ISSUED")


@pytest.mark.django_db
def test_a_fortnight_of_tolls_violations_and_summonses(fleet, finance, monkeypatch, settings):
    settings.PVB_PROCESSING_FEE_PERCENT = D("2.5")
    settings.TLC_SERVICE_FEE = D("25.00")
    ana, bilal = fleet.driver(), fleet.driver()
    a = fleet.lease(driver=ana, additional_driver_ids=[bilal.pk])
    plate = plate_of(a)

    # --- P1 ---------------------------------------------------------------------------------------
    set_clock(monkeypatch, "2025-10-04T13:00:00-04:00")
    import_trips(worked_example(a, P1, prefix="A", extra_driver=bilal))
    tolls = import_tolls(
        [
            toll("7001", plate, BILALS_TRIP, "($6.94)"),
            toll("7002", plate, FRIDAY, "($9.11)", agency="PANYNJ", entry="GWB Upper Level"),
            toll("7003", plate, FRIDAY + dt.timedelta(minutes=40), "($9.00)", agency="MTA", entry="CRZ 60th St"),
            toll("7004", plate, FRIDAY, "$9.11", agency="PANYNJ", entry="GWB Upper Level"),
            toll("7005", "NY T000002X", FRIDAY + dt.timedelta(hours=2), "($5.76)", entry="RFK Bronx"),
            toll("7006", plate, FRIDAY + dt.timedelta(hours=4), "($3.50)", entry="Hugh L. Carey Tunnel"),
        ],
        actor=finance,
    )
    assert (tolls.rows, tolls.charges, tolls.charged_amount, tolls.refunds, tolls.refunded_amount) == (
        6, 3, D("19.55"), 1, D("9.11")
    )  # fmt: skip
    assert (tolls.excluded, tolls.excluded_amount, tolls.unmatched, tolls.invalid) == (1, D("9.00"), 1, 0)
    by_lane = {t.lane_txn_id: t for t in Toll.objects.all()}
    assert (by_lane["7001"].driver, by_lane["7001"].attribution) == (bilal, "TRIP")
    assert (by_lane["7002"].driver, by_lane["7002"].attribution) == (ana, "PRIMARY")
    assert (by_lane["7003"].status, by_lane["7005"].status) == ("EXCLUDED", "UNMATCHED")
    assert by_lane["7004"].refund_of == by_lane["7002"]

    parking = import_pvb([pvb(SUMMONS, a.vehicle.plate_number, "10/04/2025", "12:00P")], actor=finance)
    assert (parking.rows, parking.new_summonses, parking.charged) == (1, 1, D("66.63"))
    assert Violation.objects.get(summons_number=SUMMONS).driver == ana

    set_clock(monkeypatch, "2025-10-05T05:00:00-04:00")
    dtr1 = close(a, P1)
    # Ana's 465.00 pays the taxes 191.25, her 3.50 toll and the summons 66.63; the 9.11 toll was paid on
    # Sunday by its refund, after the Saturday the earnings count from. Bilal's toll waits for him.
    assert dtr1.card_earnings == D("465.00")
    assert dtr1.total_due_to_driver == D("203.62")
    assert figures(category(dtr1, "EZPASS")) == ("0.00", "19.55", "3.50", "16.05")
    assert figures(category(dtr1, "PVB")) == ("0.00", "66.63", "66.63", "0.00")
    assert figures(category(dtr1, "TLC")) == ("0.00", "0.00", "0.00", "0.00")
    ezpass1 = lines(dtr1, "EZPASS")
    assert set(ezpass1) == {"7001", "7002", "7006"}
    assert ezpass1["7002"]["description"] == "E-ZPass 10/03/2025 14:25:07 GWB Upper Level (PANYNJ) $9.11"
    assert ezpass1["7001"]["driver"] == bilal.full_name

    # --- P2 ---------------------------------------------------------------------------------------
    set_clock(monkeypatch, "2025-10-06T10:00:00-04:00")
    moved = toll_reassign(toll_id=by_lane["7005"].pk, lease_id=a.pk, reason="A's temporary plate", actor=finance)
    assert (moved.driver, moved.amount) == (ana, D("5.76"))

    set_clock(monkeypatch, "2025-10-08T12:00:00-04:00")
    again = import_pvb([pvb(SUMMONS, a.vehicle.plate_number, "10/04/2025", "12:00P", penalty="10.00")], actor=finance)
    assert (again.new_versions, again.charged) == (1, D("10.00"))
    summons = violations.tlc_summons_create(
        summons_number="TLC200",
        driver_id=ana.pk,
        lease_id=a.pk,
        violation_type_id=TlcViolationType.objects.get(name="Failure to Comply").pk,
        violation_date=dt.date(2025, 10, 6),
        amount="100.00",
        actor=finance,
    )
    assert summons.owed == D("0.00")
    summons = violations.tlc_change_disposition(
        summons_id=summons.pk, disposition=Disposition.PAID, reason="Hearing: guilty", actor=finance
    )
    assert summons.owed == D("125.00")

    set_clock(monkeypatch, "2025-10-12T05:00:00-04:00")
    import_trips(worked_example(a, P2, prefix="B", extra_driver=bilal))
    dtr2 = close(a, P2)
    # 465.00 pays taxes 191.25, the reassigned toll 5.76, the penalty 10.00 and the TLC summons 125.00.
    assert dtr2.total_due_to_driver == D("132.99")
    # The refund's 9.11 and the earnings' 5.76 paid; Bilal's 6.94 carried.
    assert figures(category(dtr2, "EZPASS")) == ("16.05", "5.76", "14.87", "6.94")
    assert [e["text"] for e in lines(dtr2, "EZPASS")["7005"]["events"]] == ["Late charge for the week of 2025-09-28"]
    assert figures(category(dtr2, "PVB")) == ("0.00", "10.00", "10.00", "0.00")
    assert figures(category(dtr2, "TLC")) == ("0.00", "125.00", "125.00", "0.00")

    # --- P3 ---------------------------------------------------------------------------------------
    set_clock(monkeypatch, "2025-10-14T09:00:00-04:00")
    second = import_tolls([toll("7007", plate, BILALS_TRIP, "$6.94")], actor=finance)
    assert (second.refunds, second.refunded_amount) == (1, D("6.94"))
    refund = Toll.objects.get(lane_txn_id="7007")
    assert (refund.refund_of, refund.status) == (by_lane["7001"], "PENDING")  # applied by Sunday's tolls.post_due

    set_clock(monkeypatch, "2025-10-15T12:00:00-04:00")
    dismissed = import_pvb(
        [
            pvb(
                SUMMONS,
                a.vehicle.plate_number,
                "10/04/2025",
                "12:00P",
                penalty="10.00",
                status="HEARING HELD-NOT GUILTY",
                due="0",
            )
        ],
        actor=finance,
    )
    assert (dismissed.new_versions, dismissed.charged) == (1, D("0"))
    summons = violations.tlc_change_disposition(
        summons_id=summons.pk,
        disposition=Disposition.REDUCED,
        reduced_amount="60.00",
        reason="Reduced on appeal to 60.00",
        actor=finance,
    )
    assert summons.owed == D("85.00")

    set_clock(monkeypatch, "2025-10-19T05:00:00-04:00")
    dtr3 = close(a, P3)
    # Sunday 04:15 applied the refund to Bilal's toll: it counts from that day, so the statement of the
    # week that ended on Saturday still carries the toll; the next week's shows it paid.
    assert figures(category(dtr3, "EZPASS")) == ("6.94", "0.00", "0.00", "6.94")
    refund.refresh_from_db()
    assert refund.status == "APPLIED"
    assert ObligationBalance.objects.get(category="EZPASS", source_reference="7001").outstanding == D("0.00")
    assert figures(category(dtr3, "PVB")) == ("0.00", "-76.63", "-76.63", "0.00")
    assert figures(category(dtr3, "TLC")) == ("0.00", "-40.00", "-40.00", "0.00")
    # No trips: the driver gets back what the dismissal and the reduction freed, 76.63 + 125.00 − 85.00.
    assert dtr3.total_due_to_driver == D("116.63")
    call_command("check_ledger")
