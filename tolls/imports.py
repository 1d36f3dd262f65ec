"""The E-ZPass account's transaction export (CSV), imported in bulk and attributed set-based.

The file is read once: each row is checked in Python (every problem named, with its line number)
and the good ones are COPYed into a staging table. Then a few statements over the whole file:
compare with the tolls on file (a Lane Txn ID already imported with the same figures is left as it
is; with other figures the row is kept for review), set Congestion Relief Zone rows aside, find the
vehicle (plate, or tag number through `TollTag`), the lease in force on it on the toll's date, and
the driver — the lease's driver with a trip on its medallion within ±30 minutes of the toll, else
its primary driver — then insert. Rows the database alone refuses are found by halving
(`batpay.imports.write_or_isolate`) and kept for review too: nothing stops the good rows.

A header missing a column refuses the whole file (one clear error); every other problem is a row's.
The import charges nothing: the Sunday task `tolls.post_due` (or its "Run now") charges the tolls
and applies the refunds that fell due (`tolls.posting`).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from decimal import Decimal
from typing import IO

from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import InvalidInput
from batpay.imports import column_order, storable, write_or_isolate
from batpay.imports import text_problem as cell_problem
from batpay.money import ZERO, MoneyInputError, parse_money
from batpay.periods import OutsideCalendar, date_problem, local_instant, period_start
from batpay.steps import Progress
from batpay.text import shown
from statements.trips import _HashingReader
from tolls.audit import TollAction
from tolls.models import MAX_LANE_TXN_ID_LENGTH, Toll, TollImport, TollImportRow
from tolls.posting import pair_refunds

# As the NY E-ZPass export names them; any order, any case.
COLUMNS = (
    "Lane Txn ID",
    "Tag/Plate #",
    "Posted Date",
    "Agency",
    "Entry Plaza",
    "Exit Plaza",
    "Class",
    "Date",
    "Time",
    "Amount",
    "Post Txn Balance",
)
# No toll costs this much; a larger figure is an export or typing error, not a toll.
MAX_TOLL_AMOUNT = Decimal("1000.00")
# What a numeric(12,2) column holds.
LARGEST_MONEY = Decimal("9999999999.99")
STAGE_CHUNK = 5000
# A driver may be on the road at most 12 hours a day (TLC rules): a trip that started longer before
# the toll (and its 30 minutes) cannot be the one under way, so the trip search looks no further back.
TRIP_WINDOW = dt.timedelta(minutes=30)
LONGEST_TRIP = dt.timedelta(hours=12)
CRZ_REASON = (
    "Congestion Relief Zone gantry: not charged (a taxi pays the CBDT fee per trip, which the trips import "
    "already charges as TAXES)."
)

_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2}):([0-9]{2})")
# `($9.11)` a charge, `$9.00` a refund; a minus sign reads as the parentheses do.
_AMOUNT = re.compile(r"(\()?\s*(-)?\s*\$?\s*([0-9][0-9,]*(?:\.[0-9]*)?)\s*(\))?")
_TAG = re.compile(r"[0-9][0-9 -]*")
_PLATE = re.compile(r"(?:([A-Z]{2})\s+)?([A-Z0-9][A-Z0-9 -]{0,11})")
_SPACES = re.compile(r"\s+")


_LIMITS = {"Agency": 32, "Entry Plaza": 64, "Exit Plaza": 64, "Class": 16}


def header_order(row: list[str] | None) -> list[int]:
    """Where each column is in the file (`batpay.imports.column_order`)."""
    return column_order(row, COLUMNS, described="the E-ZPass export's columns")


# An export repeats the same dates, times, amounts and plates on thousands of rows: each distinct
# text is read once per process (the readers are pure functions of the text).
_CACHE = functools.lru_cache(maxsize=1 << 16)


@_CACHE
def _read_date(text: str) -> tuple[dt.date | None, str]:
    """The date of `MM/DD/YYYY` text, or None and why not."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None, f"{text!r} is not a date like 10/01/2025 (MM/DD/YYYY)"
    month, day, year = (int(part) for part in match.groups())
    try:
        value = dt.date(year, month, day)
    except ValueError:
        return None, f"{text!r} is not a date of the calendar"
    if problem := date_problem(value):
        return None, f"{text!r}: {problem[0].lower()}{problem[1:].rstrip('.')}"
    return value, ""


