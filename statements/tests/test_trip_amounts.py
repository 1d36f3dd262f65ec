"""A trip's amounts: read by the one money parser, and the one definition of what makes TAXES
(`statements.trips.TAX_COLUMNS`), which the weekly close, the DTR and the trip API all use."""

import datetime as dt
from decimal import Decimal as D

import pytest

from ledger.models import Category, ObligationBalance
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import TAX_COLUMNS, DriverTransactionReport, Trip
from statements.tests.trip_files import import_lines, trip
from statements.trips import MONEY_COLUMNS, PARTS

P1 = dt.date(2025, 9, 28)
MONDAY = dt.datetime(2025, 9, 29, 8, 0)


def test_taxes_are_the_surcharges_and_fees_and_nothing_else():
    assert set(TAX_COLUMNS) == {"mta_surcharge", "improvement_surcharge", "congestion_fee", "cbdt_fee", "airport_fee"}
    assert set(TAX_COLUMNS) < set(PARTS) < set(MONEY_COLUMNS)
    assert not {"fare", "tips", "tolls", "total_amount"} & set(TAX_COLUMNS)


def test_the_close_the_dtr_and_the_api_charge_the_same_taxes(fleet, admin_api):
    lease = fleet.lease()
    # Each surcharge and fee a different power of two: a column missing anywhere changes the sum.
    fees = {"mta_surcharge": "0.01", "improvement_surcharge": "0.02", "congestion_fee": "0.04", "cbdt_fee": "0.08"}
    lines = [
        trip("TX-1", lease.primary_driver, lease.medallion, MONDAY, fare="10.00", tips="1.00", tolls="2.00",
             airport_fee="0.16", **fees),
        trip("TX-2", lease.primary_driver, lease.medallion, MONDAY + dt.timedelta(hours=2), payment_type="CASH",
             fare="20.00", airport_fee="0.32", **fees),
    ]  # fmt: skip
    import_lines(lines)

    close_earnings(period=P1)
    generate_dtrs(period=P1, render=False)

    expected = D("0.16") + D("0.32") + 2 * sum(D(v) for v in fees.values())  # 0.78
    charge = ObligationBalance.objects.get(category=Category.TAXES, lease=lease)
    report = DriverTransactionReport.objects.get(lease=lease, period=P1)
    listed = admin_api.get("/api/ledger/trips/", {"lease_id": lease.pk}).json()["results"]
    assert charge.original_amount == expected
    assert D(report.snapshot["trips"]["taxes_and_fees"]) == expected
    assert sum(D(row["taxes_and_fees"]) for row in listed) == expected
    assert {row["trip_id"]: row["taxes_and_fees"] for row in listed} == {"TX-1": "0.31", "TX-2": "0.47"}
    assert sum(trip.taxes_and_fees for trip in Trip.objects.all()) == expected


@pytest.mark.parametrize("amount", ["3e2", "٣٠٠", "３００", "NaN", "Infinity", "1.234", "-1.00", "12 50", ""])
def test_an_amount_that_is_not_a_plain_decimal_keeps_the_row_for_review(fleet, amount):
    lease = fleet.lease()
    line = trip("BAD-1", lease.primary_driver, lease.medallion, MONDAY, fare=amount, total="20.00")

    batch = import_lines([line])

    assert (batch.imported, batch.invalid) == (0, 1)
    (row,) = batch.kept_rows.all()
    assert f"fare {amount!r} is not an amount like 12.50" in row.reason
    assert not Trip.objects.exists()
