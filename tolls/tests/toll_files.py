"""E-ZPass files for the tests, written the way the NY E-ZPass account exports them."""

from __future__ import annotations

import datetime as dt
import io

from tolls.imports import COLUMNS, import_tolls

HEADER = ",".join(COLUMNS)


def toll(
    lane: str,
    plate: str,
    when: dt.datetime,
    amount: str,
    *,
    agency: str = "MTAB&T",
    entry: str = "Verrazzano-Narrows",
    exit_: str = "",
    vehicle_class: str = "1",
    posted: dt.date | None = None,
    balance: str = "$250.00",
) -> str:
    """One CSV line. `amount` as the export prints it: "($6.94)" a toll, "$6.94" a refund."""
    posted = posted or (when.date() + dt.timedelta(days=1))
    cells = {
        "Lane Txn ID": lane,
        "Tag/Plate #": plate,
        "Posted Date": f"{posted:%m/%d/%Y}",
        "Agency": agency,
        "Entry Plaza": entry,
        "Exit Plaza": exit_,
        "Class": vehicle_class,
        "Date": f"{when:%m/%d/%Y}",
        "Time": f"{when:%H:%M:%S}",
        "Amount": amount,
        "Post Txn Balance": balance,
    }
    return ",".join(f'"{cells[name]}"' if "," in cells[name] else cells[name] for name in COLUMNS)


def plate_of(lease) -> str:
    return f"NY {lease.vehicle.plate_number}"


def csv_bytes(lines: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def import_lines(lines: list[str], *, actor=None, name: str = "ezpass.csv", header: str = HEADER):
    return import_tolls(stream=io.BytesIO(csv_bytes(lines, header)), file_name=name, actor=actor)