def _date(name: str, text: str, problems: list[str], *, required: bool = True) -> dt.date | None:
    text = text.strip()
    if not text and not required:
        return None
    value, problem = _read_date(text)
    if value is None:
        problems.append(f"{name} {problem}")
    return value


@_CACHE
def _read_time(text: str) -> tuple[dt.time | None, str]:
    match = _TIME.fullmatch(text)
    if match is None:
        return None, f"Time {text!r} is not a time like 08:14:03 (HH:MM:SS)"
    try:
        return dt.time(*(int(part) for part in match.groups())), ""
    except ValueError:
        return None, f"Time {text!r} is not a time of day"


def _time(text: str, problems: list[str]) -> dt.time | None:
    value, problem = _read_time(text.strip())
    if value is None:
        problems.append(problem)
    return value


@_CACHE
def _instant(day: dt.date, time: dt.time) -> dt.datetime:
    return local_instant(dt.datetime.combine(day, time))


@_CACHE
def _period(day: dt.date) -> dt.date:
    return period_start(day)


@_CACHE
def read_amount(text: str) -> tuple[Decimal, bool] | None:
    """(amount, whether it is a charge) of `($9.11)` → (9.11, True), `$9.00` → (9.00, False); None
    for text that is not an amount."""
    match = _AMOUNT.fullmatch(text.strip())
    if match is None or bool(match.group(1)) != bool(match.group(4)):
        return None
    digits = match.group(3)
    if "," in digits and not re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*(\.[0-9]*)?", digits):
        return None
    digits = digits.replace(",", "").rstrip(".")
    try:
        amount = parse_money(digits)
    except MoneyInputError:
        return None
    return amount, bool(match.group(1) or match.group(2))


@_CACHE
def read_tag_or_plate(text: str) -> tuple[str, str] | None:
    """(shown, vehicle key) of a Tag/Plate #: `NY T659924C` → ("NY T659924C", "PT659924C"), a tag
    number → its digits ("T…"); None for anything else."""
    text = _SPACES.sub(" ", text.strip().upper())
    if _TAG.fullmatch(text):
        digits = re.sub("[ -]", "", text)
        return (digits, f"T{digits}") if 6 <= len(digits) <= 20 else None
    match = _PLATE.fullmatch(text)
    if match is None:
        return None
    plate = re.sub("[ -]", "", match.group(2))
    return text, f"P{plate}"


def check_row(values: dict[str, str], now: dt.datetime) -> tuple[tuple | None, list[str]]:
    """The row as typed values for the staging table, or every problem found in it."""
    # One search over the whole row on the usual path; cell by cell only to name what is wrong.
    if cell_problem("row", "".join(values.values())):
        problems = [problem for name, text in values.items() if (problem := cell_problem(name, text))]
    else:
        problems = []
    if problems:  # nothing else is read from a row whose cells are not text
        return None, problems
    lane = values["Lane Txn ID"].strip()
    if not lane:
        problems.append("Lane Txn ID is empty")
    elif len(lane) > MAX_LANE_TXN_ID_LENGTH:
        problems.append(f"Lane Txn ID is longer than {MAX_LANE_TXN_ID_LENGTH} characters")
    elif "/" in lane:
        problems.append("Lane Txn ID contains '/'")
    vehicle = read_tag_or_plate(values["Tag/Plate #"])
    if vehicle is None:
        shown_text = values["Tag/Plate #"].strip()
        problems.append(f"Tag/Plate # {shown_text!r} is not a plate like NY T659924C or a tag number")
    texts = {}
    for name, limit in _LIMITS.items():
        texts[name] = _SPACES.sub(" ", values[name].strip())
        if len(texts[name]) > limit:
            problems.append(f"{name} is longer than {limit} characters")
    posted = _date("Posted Date", values["Posted Date"], problems, required=False)
    day = _date("Date", values["Date"], problems)
    time = _time(values["Time"], problems)
    occurred = period = None
    if day and time:
        try:
            occurred = _instant(day, time)
            period = _period(day)
        except (OutsideCalendar, OverflowError):
            problems.append(f"Date {values['Date'].strip()!r} is outside the calendar")
        else:
            if occurred > now:
                problems.append("Date and Time are in the future")
    read = read_amount(values["Amount"])
    amount = charge = None
    if read is None:
        problems.append(f"Amount {values['Amount'].strip()!r} is not an amount like ($9.11) or $9.00")
    else:
        amount, charge = read
        if amount == ZERO:
            problems.append("Amount is 0.00: neither a toll nor a refund")
        elif amount > MAX_TOLL_AMOUNT:
            problems.append(f"Amount {amount} is more than {MAX_TOLL_AMOUNT}, more than any toll")
    balance = None
    if values["Post Txn Balance"].strip():
        read_balance = read_amount(values["Post Txn Balance"])
        if read_balance is None or read_balance[0] > LARGEST_MONEY:
            problems.append(f"Post Txn Balance {values['Post Txn Balance'].strip()!r} is not an amount like $25.00")
        else:
            balance = -read_balance[0] if read_balance[1] else read_balance[0]
    if problems:
        return None, problems
    shown_plate, vehicle_key = vehicle
    crz = "CRZ" in texts["Entry Plaza"].upper() or "CRZ" in texts["Exit Plaza"].upper()
    row = (
        lane,
        Toll.Kind.CHARGE if charge else Toll.Kind.REFUND,
        shown_plate,
        vehicle_key,
        posted,
        texts["Agency"],
        texts["Entry Plaza"],
        texts["Exit Plaza"],
        texts["Class"],
        day,
        time,
        occurred,
        period,
        amount,
        balance,
        crz,
    )
    return row, []


