"""Parking violations from the NYC Department of Finance's files (the Open Parking and Camera
Violations data set's columns), imported in bulk (docs/rules.md, "Parking violations").

The file is read once: each row is checked in Python (every problem, with its line number) and the
good ones are COPYed into a staging table. Then a few set-based statements find which summonses are
new, which came back with other figures (a new version) and which are unchanged; attribute each new
summons (plate → vehicle → the lease in force on that vehicle at the violation's date → the lease
driver with a trip on its medallion within two hours, else the primary driver); and write the
summonses and versions. New charges and increases go to the ledger in one bulk post; a summons whose
amount fell or was dismissed is replaced and voided one by one (`violations.charges.follow`), which
only the summonses that changed pay for.

Re-importing a file changes nothing: a row whose figures equal any version already on file is
*unchanged*. A bad row is kept for review and never stops the good ones; a header without one of
the columns refuses the whole file.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import AuditAction, audit
from batpay.errors import InvalidInput
from batpay.imports import column_order, storable, write_or_isolate
from batpay.imports import text_problem as file_text_problem
from batpay.money import ZERO, MoneyInputError, max_transaction_amount, parse_money
from batpay.periods import date_problem, local_instant, period_start
from batpay.steps import Progress
from batpay.text import shown
from batpay.text import text_problem as cell_problem
from ledger import services as ledger_services
from ledger.categories import Category
from violations import charges
from violations.models import Charge, Violation, ViolationImport, ViolationImportRow

COLUMNS = (
    "Plate",
    "State",
    "License Type",
    "Summons Number",
    "Issue Date",
    "Violation Time",
    "Violation",
    "Judgment Entry Date",
    "Fine Amount",
    "Penalty Amount",
    "Interest Amount",
    "Reduction Amount",
    "Payment Amount",
    "Amount Due",
    "Precinct",
    "County",
    "Issuing Agency",
    "Violation Status",
)
MONEY_COLUMNS = COLUMNS[8:14]
# Longest text each column keeps (the model's columns).
LENGTHS = {"Violation": 120, "Precinct": 8, "County": 8, "Issuing Agency": 64, "Violation Status": 64}
STAGE_CHUNK = 5000
# A status in which the summons is not owed at all (the Department's wording for a won hearing).
DISMISSED_WORDS = ("DISMISS", "NOT GUILTY")
# A trip is looked for this long around the violation (and trips longer than MAX_TRIP are not seen).
WINDOW = dt.timedelta(hours=2)
MAX_TRIP = dt.timedelta(hours=12)

_SUMMONS = re.compile(r"[0-9A-Z]{1,20}")
_PLATE = re.compile(r"[0-9A-Z-]{1,16}")
_STATE = re.compile(r"[0-9A-Z]{0,4}")
_LICENSE_TYPE = re.compile(r"[0-9A-Z]{0,8}")
_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2})([AP])")


class ViolationsAction(AuditAction):
    IMPORT = "violations.import"
    CREATE = "violations.create"
    REASSIGN = "violations.reassign"
    REVERSE = "violations.reverse"
    TLC_CREATE = "violations.tlc_create"
    TLC_DISPOSITION = "violations.tlc_disposition"


class _HashingReader(io.RawIOBase):
    """Reads a binary stream through, hashing and counting the bytes (the batch keeps the file's SHA-256)."""

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


def is_dismissed(status: str) -> bool:
    status = status.upper()
    return any(word in status for word in DISMISSED_WORDS)


def driver_total(*, fine: Decimal, penalty: Decimal, interest: Decimal, reduction: Decimal, dismissed: bool) -> Decimal:
    """What the driver owes for one version of a summons: what it costs (fine + penalty + interest −
    reduction; the fleet's payment of it changes nothing) plus the processing fee on the fine; nothing
    once it is dismissed or costs nothing."""
    cost = fine + penalty + interest - reduction
    if dismissed or cost <= 0:
        return ZERO
    return cost + charges.processing_fee(fine)


def read_date(text: str) -> dt.date | None:
    match = _DATE.fullmatch(text)
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def read_time(text: str) -> dt.time | None:
    """`10:05A`, `12:30P`; the data set writes midnight's hour as 12 or 00."""
    match = _TIME.fullmatch(text.upper())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 12 or minute > 59:
        return None
    hour = hour % 12 + (12 if match.group(3) == "P" else 0)
    return dt.time(hour, minute)


@dataclass(frozen=True)
class Row:
    """A checked row: what the staging table takes."""

    line: int
    summons: str
    plate: str
    state: str
    license_type: str
    issue_date: dt.date
    violation_time: str
    violated_at: dt.datetime
    violation: str
    judgment_date: dt.date | None
    fine: Decimal
    penalty: Decimal
    interest: Decimal
    reduction: Decimal
    payment: Decimal
    amount_due: Decimal
    precinct: str
    county: str
    agency: str
    status: str
    dismissed: bool
    total: Decimal

    def staged(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__dataclass_fields__)


def check_row(values: dict[str, str], line: int, today: dt.date) -> tuple[Row | None, list[str]]:
    """The row as typed values, or every problem found."""
    problems = []
    joined = "".join(values.values())
    # One search over the whole row first: cells are named only when something is there to name.
    if cell_problem(joined) or "\ufffd" in joined:
        problems = [
            f"{name}: {problem[0].lower()}{problem[1:].rstrip('.')}"
            for name, text in values.items()
            if (problem := cell_problem(text))
        ]
        # Bytes that were not UTF-8 (read as U+FFFD): the file's encoding is wrong; the row is not taken as read.
        problems += [
            problem for name, text in values.items() if "\ufffd" in text and (problem := file_text_problem(name, text))
        ]
    if problems:  # nothing else is read from a row whose cells are not text
        return None, problems
    v = {name: text.strip() for name, text in values.items()}
    summons = v["Summons Number"].upper()
    if not _SUMMONS.fullmatch(summons):
        problems.append(f"Summons Number {summons!r} is not 1 to 20 letters and digits")
    plate = v["Plate"].upper().replace(" ", "")
    if not _PLATE.fullmatch(plate):
        problems.append(f"Plate {plate!r} is not 1 to 16 letters and digits")
    state = v["State"].upper()
    if not _STATE.fullmatch(state):
        problems.append(f"State {state!r} is not a state code")
    license_type = v["License Type"].upper()
    if not _LICENSE_TYPE.fullmatch(license_type):
        problems.append(f"License Type {license_type!r} is not a license type code")
    issue_date = read_date(v["Issue Date"])
    if issue_date is None:
        problems.append(f"Issue Date {v['Issue Date']!r} is not a date MM/DD/YYYY")
    elif problem := date_problem(issue_date):
        problems.append(f"Issue Date {v['Issue Date']!r}: {problem[0].lower()}{problem[1:].rstrip('.')}")
        issue_date = None
    elif issue_date > today:
        problems.append(f"Issue Date {v['Issue Date']} is in the future")
    time = read_time(v["Violation Time"])
    if time is None:
        problems.append(f"Violation Time {v['Violation Time']!r} is not a time like 10:05A")
    judgment = None
    if v["Judgment Entry Date"]:
        judgment = read_date(v["Judgment Entry Date"])
        if judgment is None or date_problem(judgment):
            problems.append(f"Judgment Entry Date {v['Judgment Entry Date']!r} is not a date MM/DD/YYYY")
    if not v["Violation"]:
        problems.append("Violation is empty")
    for name, longest in LENGTHS.items():
        if len(v[name]) > longest:
            problems.append(f"{name} is longer than {longest} characters")
    amounts = {}
    largest = max_transaction_amount()
    for name in MONEY_COLUMNS:
        text = v[name]
        if not text and name != "Fine Amount":
            amounts[name] = ZERO
            continue
        try:
            amount = parse_money(text)
        except MoneyInputError:
            amount = None
        if amount is None or amount < 0:
            problems.append(f"{name} {text!r} is not an amount like 65.00 (zero or more, at most two decimals)")
        elif amount > largest:
            problems.append(f"{name} {text} is more than the largest charge, {largest}")
        else:
            amounts[name] = amount
    if problems:
        return None, problems
    fine, penalty, interest, reduction, payment, due = (amounts[name] for name in MONEY_COLUMNS)
    dismissed = is_dismissed(v["Violation Status"])
    total = driver_total(fine=fine, penalty=penalty, interest=interest, reduction=reduction, dismissed=dismissed)
    if total > largest:
        return None, [f"the driver's charge {total} would be more than the largest charge, {largest}"]
    row = Row(
        line=line,
        summons=summons,
        plate=plate,
        state=state,
        license_type=license_type,
        issue_date=issue_date,
        violation_time=v["Violation Time"].upper(),
        violated_at=local_instant(dt.datetime.combine(issue_date, time)),
        violation=v["Violation"],
        judgment_date=judgment,
        fine=fine,
        penalty=penalty,
        interest=interest,
        reduction=reduction,
        payment=payment,
        amount_due=due,
        precinct=v["Precinct"],
        county=v["County"],
        agency=v["Issuing Agency"],
        status=v["Violation Status"].upper(),
        dismissed=dismissed,
        total=total,
    )
    return row, []


def header_order(row: list[str] | None) -> list[int]:
    """Where each column is in the file (`batpay.imports.column_order`)."""
    return column_order(row, COLUMNS, described="the DOF data set's columns")


# --- the set-based part ----------------------------------------------------------------------------

_STAGING = """
CREATE TEMP TABLE violation_staging (
    line integer PRIMARY KEY, summons text, plate text, state text, license_type text, issue_date date,
    violation_time text, violated_at timestamptz, violation text, judgment_date date,
    fine numeric(12,2), penalty numeric(12,2), interest numeric(12,2), reduction numeric(12,2),
    payment numeric(12,2), amount_due numeric(12,2), precinct text, county text, agency text, status text,
    dismissed boolean, total numeric(12,2),
    outcome text, violation_id bigint, vehicle_id bigint, lease_id bigint, driver_id bigint,
    medallion_id bigint, attributed_by text, review_reason text
) ON COMMIT DROP
"""
_STAGED_COLUMNS = ", ".join(Row.__dataclass_fields__)

_SAME_FIGURES = """
    v.status = s.status AND v.judgment_entry_date IS NOT DISTINCT FROM s.judgment_date
    AND v.fine_amount = s.fine AND v.penalty_amount = s.penalty AND v.interest_amount = s.interest
    AND v.reduction_amount = s.reduction AND v.payment_amount = s.payment AND v.amount_due = s.amount_due
"""

_KNOWN = f"""
UPDATE violation_staging s
SET violation_id = k.id,
    outcome = CASE WHEN EXISTS (SELECT 1 FROM violations_violationversion v WHERE v.violation_id = k.id
                                AND {_SAME_FIGURES}) THEN 'UNCHANGED' ELSE 'VERSION' END
FROM violations_violation k WHERE k.summons_number = s.summons
"""

# plate → vehicle → the lease in force on that vehicle on the violation's date (the ACTIVE one, else
# the newest, as the trips import decides) → the lease driver nearest in time on a trip of that lease
# within the window, else the primary driver.
_ATTRIBUTE = """
UPDATE violation_staging s
SET vehicle_id = found.vehicle_id, lease_id = found.lease_id, medallion_id = found.medallion_id,
    driver_id = COALESCE(found.trip_driver, found.primary_driver_id),
    attributed_by = CASE WHEN found.trip_driver IS NULL THEN 'PRIMARY' ELSE 'TRIP' END
FROM (
    SELECT DISTINCT ON (s.line) s.line, ve.id AS vehicle_id, l.id AS lease_id, l.medallion_id,
           l.primary_driver_id,
           (SELECT t.driver_id FROM ledger_trip t
            WHERE t.lease_id = l.id AND t.medallion_id = l.medallion_id
              AND t.start_time >= s.violated_at - %(reach)s AND t.start_time <= s.violated_at + %(window)s
              AND t.end_time >= s.violated_at - %(window)s
            ORDER BY GREATEST(t.start_time - s.violated_at, s.violated_at - t.end_time, interval '0'), t.id
            LIMIT 1) AS trip_driver
    FROM violation_staging s
    JOIN leases_vehicle ve ON upper(replace(ve.plate_number, ' ', '')) = s.plate
    JOIN leases_lease l ON l.vehicle_id = ve.id
    WHERE s.outcome IS NULL AND l.status <> 'CANCELLED'
      AND l.start_date <= s.issue_date AND (l.end_date IS NULL OR l.end_date >= s.issue_date)
    ORDER BY s.line, (l.status = 'ACTIVE') DESC, l.start_date DESC, l.id DESC
) found
WHERE found.line = s.line
"""

# Which reason: one hash join on the fleet's plates, not a scan of the vehicles per kept summons.
_UNATTRIBUTED = """
UPDATE violation_staging s SET review_reason = CASE
    WHEN known.plate IS NULL THEN format('No vehicle with plate %s on file.', s.plate)
    ELSE format('No lease on the vehicle with plate %s was in force on %s.', s.plate, s.issue_date)
END
FROM violation_staging u
LEFT JOIN (SELECT DISTINCT upper(replace(plate_number, ' ', '')) AS plate FROM leases_vehicle) known
       ON known.plate = u.plate
WHERE u.line = s.line AND s.outcome IS NULL AND s.lease_id IS NULL
"""

_NEW_VIOLATIONS = """
WITH ins AS (
    INSERT INTO violations_violation
        (summons_number, plate, state, license_type, issue_date, violation_time, violated_at, violation,
         precinct, county, issuing_agency, vehicle_id, lease_id, driver_id, medallion_id, review,
         review_reason, attributed_by, status, fine_amount, amount_due, driver_total, created_by_id,
         created_at, updated_at)
    SELECT summons, plate, state, license_type, issue_date, violation_time, violated_at, violation,
           precinct, county, agency, vehicle_id, lease_id, driver_id, medallion_id,
           CASE WHEN lease_id IS NULL THEN 'NEEDS_REVIEW' ELSE 'ATTRIBUTED' END,
           COALESCE(review_reason, ''), COALESCE(attributed_by, ''), status, fine, amount_due, total, %(actor)s,
           now(), now()
    FROM violation_staging WHERE outcome IS NULL ORDER BY line
    RETURNING id, summons_number
)
UPDATE violation_staging s SET violation_id = ins.id, outcome = 'NEW' FROM ins WHERE ins.summons_number = s.summons
"""

_NEW_VERSIONS = """
INSERT INTO violations_violationversion
    (violation_id, number, batch_id, line_number, status, judgment_entry_date, fine_amount, penalty_amount,
     interest_amount, reduction_amount, payment_amount, amount_due, dismissed, driver_total, created_by_id,
     created_at)
SELECT s.violation_id,
       COALESCE((SELECT max(v.number) FROM violations_violationversion v WHERE v.violation_id = s.violation_id), 0) + 1,
       %(batch)s, s.line, s.status, s.judgment_date, s.fine, s.penalty, s.interest, s.reduction, s.payment,
       s.amount_due, s.dismissed, s.total, %(actor)s, now()
FROM violation_staging s WHERE s.outcome IN ('NEW', 'VERSION') ORDER BY s.line
"""

_CURRENT_FIGURES = """
UPDATE violations_violation k
SET status = s.status, fine_amount = s.fine, amount_due = s.amount_due, driver_total = s.total, updated_at = now()
FROM violation_staging s WHERE s.outcome = 'VERSION' AND k.id = s.violation_id
"""

# Charges a Controller voided in the ledger directly are marked voided before anything is compared
# (`charges.sync_voids`, set-based): the ledger is the truth of what is owed.
_SYNC_VOIDS = """
UPDATE violations_violationcharge c SET voided_at = now(), void_reason = 'Voided in the ledger'
FROM violation_staging s, ledger_obligationbalance b, ledger_posting p
WHERE s.outcome = 'VERSION' AND c.violation_id = s.violation_id AND c.voided_at IS NULL
  AND b.category = 'PVB' AND b.source_reference = c.source_reference
  AND p.obligation_id = b.id AND p.entry_type = 'DEBIT' AND p.reverses_id IS NULL AND p.receipt_id IS NULL
  AND p.status = 'VOIDED'
"""

# What each attributed summons of the file owes now against what its live charges hold.
_TO_CHARGE = """
SELECT k.id, k.summons_number, k.driver_id, k.lease_id, k.vehicle_id, k.medallion_id, k.issue_date,
       k.violation_time, k.violation, s.fine, s.total, s.status, s.line,
       COALESCE(c.live, 0), COALESCE(c.next_sequence, 1), COALESCE(c.same_owner, true),
       (SELECT v.id FROM violations_violationversion v WHERE v.violation_id = k.id ORDER BY v.number DESC LIMIT 1)
FROM violation_staging s
JOIN violations_violation k ON k.id = s.violation_id
LEFT JOIN LATERAL (
    SELECT SUM(amount) FILTER (WHERE voided_at IS NULL) AS live, max(sequence) + 1 AS next_sequence,
           bool_and(driver_id = k.driver_id AND lease_id = k.lease_id) FILTER (WHERE voided_at IS NULL) AS same_owner
    FROM violations_violationcharge WHERE violation_id = k.id
) c ON true
WHERE s.outcome IN ('NEW', 'VERSION') AND k.review = 'ATTRIBUTED'
ORDER BY s.line
"""


def describe(
    *,
    summons: str,
    issue_date: dt.date,
    time: str,
    violation: str,
    kind: str,
    amount: Decimal,
    total: Decimal,
    fine: Decimal,
) -> str:
    """The ledger's description of a charge: what the DTR prints for it."""
    head = f"PVB summons {summons}, {issue_date:%m/%d/%Y} {time}, {violation[:70]}"
    if kind == Charge.Kind.CHARGE:
        fee = charges.processing_fee(fine)
        if not fee:
            return f"{head}: {amount}"
        parts = f"fine {fine}, fee {fee}" if amount == fine + fee else f"fee {fee} included"
        return f"{head}: {amount} ({parts})"
    if kind == Charge.Kind.INCREASE:
        return f"{head}: now {total}, +{amount}"
    return f"{head}: now {total}"


def import_violations(
    *, stream: IO[bytes], file_name: str, actor=None, progress: Progress | None = None, size: int = 0
) -> ViolationImport:
    """Import a violations CSV (a binary stream). Returns the batch with its counts; the rows kept for
    review are its `kept_rows`. A file whose header lacks a column is refused as a whole (400)."""
    today = timezone.localdate()
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
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None

    with transaction.atomic(durable=True), connection.cursor() as cursor:
        # One import at a time: two files naming the same new summons must not both create it.
        cursor.execute("LOCK TABLE violations_violation IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        batch = ViolationImport.objects.create(file_name=shown(file_name)[-255:], sha256="", created_by_id=actor_id)
        start_staging(cursor)
        kept: list[ViolationImportRow] = []
        first_line: dict[str, int] = {}
        checked: list[tuple[Row, dict[str, str]]] = []
        rows = 0
        line = reader.line_num
        while True:
            try:
                values = next(reader, None)
            except csv.Error as exc:
                rows += 1
                kept.append(_kept(batch, line + 1, "", [f"unreadable CSV: {exc}"], {}))
                line = reader.line_num
                continue
            if values is None:
                break
            number, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            rows += 1
            if len(values) != len(header):
                reason = f"has {len(values)} columns, the header {len(header)}"
                kept.append(_kept(batch, number, "", [reason], {"columns": values}))
                continue
            named = {name: values[i] for name, i in zip(COLUMNS, order, strict=True)}
            row, problems = check_row(named, number, today)
            if row is not None:
                seen = first_line.setdefault(row.summons, number)
                if seen != number:
                    problems = [f"Summons Number {row.summons} appears again (first on line {seen})"]
            if problems:
                kept.append(_kept(batch, number, named["Summons Number"].strip(), problems, named))
                continue
            checked.append((row, named))
            if len(checked) >= STAGE_CHUNK:
                kept += _stage(cursor, batch, checked)
                checked = []
                if progress:
                    progress(size, source.bytes_read)
        kept += _stage(cursor, batch, checked)
        if progress:
            progress(size or source.bytes_read, source.bytes_read)
        outcome = _resolve(cursor, batch_id=batch.pk, actor=actor)
        ViolationImportRow.objects.bulk_create(kept, batch_size=2000)
        batch.sha256 = source.sha256.hexdigest()
        batch.rows = rows
        batch.new_summonses = outcome.new
        batch.new_versions = outcome.versions
        batch.unchanged = outcome.unchanged
        batch.invalid = len(kept)
        batch.needs_review = outcome.needs_review
        batch.charged = outcome.charged
        batch.save()
        audit(
            action=ViolationsAction.IMPORT,
            actor=actor,
            obj=batch,
            payload={
                "file_name": batch.file_name,
                "rows": rows,
                "new_summonses": batch.new_summonses,
                "new_versions": batch.new_versions,
                "unchanged": batch.unchanged,
                "invalid": batch.invalid,
                "needs_review": outcome.needs_review,
                "charged": str(outcome.charged),
            },
        )
    return batch


@dataclass(frozen=True)
class Outcome:
    new: int
    versions: int
    unchanged: int
    needs_review: int
    charged: Decimal


def start_staging(cursor) -> None:
    # Dropped at commit; dropped here too in case an enclosing transaction (a test) is still open.
    cursor.execute("DROP TABLE IF EXISTS violation_staging")
    cursor.execute(_STAGING)


def stage(cursor, rows: list[Row]) -> None:
    with cursor.cursor.copy(f"COPY violation_staging ({_STAGED_COLUMNS}) FROM STDIN") as out:
        for row in rows:
            out.write_row(row.staged())


def _resolve(cursor, *, batch_id: int | None, actor) -> Outcome:
    """Everything after staging, set-based: known or new, attribution, summonses, versions, charges."""
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    cursor.execute("ANALYZE violation_staging")
    cursor.execute(_KNOWN)
    cursor.execute(_ATTRIBUTE, {"window": WINDOW, "reach": MAX_TRIP + WINDOW})
    cursor.execute(_UNATTRIBUTED)
    cursor.execute(_NEW_VIOLATIONS, {"actor": actor_id})
    cursor.execute(_NEW_VERSIONS, {"batch": batch_id, "actor": actor_id})
    cursor.execute(_CURRENT_FIGURES)
    cursor.execute("SELECT outcome, count(*) FROM violation_staging GROUP BY outcome")
    outcomes = dict(cursor.fetchall())
    cursor.execute("SELECT count(*) FROM violation_staging WHERE outcome = 'NEW' AND lease_id IS NULL")
    (needs_review,) = cursor.fetchone()
    cursor.execute(_SYNC_VOIDS)
    cursor.execute(_TO_CHARGE)
    charged = _charge(cursor.fetchall(), actor=actor)
    return Outcome(
        new=outcomes.get("NEW", 0),
        versions=outcomes.get("VERSION", 0),
        unchanged=outcomes.get("UNCHANGED", 0),
        needs_review=needs_review,
        charged=charged,
    )


def resolve_entered(cursor, *, actor) -> Outcome:
    """`_resolve` for a summons entered by hand (no batch)."""
    return _resolve(cursor, batch_id=None, actor=actor)


def _charge(found: list[tuple], *, actor) -> Decimal:
    """Post what the file changed: new charges and increases in one bulk post, lower amounts and
    dismissals one summons at a time (`charges.follow`). Returns the sum of the new charges."""
    bulk: list[ledger_services.ObligationRow] = []
    bulk_charges: list[tuple] = []
    lower: list[int] = []
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    for (
        violation_id,
        summons,
        driver_id,
        lease_id,
        vehicle_id,
        medallion_id,
        issue_date,
        time,
        violation,
        fine,
        total,
        _status,
        _line,
        live,
        sequence,
        same_owner,
        version_id,
    ) in found:
        if total == live and same_owner:
            continue
        if total < live or not same_owner:
            lower.append(violation_id)
            continue
        kind = Charge.Kind.CHARGE if live == 0 else Charge.Kind.INCREASE
        amount = total - live
        reference = charges.source_reference("PVB", summons, sequence)
        bulk.append(
            ledger_services.ObligationRow(
                category=Category.PVB,
                source_reference=reference,
                amount=amount,
                driver_id=driver_id,
                lease_id=lease_id,
                period=period_start(issue_date),
                vehicle_id=vehicle_id,
                medallion_id=medallion_id,
                description=describe(
                    summons=summons,
                    issue_date=issue_date,
                    time=time,
                    violation=violation,
                    kind=kind,
                    amount=amount,
                    total=total,
                    fine=fine,
                ),
            )
        )
        reason = "" if kind == Charge.Kind.CHARGE else "A later file raised the amount."
        bulk_charges.append(
            (violation_id, version_id, sequence, kind, reference, amount, driver_id, lease_id, reason, "", actor_id)
        )
    posted = ledger_services.post_obligations(rows=bulk, actor=actor, description="PVB")
    # COPYed, not bulk_create(): the ORM's per-field preparation cost more than the insert itself.
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY violations_violationcharge (violation_id, version_id, sequence, kind, source_reference, amount, "
            "driver_id, lease_id, reason, void_reason, created_by_id, created_at) FROM STDIN"
        ) as copy,
    ):
        now = timezone.now()
        for row in bulk_charges:
            copy.write_row((*row, now))
    total_charged = sum((p.amount for p in posted), ZERO)
    if lower:
        from violations.services import follow_violation  # the row path, shared with manual entry

        for violation in Violation.objects.select_for_update().filter(pk__in=lower).order_by("pk"):
            total_charged += follow_violation(
                violation=violation, reason="A later file changed the summons.", actor=actor
            )
    return total_charged


def _stage(cursor, batch: ViolationImport, checked: list[tuple[Row, dict[str, str]]]) -> list[ViolationImportRow]:
    def copy(chunk):
        stage(cursor, [row for row, _ in chunk])

    return [
        _kept(batch, row.line, row.summons, [reason], named) for (row, named), reason in write_or_isolate(checked, copy)
    ]


def _kept(batch, line: int, summons: str, problems: list[str], raw: dict) -> ViolationImportRow:
    raw = {
        key: [storable(v) for v in value] if isinstance(value, list) else storable(value) for key, value in raw.items()
    }
    return ViolationImportRow(
        batch=batch,
        line_number=line,
        reason=storable("; ".join(problems))[:2000],
        summons_number=storable(summons)[:255],
        raw=raw,
    )
