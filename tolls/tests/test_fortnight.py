"""The worked fortnight of issue 13 for E-ZPass, from files to the DTRs, asserted to the cent.

Week W = 2025-09-28 … 10-04, W1 = 10-05 … 10-11. Lease A: primary driver Ana, additional driver
Bilal, who drives Tuesday morning (a card trip 08:00–08:22). Lease B: primary driver Carmen.

- Thu 10-02, the first E-ZPass file: a toll on A at 08:10 Tuesday (Bilal's, his trip is under way),
  a toll on A Wednesday afternoon and one Thursday morning (no trip: Ana's), a Congestion Relief
  Zone gantry on A (not charged), a toll on B (Carmen's), the refund of Wednesday's toll, and a
  plate nobody has.
- Sun 10-05: `tolls.post_due` charges the four tolls and applies the refund (a credit of that day,
  so on W1's statement); the week is closed:
  the card earnings (booked to Ana, the lease's primary driver) pay the taxes and Ana's tolls;
  Bilal's toll is his and stays open.
- Mon 10-06: the unknown plate was B's temporary plate: reassigned to B (a late charge); B's toll
  was A's car: reassigned to A (B's charge reversed, A charged).
- Tue 10-07, the second file overlaps the first and adds two refunds; Finance runs `tolls.post_due`
  for W now: the refund of Bilal's toll, still open, pays it; the refund of Ana's Thursday toll,
  which her earnings had paid, is credit for the lease.
- Sun 10-12: W1 is closed.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from batpay.testing import set_clock
from ledger.models import ObligationBalance, Posting, Receipt
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport
from statements.tests.trip_files import import_lines as import_trips
from statements.tests.trip_files import trip
from tolls.models import Toll, TollAssignment
from tolls.services import toll_reassign, tolls_post_due
from tolls.tests.toll_files import import_lines, plate_of, toll

W = dt.date(2025, 9, 28)
W1 = dt.date(2025, 10, 5)
TUESDAY = dt.datetime(2025, 9, 30, 8, 0)
WEDNESDAY = dt.datetime(2025, 10, 1, 14, 25, 7)
THURSDAY = dt.datetime(2025, 10, 2, 7, 30)


def ezpass(lease, period) -> dict:
    snapshot = DriverTransactionReport.objects.get(lease=lease, period=period, status="ISSUED").snapshot
    return next(c for c in snapshot["categories"] if c["category"] == "EZPASS")


def figures(part) -> tuple:
    return (part["prior_balance"], part["charges"], part["paid"], part["balance_carried_forward"])


def balance(reference) -> ObligationBalance:
    return ObligationBalance.objects.get(category="EZPASS", source_reference=reference)


def close_week(period):
    close_earnings(period=period)
    generate_dtrs(period=period, render=False)


@pytest.fixture
def leases(fleet):
    ana, bilal, carmen = fleet.driver(), fleet.driver(), fleet.driver()
    a = fleet.lease(driver=ana, additional_driver_ids=[bilal.pk])
    b = fleet.lease(driver=carmen)
    return a, b, ana, bilal, carmen


def test_a_fortnight_of_tolls_from_files_to_the_dtrs(leases, finance, monkeypatch):
    a, b, ana, bilal, carmen = leases
    set_clock(monkeypatch, "2025-10-02T09:00:00-04:00")
    import_trips([trip("A-1", bilal, a.medallion, TUESDAY, fare="20.00")])  # card: 24.75 with 4.75 of fees

    first = import_lines(
        [
            toll("9001", plate_of(a), TUESDAY + dt.timedelta(minutes=10), "($6.94)"),
            toll("9002", plate_of(a), WEDNESDAY, "($9.11)", agency="PANYNJ", entry="GWB Upper Level"),
            toll("9003", plate_of(a), WEDNESDAY, "($9.00)", agency="MTA", entry="CRZ 60th St"),
            toll("9004", plate_of(b), TUESDAY + dt.timedelta(hours=2), "($4.58)", entry="Queens Midtown"),
            toll("9005", plate_of(a), WEDNESDAY, "$9.11", agency="PANYNJ", entry="GWB Upper Level"),
            toll("9006", "NY T000001X", WEDNESDAY, "($5.76)", entry="RFK Bronx", exit_="RFK Manhattan"),
            toll("9008", plate_of(a), THURSDAY, "($3.50)", entry="Hugh L. Carey Tunnel"),
        ],
        actor=finance,
    )

    report = (first.rows, first.charges, first.charged_amount, first.refunds, first.refunded_amount)
    assert report == (7, 4, D("24.13"), 1, D("9.11"))
    assert (first.excluded, first.excluded_amount, first.unmatched, first.invalid) == (1, D("9.00"), 1, 0)
    tolls = {t.lane_txn_id: t for t in Toll.objects.all()}
    assert (tolls["9001"].driver, tolls["9001"].attribution, tolls["9001"].trip.trip_id) == (bilal, "TRIP", "A-1")
    assert (tolls["9002"].driver, tolls["9002"].attribution) == (ana, "PRIMARY")
    assert (tolls["9004"].driver, tolls["9004"].lease) == (carmen, b)
    assert (tolls["9003"].status, tolls["9006"].status) == ("EXCLUDED", "UNMATCHED")
    assert tolls["9006"].reason == "No vehicle with plate T000001X is on file."
    assert tolls["9005"].refund_of == tolls["9002"]
    assert not ObligationBalance.objects.filter(category="EZPASS").exists()  # due on Sunday

    again = import_lines([toll("9001", plate_of(a), TUESDAY + dt.timedelta(minutes=10), "($6.94)")], actor=finance)
    assert (again.imported, again.already_imported) == (0, 1)

    set_clock(monkeypatch, "2025-10-05T04:15:00-04:00")
    run = tolls_post_due(period=W)
    assert (run.count, run.amount, run.details["refunds_applied"]) == (4, D("24.13"), 1)
    assert balance("9002").outstanding == D("0.00")  # the refund paid it
    assert tolls_post_due(period=W).count == 0
    close_week(W)

    # Ana's earnings 24.75 paid the taxes 4.75 and her Thursday toll 3.50; Bilal's toll waits for him.
    assert (balance("9008").outstanding, balance("9001").outstanding) == (D("0.00"), D("6.94"))
    assert DriverTransactionReport.objects.get(lease=a, period=W).total_due_to_driver == D("16.50")
    # The refund counts from the day it was applied, Sunday 10-05: the week after its toll's.
    assert figures(ezpass(a, W)) == ("0.00", "19.55", "3.50", "16.05")
    assert figures(ezpass(b, W)) == ("0.00", "4.58", "0.00", "4.58")
    lines = {line["source_reference"]: line for line in ezpass(a, W)["lines"]}
    assert lines["9001"]["description"] == "E-ZPass 09/30/2025 08:10:00 Verrazzano-Narrows (MTAB&T) $6.94"
    assert lines["9001"]["driver"] == bilal.full_name
    assert lines["9002"]["description"] == "E-ZPass 10/01/2025 14:25:07 GWB Upper Level (PANYNJ) $9.11"

    set_clock(monkeypatch, "2025-10-06T10:00:00-04:00")
    toll_reassign(toll_id=tolls["9006"].pk, lease_id=b.pk, reason="Temporary plate of B's car", actor=finance)
    moved = toll_reassign(
        toll_id=tolls["9004"].pk, lease_id=a.pk, reason="A's car, plate misread by the gantry", actor=finance
    )
    assert (moved.source_reference, moved.driver, moved.status) == ("9004/2", ana, "POSTED")
    assert balance("9004").outstanding == D("0.00") and balance("9004/2").outstanding == D("4.58")
    assert balance("9006").lease == b and balance("9006").outstanding == D("5.76")
    assert Posting.objects.get(obligation=balance("9004"), reverses__isnull=False).reason == (
        "E-ZPass 9004 reassigned: A's car, plate misread by the gantry"
    )
    assert TollAssignment.objects.count() == 2

    set_clock(monkeypatch, "2025-10-07T11:00:00-04:00")
    second = import_lines(
        [
            toll("9001", plate_of(a), TUESDAY + dt.timedelta(minutes=10), "($6.94)"),
            toll("9007", plate_of(a), TUESDAY + dt.timedelta(minutes=10), "$6.94"),
            toll("9009", plate_of(a), THURSDAY, "$3.50", entry="Hugh L. Carey Tunnel"),
        ],
        actor=finance,
    )
    assert (second.imported, second.already_imported, second.refunds, second.refunded_amount) == (2, 1, 2, D("10.44"))
    # A late file of a closed week: Finance runs its week's task now rather than wait for Sunday.
    assert Toll.objects.get(lane_txn_id="9007").status == "PENDING"
    rerun = tolls_post_due(period=W)
    assert (rerun.count, rerun.details["refunds_applied"]) == (0, 2)
    paid, credit = Toll.objects.get(lane_txn_id="9007"), Toll.objects.get(lane_txn_id="9009")
    assert (paid.status, paid.refund_of.lane_txn_id, paid.driver) == ("APPLIED", "9001", bilal)
    assert balance("9001").outstanding == D("0.00") and paid.receipt.unapplied == D("0.00")
    assert (credit.status, credit.refund_of.lane_txn_id, credit.driver) == ("APPLIED", "9008", ana)
    assert (credit.receipt.amount, credit.receipt.unapplied) == (D("3.50"), D("3.50"))  # credit for the lease

    set_clock(monkeypatch, "2025-10-12T05:00:00-04:00")
    assert tolls_post_due(period=W1).count == 0
    close_week(W1)

    assert figures(ezpass(a, W1)) == ("16.05", "4.58", "16.05", "4.58")
    lines = {line["source_reference"]: line for line in ezpass(a, W1)["lines"]}
    assert set(lines) == {"9001", "9002", "9004/2"}
    assert [e["text"] for e in lines["9002"]["events"]] == [
        "Credit from E-ZPass refund 10/01/2025 14:25:07 GWB Upper Level (PANYNJ) $9.11"
    ]
    assert [e["text"] for e in lines["9001"]["events"]] == [
        "Credit from E-ZPass refund 09/30/2025 08:10:00 Verrazzano-Narrows (MTAB&T) $6.94"
    ]
    assert [e["text"] for e in lines["9004/2"]["events"]] == ["Late charge for the week of 2025-09-28"]
    assert figures(ezpass(b, W1)) == ("4.58", "1.18", "0.00", "5.76")
    voided = {line["source_reference"]: line for line in ezpass(b, W1)["lines"]}
    assert voided["9004"]["voided"] and figures(voided["9004"]) == ("4.58", "-4.58", "0.00", "0.00")
    assert figures(voided["9006"]) == ("0.00", "5.76", "0.00", "5.76")
    assert Receipt.objects.get(pk=credit.receipt_id).unapplied == D("3.50")
    call_command("check_ledger")