_STAGING = """
CREATE TEMP TABLE toll_staging (
    line integer PRIMARY KEY, lane_txn_id text, kind text, tag_or_plate text, vehicle_key text,
    posted_date date, agency text, entry_plaza text, exit_plaza text, vehicle_class text,
    toll_date date, toll_time time, occurred_at timestamptz, period date, amount numeric(12,2),
    post_txn_balance numeric(12,2), crz boolean,
    outcome text, reason text, vehicle_id bigint, lease_id bigint, driver_id bigint, attribution text, trip_id bigint
) ON COMMIT DROP
"""
_STAGED_COLUMNS = (
    "line, lane_txn_id, kind, tag_or_plate, vehicle_key, posted_date, agency, entry_plaza, exit_plaza, "
    "vehicle_class, toll_date, toll_time, occurred_at, period, amount, post_txn_balance, crz"
)

# Every vehicle by what a row names it by: its plate without spaces or dashes ("P…"), or a tag ("T…").
_VEHICLE_KEYS = """
CREATE TEMP TABLE toll_vehicle_keys ON COMMIT DROP AS
SELECT id AS vehicle_id, 'P' || regexp_replace(upper(plate_number), '[^A-Z0-9]', '', 'g') AS key FROM leases_vehicle
UNION ALL
SELECT vehicle_id, 'T' || tag_number FROM tolls_tolltag;
CREATE INDEX ON toll_vehicle_keys (key);
ANALYZE toll_vehicle_keys;
"""

_SAME_FIGURES = " AND ".join(
    f"t.{name} IS NOT DISTINCT FROM s.{name}"
    for name in (
        "kind",
        "tag_or_plate",
        "agency",
        "entry_plaza",
        "exit_plaza",
        "toll_date",
        "toll_time",
        "amount",
    )
)

_ON_FILE = f"""
UPDATE toll_staging s
SET outcome = CASE WHEN {_SAME_FIGURES} THEN 'SAME' ELSE 'INVALID' END,
    reason = 'Lane Txn ID ' || s.lane_txn_id || ' is already on file with different figures (import #'
             || t.batch_id || ', line ' || t.line_number || ')'
FROM tolls_toll t
WHERE t.lane_txn_id = s.lane_txn_id
"""

_CRZ = "UPDATE toll_staging SET outcome = 'EXCLUDED', reason = %s WHERE outcome IS NULL AND crz"

