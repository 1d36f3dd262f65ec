"""Trips from the card-payment system's CSV export (SPEC §5), imported in bulk.

The file is read once: each row is checked in Python (clear reasons, with its line number) and
the good ones are COPYed into a staging table; matching to leases and the insert are a few
set-based statements. A trip is booked to the lease in force on the trip's start date (New
York time) for its medallion whose primary or additional driver holds the trip's TLC license.

Re-importing changes nothing: a trip id already on file with the same figures is counted as
already imported; with different figures it is refused. Rows that do not become trips — bad
data, no matching lease, or a week whose earnings are already closed — are kept for review
with their line number and reason; they never stop the good rows. That holds for a row only the
database refuses too: the COPY and the insert run in savepoints and find such rows by halving
(`batpay.imports.write_or_isolate`), so a good file keeps its few bulk statements.

Bad data includes a cell that is not text (`batpay.text`: a NUL, a control character, a line
break), a time outside the dates anybody may enter (`batpay.periods`), and a trip that would take
its lease's week of card earnings or of taxes past MAX_TRANSACTION_AMOUNT: each is one payment or
charge in the ledger.

Times are instants: `batpay.periods.read_time` reads the file's wall times across both changes
of the clock, and every order and duration is taken on UTC instants (docs/rules.md, "Clock").
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from decimal import Decimal
from typing import IO

from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import InvalidInput
from batpay.imports import storable, text_problem, write_or_isolate
from batpay.money import MoneyInputError, max_transaction_amount, parse_money
from batpay.periods import (
    REPEATED,
    SKIPPED,
    OutsideCalendar,
    clock_change,
    date_problem,
    local_date,
    local_instant,
    local_zone,
    period_start,
    read_time,
)
from batpay.steps import Progress
from batpay.text import shown
from batpay.text import text_problem as cell_problem
from leases.models import MEDALLION_RE, TLC_LICENSE_RE, Lease
from statements.audit import StatementAction
from statements.models import TAX_COLUMNS, TripImport, TripImportRow

COLUMNS = (
    "trip_id",
    "tlc_license",
    "medallion",
    "start_time",
    "end_time",
    "payment_type",
    "fare",
    "tips",
    "tolls",
    "mta_surcharge",
    "improvement_surcharge",
    "congestion_fee",
    "cbdt_fee",
    "airport_fee",
    "total_amount",
)
MONEY_COLUMNS = COLUMNS[6:]
PARTS = MONEY_COLUMNS[:-1]  # what total_amount is the sum of
PAYMENT_TYPES = ("CARD", "CASH")
# No taxi trip costs this much; a larger figure is a typing or export error, not a fare.
MAX_TRIP_AMOUNT = Decimal("10000.00")
MAX_TRIP_ID_LENGTH = 64
# Checked rows are COPYed in chunks of this many, each in a savepoint (a refused chunk is halved).
STAGE_CHUNK = 5000

_LICENSE = re.compile(TLC_LICENSE_RE)
_MEDALLION = re.compile(MEDALLION_RE)


class _HashingReader(io.RawIOBase):
    """Reads a binary stream through, hashing and counting the bytes on the way."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.stream.read(len(buffer))
        if not chunk:
            return 0
        buffer[: len(chunk)] = chunk
        self.sha256.update(chunk)
        self.bytes_read += len(chunk)
        return len(chunk)


