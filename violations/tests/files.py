"""Violation files for the tests: the Department of Finance's CSV, written the way its data set exports it."""

from __future__ import annotations

import io

from violations.imports import COLUMNS, import_violations

HEADER = ",".join(COLUMNS)


def pvb(
    summons: str,
    plate: str,
    issue_date: str,
    time: str,
    *,
    violation: str = "NO PARKING-STREET CLEANING",
    fine: str = "65.00",
    penalty: str = "0.00",
    interest: str = "0.00",
    reduction: str = "0.00",
    payment: str = "0.00",
    due: str | None = None,
    status: str = "",
    state: str = "NY",
    judgment: str = "",
) -> str:
    """One CSV line; the amount due is what is left unless given."""
    from decimal import Decimal as D

    if due is None:
        due = f"{D(fine) + D(penalty) + D(interest) - D(reduction) - D(payment):.2f}"
    values = {
        "Plate": plate,
        "State": state,
        "License Type": "OMT",
        "Summons Number": summons,
        "Issue Date": issue_date,
        "Violation Time": time,
        "Violation": violation,
        "Judgment Entry Date": judgment,
        "Fine Amount": fine,
        "Penalty Amount": penalty,
        "Interest Amount": interest,
        "Reduction Amount": reduction,
        "Payment Amount": payment,
        "Amount Due": due,
        "Precinct": "14",
        "County": "NY",
        "Issuing Agency": "DEPARTMENT OF TRANSPORTATION",
        "Violation Status": status,
    }
    return ",".join(f'"{values[name]}"' if "," in values[name] else values[name] for name in COLUMNS)


def csv_bytes(lines: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def import_pvb(lines: list[str], *, actor=None, name: str = "violations.csv", header: str = HEADER):
    return import_violations(stream=io.BytesIO(csv_bytes(lines, header)), file_name=name, actor=actor)