# The lease in force on the vehicle on the toll's date. Two in force that day (one ended, one began):
# the ACTIVE one, else the newer.
_LEASE = """
UPDATE toll_staging s SET vehicle_id = found.vehicle_id, lease_id = found.lease_id
FROM (
    SELECT DISTINCT ON (s.line) s.line, k.vehicle_id, l.id AS lease_id
    FROM toll_staging s
    JOIN toll_vehicle_keys k ON k.key = s.vehicle_key
    JOIN leases_lease l ON l.vehicle_id = k.vehicle_id
    WHERE s.outcome IS NULL AND l.status <> 'CANCELLED'
      AND l.start_date <= s.toll_date AND (l.end_date IS NULL OR l.end_date >= s.toll_date)
    ORDER BY s.line, (l.status = 'ACTIVE') DESC, l.start_date DESC, l.id DESC
) found
WHERE found.line = s.line
"""

_UNMATCHED = """
UPDATE toll_staging s
SET outcome = 'UNMATCHED',
    vehicle_id = (SELECT min(k.vehicle_id) FROM toll_vehicle_keys k WHERE k.key = s.vehicle_key),
    reason = CASE
        WHEN NOT EXISTS (SELECT 1 FROM toll_vehicle_keys k WHERE k.key = s.vehicle_key) THEN
            CASE WHEN left(s.vehicle_key, 1) = 'T' THEN format('No vehicle has E-ZPass tag %s.', s.tag_or_plate)
                 ELSE format('No vehicle with plate %s is on file.', substr(s.vehicle_key, 2)) END
        ELSE format('No lease was in force on %s on the vehicle of %s.', to_char(s.toll_date, 'MM/DD/YYYY'),
                    s.tag_or_plate)
    END
WHERE s.outcome IS NULL AND s.lease_id IS NULL
"""

# The lease's driver with a trip on the lease's medallion within ±30 minutes of the toll (the trip
# nearest in time, then the one that started last); trips are booked to a lease only for its own
# drivers. Not one trip in reach: the primary driver.
_BY_TRIP = """
UPDATE toll_staging s SET driver_id = near.driver_id, trip_id = near.id, attribution = 'TRIP'
FROM (
    SELECT s.line, found.id, found.driver_id
    FROM toll_staging s
    JOIN leases_lease l ON l.id = s.lease_id
    CROSS JOIN LATERAL (
        SELECT t.id, t.driver_id FROM ledger_trip t
        WHERE t.lease_id = s.lease_id AND t.medallion_id = l.medallion_id
          AND t.start_time BETWEEN s.occurred_at - %(back)s AND s.occurred_at + %(window)s
          AND t.end_time >= s.occurred_at - %(window)s
        ORDER BY GREATEST(t.start_time - s.occurred_at, s.occurred_at - t.end_time, interval '0'),
                 t.start_time DESC, t.id
        LIMIT 1
    ) found
    WHERE s.outcome IS NULL
) near
WHERE near.line = s.line
"""
_BY_LEASE = """
UPDATE toll_staging s SET driver_id = l.primary_driver_id, attribution = 'PRIMARY'
FROM leases_lease l
WHERE l.id = s.lease_id AND s.outcome IS NULL AND s.driver_id IS NULL
"""

_INSERT = """
INSERT INTO tolls_toll
    (lane_txn_id, kind, status, tag_or_plate, posted_date, agency, entry_plaza, exit_plaza, vehicle_class,
     toll_date, toll_time, occurred_at, period, amount, post_txn_balance, vehicle_id, lease_id, driver_id,
     attribution, trip_id, reason, assignment, batch_id, line_number, created_at, updated_at)
SELECT lane_txn_id, kind,
       COALESCE(outcome, 'PENDING'),
       tag_or_plate, posted_date, agency, entry_plaza, exit_plaza,
       vehicle_class, toll_date, toll_time, occurred_at, period, amount, post_txn_balance, vehicle_id,
       CASE WHEN outcome IS NULL THEN lease_id END, CASE WHEN outcome IS NULL THEN driver_id END,
       COALESCE(attribution, ''), trip_id, COALESCE(reason, ''), 1, %(batch)s, line, now(), now()
-- A join, not `line = ANY(array)`: a bound array is searched end to end for every row.
FROM toll_staging JOIN unnest(%(lines)s::integer[]) AS chosen(line) USING (line)
WHERE outcome IS NULL OR outcome IN ('EXCLUDED', 'UNMATCHED')
ORDER BY line
ON CONFLICT (lane_txn_id) DO NOTHING
"""