def _span(delta: dt.timedelta) -> str:
    minutes, seconds = divmod(int(delta.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    if not hours and not minutes:
        return f"{seconds} s"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _clock_notes(times: dict[str, str]) -> str:
    """How wall times at a change of the clock were read, for a reason that would puzzle without it."""
    found: dict[str, list[tuple[str, dt.datetime]]] = {SKIPPED: [], REPEATED: []}
    for name, text in times.items():
        wall = dt.datetime.fromisoformat(text)
        change = clock_change(wall) if wall.tzinfo is None else None
        if change:
            found[change].append((name, wall))
    notes = []
    for change, walls in found.items():
        if not walls:
            continue
        which = " and ".join(f"{name} {wall:%H:%M}" for name, wall in walls)
        verb = "is" if len(walls) == 1 else "are"
        day = walls[0][1]
        if change == SKIPPED:
            read = " and ".join(f"{local_instant(wall).astimezone(local_zone()):%H:%M %Z}" for _, wall in walls)
            notes.append(f"{which} {verb} in the hour skipped on {day:%Y-%m-%d} (clocks went forward), read as {read}")
        else:
            second = day.replace(tzinfo=local_zone(), fold=1).isoformat()[-6:]
            notes.append(
                f"{which} {verb} in the hour repeated on {day:%Y-%m-%d} (clocks went back), read as its first "
                f"occurrence; the offset {second} gives the second"
            )
    return "".join(f" ({note})" for note in notes)


def _check_row(values: list[str], now: dt.datetime) -> tuple[tuple | None, list[str]]:
    """The row as typed values for the staging table, or the problems found (all of them)."""
    problems = [
        f"{name}: {problem[0].lower()}{problem[1:].rstrip('.')}"
        for name, text in zip(COLUMNS, values, strict=False)
        if (problem := cell_problem(text))
    ]
    if problems:  # nothing else is read from a row whose cells are not text
        return None, problems
    trip_id, license_, medallion, start_text, end_text, payment_type = (v.strip() for v in values[:6])
    if not trip_id:
        problems.append("trip_id is empty")
    elif len(trip_id) > MAX_TRIP_ID_LENGTH:
        problems.append(f"trip_id is longer than {MAX_TRIP_ID_LENGTH} characters")
    elif problem := text_problem("trip_id", trip_id):
        problems.append(problem)
    if not _LICENSE.match(license_):
        problems.append(f"tlc_license {license_!r} is not 7 digits")
    medallion = medallion.upper()
    if not _MEDALLION.match(medallion):
        problems.append(f"medallion {medallion!r} is not like 2Y47")
    times = []  # UTC instants: ordered and subtracted as such, never as wall times
    for name, text in (("start_time", start_text), ("end_time", end_text)):
        try:
            moment = read_time(text)
        except OutsideCalendar:
            problems.append(f"{name} {text!r} is outside the calendar")
            continue
        except ValueError:
            problems.append(f"{name} {text!r} is not an ISO 8601 date and time")
            continue
        if problem := date_problem(local_date(moment)):
            problems.append(f"{name} {text!r}: {problem[0].lower()}{problem[1:].rstrip('.')}")
            continue
        times.append(moment)
    period = None
    if len(times) == 2:
        start, end = times
        if end < start:
            notes = _clock_notes({"start_time": start_text, "end_time": end_text})
            problems.append(f"end_time is {_span(start - end)} before start_time{notes}")
        if start > now:
            problems.append("start_time is in the future")
        try:
            trip_date = local_date(start)
            period = period_start(trip_date)
        except OverflowError:  # 0001-01-01: its week would start in year 0
            problems.append(f"start_time {start_text!r} is outside the calendar")
    payment_type = payment_type.upper()
    if payment_type not in PAYMENT_TYPES:
        problems.append(f"payment_type {payment_type!r} is not CARD or CASH")
    amounts = {}
    for name, text in zip(MONEY_COLUMNS, values[6:], strict=True):
        text = text.strip()
        try:
            amount = parse_money(text)
        except MoneyInputError:
            amount = None
        if amount is None or amount < 0:
            problems.append(f"{name} {text!r} is not an amount like 12.50 (zero or more, at most two decimals)")
            continue
        if amount > MAX_TRIP_AMOUNT:
            problems.append(f"{name} {text} is more than {MAX_TRIP_AMOUNT}")
        amounts[name] = amount
    if len(amounts) == len(MONEY_COLUMNS):
        parts = sum(amounts[name] for name in PARTS)
        if parts != amounts["total_amount"]:
            problems.append(f"total_amount {amounts['total_amount']} is not the sum of the other amounts ({parts})")
    if problems:
        return None, problems
    row = (
        trip_id,
        license_,
        medallion,
        times[0],
        times[1],
        trip_date,
        period,
        payment_type,
        *(amounts[name] for name in MONEY_COLUMNS),
        start_text,
        end_text,
    )
    return row, []


def _header(row: list[str] | None) -> list[str]:
    names = [name.strip().lower() for name in (row or [])]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0].lstrip("\ufeff")
    missing = [name for name in COLUMNS if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if missing or unknown or repeated:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(unknown) or '(empty)'}")
        if repeated:
            problems.append(f"repeated {', '.join(repeated)}")
        raise InvalidInput(
            f"The first line must name exactly the columns {', '.join(COLUMNS)}: {'; '.join(problems)}.",
            fields={"file": f"Columns: {'; '.join(problems)}."},
        )
    return names


_STAGING = """
CREATE TEMP TABLE trip_staging (
    line integer PRIMARY KEY, trip_id text, tlc text, medallion text,
    start_time timestamptz, end_time timestamptz, trip_date date, period date, payment_type text,
    fare numeric(12,2), tips numeric(12,2), tolls numeric(12,2), mta_surcharge numeric(12,2),
    improvement_surcharge numeric(12,2), congestion_fee numeric(12,2), cbdt_fee numeric(12,2),
    airport_fee numeric(12,2), total_amount numeric(12,2), start_text text, end_text text,
    outcome text, reason text, lease_id bigint, driver_id bigint, medallion_id bigint
) ON COMMIT DROP
"""
_STAGED_COLUMNS = (
    "line, trip_id, tlc, medallion, start_time, end_time, trip_date, period, payment_type, "
    + ", ".join(MONEY_COLUMNS)
    + ", start_text, end_text"
)

_SAME_FIGURES = " AND ".join(
    [
        "d.tlc_license_number = s.tlc",
        "m.number = s.medallion",
        "t.start_time = s.start_time",
        "t.end_time = s.end_time",
        "t.payment_type = s.payment_type",
        *(f"t.{name} = s.{name}" for name in MONEY_COLUMNS),
    ]
)

_MATCH = """
UPDATE trip_staging s
SET lease_id = found.lease_id, driver_id = found.driver_id, medallion_id = found.medallion_id
FROM (
    SELECT DISTINCT ON (s.line) s.line, l.id AS lease_id, d.id AS driver_id, m.id AS medallion_id
    FROM trip_staging s
    JOIN leases_medallion m ON m.number = s.medallion
    JOIN leases_driver d ON d.tlc_license_number = s.tlc
    JOIN leases_lease l ON l.medallion_id = m.id
    WHERE s.outcome IS NULL
      AND l.status <> 'CANCELLED'
      AND l.start_date <= s.trip_date AND (l.end_date IS NULL OR l.end_date >= s.trip_date)
      AND (l.primary_driver_id = d.id
           OR EXISTS (SELECT 1 FROM {additional} a WHERE a.lease_id = l.id AND a.driver_id = d.id))
    -- Two leases in force on one day (one ended that day, one began): the ACTIVE one, else the newer.
    ORDER BY s.line, (l.status = 'ACTIVE') DESC, l.start_date DESC, l.id DESC
) found
WHERE found.line = s.line
"""

_UNMATCHED = """
UPDATE trip_staging s SET outcome = 'UNMATCHED', reason = CASE
    WHEN NOT EXISTS (SELECT 1 FROM leases_medallion m WHERE m.number = s.medallion)
        THEN format('No medallion %s on file.', s.medallion)
    WHEN NOT EXISTS (SELECT 1 FROM leases_driver d WHERE d.tlc_license_number = s.tlc)
        THEN format('No driver with TLC license %s on file.', s.tlc)
    ELSE format('No lease on medallion %s was in force on %s with the driver of TLC license %s '
                'as its primary or additional driver.', s.medallion, s.trip_date, s.tlc)
END
WHERE s.outcome IS NULL AND s.lease_id IS NULL
"""

_INSERT = """
INSERT INTO ledger_trip
    (trip_id, lease_id, driver_id, medallion_id, period, start_time, end_time, payment_type,
     {money}, batch_id, created_at)
SELECT trip_id, lease_id, driver_id, medallion_id, period, start_time, end_time, payment_type,
       {money}, %s, now()
FROM trip_staging WHERE outcome IS NULL AND line = ANY(%s) ORDER BY line
ON CONFLICT (trip_id) DO NOTHING
"""

# A lease's week of card earnings becomes one EARNINGS receipt, and its taxes one TAXES charge: a trip
# that adds to a sum that would then pass the largest payment or charge (trips on file first, then the
# file's in line order) is kept for review instead, and so is every later one that adds to it.
_PAST_THE_LARGEST = """
UPDATE trip_staging s
SET outcome = 'INVALID',
    reason = format('The week of %%s of lease %%s would add up to more than %%s of %%s with this trip: one '
                    'payment or charge is at most that (MAX_TRANSACTION_AMOUNT).', to_char(s.period, 'YYYY-MM-DD'),
                    l.lease_number, %(largest)s, CASE WHEN running.card > %(largest)s THEN 'card earnings'
                                                      ELSE 'taxes' END)
FROM (
    SELECT s.line, s.payment_type = 'CARD' AS adds_card, {taxes} > 0 AS adds_taxes,
           COALESCE(onfile.card, 0) + COALESCE(SUM(s.total_amount) FILTER (WHERE s.payment_type = 'CARD') OVER week, 0)
               AS card,
           COALESCE(onfile.taxes, 0) + SUM({taxes}) OVER week AS taxes
    FROM trip_staging s
    LEFT JOIN LATERAL (
        SELECT SUM(t.total_amount) FILTER (WHERE t.payment_type = 'CARD') AS card, SUM({trip_taxes}) AS taxes
        FROM ledger_trip t WHERE t.lease_id = s.lease_id AND t.period = s.period
    ) onfile ON true
    WHERE s.outcome IS NULL
    WINDOW week AS (PARTITION BY s.lease_id, s.period ORDER BY s.line)
) running, leases_lease l
WHERE running.line = s.line AND l.id = s.lease_id
  AND ((running.adds_card AND running.card > %(largest)s) OR (running.adds_taxes AND running.taxes > %(largest)s))
""".format(
    taxes=" + ".join(f"s.{column}" for column in TAX_COLUMNS),
    trip_taxes=" + ".join(f"t.{column}" for column in TAX_COLUMNS),
)

# The row as read, for review: the staged (checked) values in the file's own notation, the times
# as the file wrote them (a wall time in the repeated hour means nothing without its offset).
_KEEP = """
INSERT INTO ledger_tripimportrow (batch_id, line_number, kind, reason, trip_id, raw)
SELECT %s, line, outcome, reason, trip_id, jsonb_build_object(
    'trip_id', trip_id, 'tlc_license', tlc, 'medallion', medallion,
    'start_time', start_text, 'end_time', end_text,
    'payment_type', payment_type, {money})
FROM trip_staging WHERE outcome IN ('INVALID', 'UNMATCHED', 'LATE')
"""


def import_trips(
    *, stream: IO[bytes], file_name: str, actor=None, progress: Progress | None = None, size: int = 0
) -> TripImport:
    """Import a trips CSV (a binary stream). Returns the batch with its counts; the rows kept
    for review are its `kept_rows`. A file whose header is wrong is refused as a whole (400)."""
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
    order = [_header(header).index(name) for name in COLUMNS]

    with transaction.atomic(durable=True), connection.cursor() as cursor:
        # Taken before reading which weeks are closed: a weekly close (SHARE lock) waits for this
        # import to commit, or this import waits for the close and then sees the week closed.
        cursor.execute("LOCK TABLE ledger_trip IN ROW EXCLUSIVE MODE")
        # A row's foreign keys are checked by its own statement, inside the savepoint that can keep
        # it for review, not at commit where a deferred check would fail the whole file.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        batch = TripImport.objects.create(file_name=shown(file_name)[-255:], sha256="", created_by=_user(actor))
        # Dropped at commit; dropped here too in case an enclosing transaction (a test) is still open.
        cursor.execute("DROP TABLE IF EXISTS trip_staging")
        cursor.execute(_STAGING)
        invalid: list[TripImportRow] = []
        first_line: dict[str, int] = {}
        checked: list[tuple[tuple, list[str]]] = []  # (staged row, the row's values) not yet COPYed
        rows = 0
        line = reader.line_num  # the header's last line
        while True:
            try:
                values = next(reader, None)
            except csv.Error as exc:
                rows += 1
                invalid.append(_invalid(batch, line + 1, "", [f"unreadable CSV: {exc}"], []))
                line = reader.line_num
                continue
            if values is None:
                break
            number, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            rows += 1
            if len(values) != len(COLUMNS):
                reason = f"has {len(values)} columns, expected {len(COLUMNS)}"
                invalid.append(_invalid(batch, number, values[0] if values else "", [reason], values))
                continue
            ordered = [values[i] for i in order]
            row, problems = _check_row(ordered, now)
            if row is not None:
                seen = first_line.setdefault(row[0], number)
                if seen != number:
                    problems = [f"trip_id {row[0]} appears again (first on line {seen})"]
            if problems:
                invalid.append(_invalid(batch, number, ordered[0].strip(), problems, ordered, named=True))
                continue
            checked.append(((number, *row), ordered))
            if len(checked) >= STAGE_CHUNK:
                invalid += _stage(cursor, batch, checked)
                checked = []
                if progress:
                    progress(size, source.bytes_read)
        invalid += _stage(cursor, batch, checked)
        if progress:
            progress(size or source.bytes_read, source.bytes_read)
        cursor.execute("ANALYZE trip_staging")
        counts = _match_and_insert(cursor, batch)
        TripImportRow.objects.bulk_create(invalid, batch_size=2000)
        batch.sha256 = source.sha256.hexdigest()
        batch.rows = rows
        batch.invalid = len(invalid) + counts["INVALID"]
        batch.imported = counts["imported"]
        batch.already_imported = counts["SAME"] + counts["raced"]
        batch.unmatched = counts["UNMATCHED"]
        batch.late = counts["LATE"]
        batch.save()
        audit(
            action=StatementAction.IMPORT_TRIPS,
            actor=actor,
            obj=batch,
            payload={
                "file_name": batch.file_name,
                "sha256": batch.sha256,
                "rows": batch.rows,
                "imported": batch.imported,
                "already_imported": batch.already_imported,
                "invalid": batch.invalid,
                "unmatched": batch.unmatched,
                "late": batch.late,
            },
        )
    return batch


def _stage(cursor, batch: TripImport, checked: list[tuple[tuple, list[str]]]) -> list[TripImportRow]:
    """COPY checked rows into the staging table; the rows the database refuses come back as kept rows."""

    def copy(chunk: list[tuple[tuple, list[str]]]) -> None:
        with cursor.cursor.copy(f"COPY trip_staging ({_STAGED_COLUMNS}) FROM STDIN") as copy:
            for staged, _ in chunk:
                copy.write_row(staged)

    return [
        _invalid(batch, staged[0], staged[1], [reason], values, named=True)
        for (staged, values), reason in write_or_isolate(checked, copy)
    ]


def _match_and_insert(cursor, batch: TripImport) -> dict[str, int]:
    """Set-based: compare with trips on file, refuse closed weeks, match leases, insert, keep
    the rest for review. Returns how many rows ended each way."""
    cursor.execute(
        f"""
        UPDATE trip_staging s
        SET outcome = CASE WHEN {_SAME_FIGURES} THEN 'SAME' ELSE 'INVALID' END,
            reason = 'trip_id ' || s.trip_id || ' is already on file with different figures (imported in batch '
                     || t.batch_id || ')'
        FROM ledger_trip t
        JOIN leases_driver d ON d.id = t.driver_id
        JOIN leases_medallion m ON m.id = t.medallion_id
        WHERE t.trip_id = s.trip_id
        """
    )
    cursor.execute(
        """
        UPDATE trip_staging s
        SET outcome = 'LATE',
            reason = 'The week of ' || to_char(s.period, 'YYYY-MM-DD') || ' is closed: its earnings were '
                     || 'booked and its DTRs issued, so a trip can no longer be added to it.'
        FROM ledger_earningsclose c
        WHERE s.outcome IS NULL AND c.period = s.period
        """
    )
    cursor.execute(_MATCH.format(additional=Lease.additional_drivers.through._meta.db_table))
    cursor.execute(_UNMATCHED)
    cursor.execute(_PAST_THE_LARGEST, {"largest": max_transaction_amount()})
    insert = _INSERT.format(money=", ".join(MONEY_COLUMNS))
    cursor.execute("SELECT line FROM trip_staging WHERE outcome IS NULL ORDER BY line")
    lines = [line for (line,) in cursor.fetchall()]
    imported = 0

    def insert_lines(chunk: list[int]) -> None:
        nonlocal imported
        cursor.execute(insert, [batch.pk, list(chunk)])
        imported += cursor.rowcount

    refused = write_or_isolate(lines, insert_lines)
    if refused:
        cursor.execute(
            "UPDATE trip_staging s SET outcome = 'INVALID', reason = v.reason "
            "FROM unnest(%s::integer[], %s::text[]) AS v(line, reason) WHERE s.line = v.line",
            [[line for line, _ in refused], [reason for _, reason in refused]],
        )
    cursor.execute(_KEEP.format(money=", ".join(f"'{name}', {name}::text" for name in MONEY_COLUMNS)), [batch.pk])
    cursor.execute("SELECT outcome, count(*) FROM trip_staging GROUP BY outcome")
    by_outcome = {outcome or "new": n for outcome, n in cursor.fetchall()}
    counts = {kind: by_outcome.get(kind, 0) for kind in ("SAME", "INVALID", "UNMATCHED", "LATE")}
    counts["imported"] = imported
    # Inserted by a concurrent import of the same trips between our comparison and our insert.
    counts["raced"] = by_outcome.get("new", 0) - imported
    return counts


def _invalid(batch, line: int, trip_id: str, problems: list[str], values: list[str], named: bool = False):
    values = [storable(value) for value in values]
    raw = dict(zip(COLUMNS, values, strict=False)) if named else {"columns": values}
    return TripImportRow(
        batch=batch,
        line_number=line,
        kind=TripImportRow.Kind.INVALID,
        reason=storable("; ".join(problems))[:2000],
        trip_id=storable(trip_id)[:255],
        raw=raw,
    )


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- reads for the API and the admin -------------------------------------------------------------
