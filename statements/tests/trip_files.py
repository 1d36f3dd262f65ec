"""Trip files for the tests: the card-payment system's CSV, written the way it exports it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

from statements.trips import COLUMNS, import_trips

HEADER = ",".join(COLUMNS)
# MTA 0.50 + improvement 1.00 + congestion 2.50 + CBDT 0.75: a Manhattan trip's surcharges and fees.
USUAL_FEES = {"mta_surcharge": "0.50", "improvement_surcharge": "1.00", "congestion_fee": "2.50", "cbdt_fee": "0.75"}


def trip(
    trip_id: str,
    driver,
    medallion,
    start: dt.datetime | str,
    *,
    end: dt.datetime | str | None = None,
    payment_type: str = "CARD",
    fare: str = "20.00",
    tips: str = "0.00",
    tolls: str = "0.00",
    airport_fee: str = "0.00",
    total: str | None = None,
    **fees: str,
) -> str:
    """One CSV line; the total is the sum of the parts unless given, the end 22 minutes after the
    start unless given. A time given as text is written as it is."""
    amounts = {"fare": fare, "tips": tips, "tolls": tolls, **USUAL_FEES, "airport_fee": airport_fee, **fees}
    parts = [amounts[name] for name in COLUMNS[6:-1]]
    total = total if total is not None else f"{sum(D(p) for p in parts):.2f}"
    license_ = getattr(driver, "tlc_license_number", driver)
    number = getattr(medallion, "number", medallion)
    end = start + dt.timedelta(minutes=22) if end is None else end
    start, end = (t if isinstance(t, str) else t.isoformat() for t in (start, end))
    return ",".join([trip_id, license_, number, start, end, payment_type, *parts, total])


def csv_bytes(lines: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def import_lines(lines: list[str], *, actor=None, name: str = "trips.csv", header: str = HEADER):
    return import_trips(stream=io.BytesIO(csv_bytes(lines, header)), file_name=name, actor=actor)


def worked_example(lease, period: dt.date, *, prefix: str = "T", extra_driver=None) -> list[str]:
    """The week of SPEC §5's worked example: 10 card trips of 46.50 (card earnings 465.00) and
    30 cash trips, each with 4.75 of surcharges and fees, one cash trip with a 1.25 airport fee
    on top (taxes 40 × 4.75 + 1.25 = 191.25). With `extra_driver`, three of the card trips are
    that additional driver's."""
    monday = dt.datetime.combine(period + dt.timedelta(days=1), dt.time(7, 0))
    lines = []
    for n in range(10):
        driver = extra_driver if extra_driver is not None and n < 3 else lease.primary_driver
        start = monday + dt.timedelta(hours=3 * n)
        lines.append(trip(f"{prefix}-C{n:02d}", driver, lease.medallion, start, fare="36.00", tips="5.75"))
    for n in range(30):
        start = monday + dt.timedelta(hours=3 * n + 1)
        airport = "1.25" if n == 0 else "0.00"
        lines.append(
            trip(f"{prefix}-H{n:02d}", lease.primary_driver, lease.medallion, start, payment_type="CASH",
                 airport_fee=airport)
        )  # fmt: skip
    return lines