_KEEP = """
INSERT INTO tolls_tollimportrow (batch_id, line_number, reason, lane_txn_id, raw)
SELECT %s, line, reason, lane_txn_id, jsonb_build_object(
    'Lane Txn ID', lane_txn_id, 'Tag/Plate #', tag_or_plate, 'Posted Date', to_char(posted_date, 'MM/DD/YYYY'),
    'Agency', agency, 'Entry Plaza', entry_plaza, 'Exit Plaza', exit_plaza, 'Class', vehicle_class,
    'Date', to_char(toll_date, 'MM/DD/YYYY'), 'Time', to_char(toll_time, 'HH24:MI:SS'),
    'Amount', CASE kind WHEN 'CHARGE' THEN '(' || amount || ')' ELSE amount::text END,
    'Post Txn Balance', post_txn_balance::text)
FROM toll_staging WHERE outcome = 'INVALID'
"""


def import_tolls(
    *, stream: IO[bytes], file_name: str, actor=None, progress: Progress | None = None, size: int = 0
) -> TollImport:
    """Import an E-ZPass transaction CSV (a binary stream); returns the batch with its report.
    Its unreadable rows are its `kept_rows`; its tolls, charged or not, are its `tolls`."""
    now = timezone.now()
    source = _HashingReader(stream)
    text = io.TextIOWrapper(io.BufferedReader(source, buffer_size=1 << 20), encoding="utf-8-sig", errors="replace")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput(f"The file is not CSV: {exc}.", fields={"file": "Not a CSV file."})
    if header is None:
        raise InvalidInput("The file is empty.", fields={"file": "Empty file."})
    order = header_order(header)
    width = len(header)

    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        batch = TollImport.objects.create(file_name=shown(file_name)[-255:], sha256="", created_by=_user(actor))
        cursor.execute("DROP TABLE IF EXISTS toll_staging")
        cursor.execute("DROP TABLE IF EXISTS toll_vehicle_keys")
        cursor.execute(_STAGING)
        invalid: list[TollImportRow] = []
        first_line: dict[str, int] = {}
        checked: list[tuple[tuple, dict[str, str]]] = []
        rows = 0
        line = reader.line_num
        while True:
            try:
                values = next(reader, None)
            except csv.Error as exc:
                rows += 1
                invalid.append(_invalid(batch, line + 1, {}, [f"unreadable CSV: {exc}"], []))
                line = reader.line_num
                continue
            if values is None:
                break
            number, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            rows += 1
            if len(values) != width:
                invalid.append(_invalid(batch, number, {}, [f"has {len(values)} columns, expected {width}"], values))
                continue
            named = {name: values[index] for name, index in zip(COLUMNS, order, strict=True)}
            row, problems = check_row(named, now)
            if row is not None:
                seen = first_line.setdefault(row[0], number)
                if seen != number:
                    problems = [f"Lane Txn ID {row[0]} appears again (first on line {seen})"]
            if problems:
                invalid.append(_invalid(batch, number, named, problems, values))
                continue
            checked.append(((number, *row), named))
            if len(checked) >= STAGE_CHUNK:
                invalid += _stage(cursor, batch, checked)
                checked = []
                if progress:
                    progress(size, source.bytes_read)
        invalid += _stage(cursor, batch, checked)
        if progress:
            progress(size or source.bytes_read, source.bytes_read)
        cursor.execute("ANALYZE toll_staging")
        report = _attribute_and_insert(cursor, batch)
        TollImportRow.objects.bulk_create(invalid, batch_size=2000)
        batch.sha256 = source.sha256.hexdigest()
        batch.rows = rows
        batch.invalid = len(invalid) + report.pop("invalid")
        for name, value in report.items():
            setattr(batch, name, value)
        batch.save()
        audit(
            action=TollAction.IMPORT_TOLLS,
            actor=actor,
            obj=batch,
            payload={
                "file_name": batch.file_name,
                "sha256": batch.sha256,
                "rows": batch.rows,
                "imported": batch.imported,
                "charged_amount": str(batch.charged_amount),
                "refunded_amount": str(batch.refunded_amount),
                "excluded": batch.excluded,
                "unmatched": batch.unmatched,
                "already_imported": batch.already_imported,
                "invalid": batch.invalid,
            },
        )
    return batch


def _stage(cursor, batch: TollImport, checked: list[tuple[tuple, dict[str, str]]]) -> list[TollImportRow]:
    """COPY checked rows into the staging table; the rows the database refuses come back as kept rows."""

    def copy(chunk) -> None:
        with cursor.cursor.copy(f"COPY toll_staging ({_STAGED_COLUMNS}) FROM STDIN") as copy:
            for staged, _ in chunk:
                copy.write_row(staged)

    refused = write_or_isolate(checked, copy)
    return [_invalid(batch, staged[0], named, [reason], []) for (staged, named), reason in refused]


def _attribute_and_insert(cursor, batch: TollImport) -> dict:
    """Set-based: compare with the tolls on file, set CRZ rows aside, attribute, insert, keep the rest."""
    cursor.execute(_ON_FILE)
    cursor.execute(_CRZ, [CRZ_REASON])
    cursor.execute(_VEHICLE_KEYS)
    cursor.execute(_LEASE)
    cursor.execute(_UNMATCHED)
    cursor.execute(_BY_TRIP, {"back": TRIP_WINDOW + LONGEST_TRIP, "window": TRIP_WINDOW})
    cursor.execute(_BY_LEASE)
    cursor.execute(
        "SELECT line FROM toll_staging WHERE outcome IS NULL OR outcome IN ('EXCLUDED', 'UNMATCHED') ORDER BY line"
    )
    lines = [line for (line,) in cursor.fetchall()]
    inserted = 0

    def insert(chunk) -> None:
        nonlocal inserted
        cursor.execute(_INSERT, {"batch": batch.pk, "lines": list(chunk)})
        inserted += cursor.rowcount

    refused = write_or_isolate(lines, insert)
    if refused:
        cursor.execute(
            "UPDATE toll_staging s SET outcome = 'INVALID', reason = v.reason "
            "FROM unnest(%s::integer[], %s::text[]) AS v(line, reason) WHERE s.line = v.line",
            [[line for line, _ in refused], [reason for _, reason in refused]],
        )
    cursor.execute(_KEEP, [batch.pk])
    pair_refunds()  # before counting: a refund whose toll is on file takes that toll's driver
    cursor.execute(
        """
        SELECT t.status, t.kind, count(*), COALESCE(sum(t.amount), 0)
        FROM tolls_toll t WHERE t.batch_id = %s GROUP BY t.status, t.kind
        """,
        [batch.pk],
    )
    report = {
        "imported": 0,
        "charges": 0,
        "charged_amount": ZERO,
        "refunds": 0,
        "refunded_amount": ZERO,
        "excluded": 0,
        "excluded_amount": ZERO,
        "unmatched": 0,
    }
    for status, kind, count, amount in cursor.fetchall():
        report["imported"] += count
        if status == Toll.Status.EXCLUDED:
            report["excluded"] += count
            report["excluded_amount"] += amount if kind == Toll.Kind.CHARGE else -amount
        elif status == Toll.Status.UNMATCHED:
            report["unmatched"] += count
        elif kind == Toll.Kind.CHARGE:
            report["charges"] += count
            report["charged_amount"] += amount
        else:
            report["refunds"] += count
            report["refunded_amount"] += amount
    cursor.execute("SELECT outcome, count(*) FROM toll_staging GROUP BY outcome")
    by_outcome = {outcome or "new": n for outcome, n in cursor.fetchall()}
    # Rows a concurrent import of the same file inserted between our comparison and our insert count as on file.
    eligible = by_outcome.get("new", 0) + by_outcome.get("EXCLUDED", 0) + by_outcome.get("UNMATCHED", 0)
    report["already_imported"] = by_outcome.get("SAME", 0) + eligible - inserted
    report["invalid"] = by_outcome.get("INVALID", 0)
    return report


def _invalid(batch, line: int, named: dict[str, str], problems: list[str], values: list[str]) -> TollImportRow:
    raw = (
        {name: storable(value) for name, value in named.items()}
        if named
        else {"columns": [storable(value) for value in values]}
    )
    return TollImportRow(
        batch=batch,
        line_number=line,
        reason=storable("; ".join(problems))[:2000],
        lane_txn_id=storable(named.get("Lane Txn ID", "").strip())[:255],
        raw=raw,
    )


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
