"""NACHA ACH files: the PPD credit file of a payout run, and a parser that reads one back and checks it.

One file, one batch (service class 220: credits only; SEC code PPD, consumer accounts). Records are
94 characters; the file is padded with lines of 9s to a multiple of 10 records (a block). Each entry
pays one driver: transaction code 22 (checking) or 32 (savings), the receiving bank's routing number
as 8 digits plus check digit, the account number, the amount in cents, the driver's id and name,
and a trace number (the originating bank's 8-digit id + a 7-digit sequence). The entry hash is the
sum of the 8-digit routing numbers, its last 10 digits. Bank return files are entries with a
type-99 addenda record carrying the return code and the original entry's trace number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from payouts.banking import nacha_text

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
CREDIT_CODES = {"CHECKING": "22", "SAVINGS": "32"}
SERVICE_CLASS_CREDITS = "220"


@dataclass(frozen=True)
class Originator:
    company_name: str
    company_id: str
    entry_description: str
    origin_routing: str
    origin_name: str
    destination_routing: str
    destination_name: str

    @property
    def odfi(self) -> str:
        return self.origin_routing[:8]


@dataclass(frozen=True)
class Entry:
    routing_number: str
    account_number: str
    account_type: str  # CHECKING / SAVINGS
    amount: Decimal
    individual_id: str
    name: str
    trace_number: str


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _record(text: str) -> str:
    if len(text) != RECORD_LENGTH:
        raise ValueError(f"NACHA record of {len(text)} characters: {text!r}")
    return text


def build_file(
    *,
    originator: Originator,
    entries: Sequence[Entry],
    created: dt.datetime,
    effective_date: dt.date,
    file_id_modifier: str = "A",
    batch_number: int = 1,
    reference: str = "",
) -> str:
    """The whole file as text, records separated by CRLF (what banks expect)."""
    o = originator
    records = [
        _record(
            "1"
            + "01"
            + " "
            + o.destination_routing
            + " "
            + o.origin_routing
            + created.strftime("%y%m%d")
            + created.strftime("%H%M")
            + file_id_modifier
            + "094"
            + "10"
            + "1"
            + nacha_text(o.destination_name, 23)
            + nacha_text(o.origin_name, 23)
            + nacha_text(reference, 8)
        ),
        _record(
            "5"
            + SERVICE_CLASS_CREDITS
            + nacha_text(o.company_name, 16)
            + " " * 20
            + nacha_text(o.company_id, 10)
            + "PPD"
            + nacha_text(o.entry_description, 10)
            + effective_date.strftime("%y%m%d")
            + effective_date.strftime("%y%m%d")
            + "   "
            + "1"
            + o.odfi
            + f"{batch_number:07d}"
        ),
    ]
    entry_hash = 0
    total = 0
    for entry in entries:
        cents = _cents(entry.amount)
        if cents <= 0:
            raise ValueError("A payout is more than 0.00.")
        total += cents
        entry_hash += int(entry.routing_number[:8])
        records.append(
            _record(
                "6"
                + CREDIT_CODES[entry.account_type]
                + entry.routing_number[:8]
                + entry.routing_number[8]
                + entry.account_number.ljust(17)
                + f"{cents:010d}"
                + nacha_text(entry.individual_id, 15)
                + nacha_text(entry.name, 22)
                + "  "
                + "0"
                + entry.trace_number
            )
        )
    count = len(entries)
    hash_text = f"{entry_hash % 10**10:010d}"
    records.append(
        _record(
            "8"
            + SERVICE_CLASS_CREDITS
            + f"{count:06d}"
            + hash_text
            + f"{0:012d}"
            + f"{total:012d}"
            + nacha_text(o.company_id, 10)
            + " " * 19
            + " " * 6
            + o.odfi
            + f"{batch_number:07d}"
        )
    )
    blocks = -(-(len(records) + 1) // BLOCKING_FACTOR)
    records.append(
        _record(
            "9" + f"{1:06d}" + f"{blocks:06d}" + f"{count:08d}" + hash_text + f"{0:012d}" + f"{total:012d}" + " " * 39
        )
    )
    records += ["9" * RECORD_LENGTH] * (blocks * BLOCKING_FACTOR - len(records))
    return "\r\n".join(records) + "\r\n"


# --- reading a file back ---------------------------------------------------------------------------


@dataclass
class ParsedEntry:
    transaction_code: str
    routing_number: str
    account_number: str
    amount: Decimal
    individual_id: str
    name: str
    trace_number: str
    return_code: str = ""
    original_trace: str = ""


@dataclass
class ParsedFile:
    immediate_destination: str
    immediate_origin: str
    company_name: str
    company_id: str
    sec_code: str
    effective_date: str
    entries: list[ParsedEntry] = field(default_factory=list)
    record_count: int = 0
    block_count: int = 0
    batch_count: int = 0
    entry_hash: int = 0
    total_credit: Decimal = Decimal("0.00")
    total_debit: Decimal = Decimal("0.00")


def _digits(text: str, what: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"{what} is not a number: {text!r}")
    return int(text)


def parse(text: str) -> ParsedFile:
    """Read a NACHA file and check it: every record 94 characters, a multiple of 10 records, batch and
    file controls agreeing with the entries (counts, entry hash, debit and credit totals, blocks).
    Any disagreement is a ValueError saying which."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line != ""]
    for number, line in enumerate(lines, start=1):
        if len(line) != RECORD_LENGTH:
            raise ValueError(f"record {number} has {len(line)} characters, not {RECORD_LENGTH}")
    if len(lines) % BLOCKING_FACTOR:
        raise ValueError(f"{len(lines)} records is not a multiple of {BLOCKING_FACTOR}")
    if not lines or lines[0][0] != "1":
        raise ValueError("the file does not start with a file header (1)")
    header = lines[0]
    if header[34:37] != "094" or header[37:39] != "10":
        raise ValueError("file header: record size 094 and blocking factor 10 expected")
    parsed = ParsedFile(
        immediate_destination=header[3:13].strip(),
        immediate_origin=header[13:23].strip(),
        company_name="",
        company_id="",
        sec_code="",
        effective_date="",
    )
    batch_entries: list[ParsedEntry] = []
    batches = 0
    file_control = None
    padding_started = False
    for number, line in enumerate(lines[1:], start=2):
        kind = line[0]
        if padding_started:
            if line != "9" * RECORD_LENGTH:
                raise ValueError(f"record {number}: only padding may follow the file control")
            continue
        if kind == "5":
            batch_entries = []
            parsed.company_name = line[4:20].strip()
            parsed.company_id = line[40:50].strip()
            parsed.sec_code = line[50:53]
            parsed.effective_date = line[69:75]
        elif kind == "6":
            entry = ParsedEntry(
                transaction_code=line[1:3],
                routing_number=line[3:12],
                account_number=line[12:29].strip(),
                amount=Decimal(_digits(line[29:39], f"record {number} amount")) / 100,
                individual_id=line[39:54].strip(),
                name=line[54:76].strip(),
                trace_number=line[79:94],
            )
            batch_entries.append(entry)
            parsed.entries.append(entry)
        elif kind == "7":
            if not batch_entries:
                raise ValueError(f"record {number}: an addenda without its entry")
            if line[1:3] == "99":
                batch_entries[-1].return_code = line[3:6]
                batch_entries[-1].original_trace = line[6:21]
        elif kind == "8":
            batches += 1
            count = _digits(line[4:10], "batch entry count")
            addenda = sum(1 for e in batch_entries if e.return_code)
            if count != len(batch_entries) + addenda:
                raise ValueError(f"batch control: {count} entries, the batch holds {len(batch_entries) + addenda}")
            hash_ = sum(int(e.routing_number[:8]) for e in batch_entries) % 10**10
            if _digits(line[10:20], "batch entry hash") != hash_:
                raise ValueError(f"batch control: entry hash {line[10:20]}, the entries give {hash_:010d}")
            debit = sum((e.amount for e in batch_entries if e.transaction_code[1] in "7"), Decimal("0"))
            credit = sum((e.amount for e in batch_entries if e.transaction_code[1] in "2"), Decimal("0"))
            if Decimal(_digits(line[20:32], "batch debits")) / 100 != debit:
                raise ValueError("batch control: total debits disagree with the entries")
            if Decimal(_digits(line[32:44], "batch credits")) / 100 != credit:
                raise ValueError("batch control: total credits disagree with the entries")
        elif kind == "9":
            file_control = line
            padding_started = True
        else:
            raise ValueError(f"record {number}: unknown record type {kind!r}")
    if file_control is None:
        raise ValueError("no file control record (9)")
    parsed.batch_count = _digits(file_control[1:7], "file batch count")
    parsed.block_count = _digits(file_control[7:13], "file block count")
    parsed.record_count = len(lines)
    parsed.entry_hash = _digits(file_control[21:31], "file entry hash")
    parsed.total_debit = Decimal(_digits(file_control[31:43], "file debits")) / 100
    parsed.total_credit = Decimal(_digits(file_control[43:55], "file credits")) / 100
    if parsed.batch_count != batches:
        raise ValueError(f"file control: {parsed.batch_count} batches, the file holds {batches}")
    if parsed.block_count * BLOCKING_FACTOR != len(lines):
        raise ValueError(f"file control: {parsed.block_count} blocks, the file holds {len(lines)} records")
    addenda = sum(1 for e in parsed.entries if e.return_code)
    if _digits(file_control[13:21], "file entry count") != len(parsed.entries) + addenda:
        raise ValueError("file control: the entry and addenda count disagrees with the entries")
    if parsed.entry_hash != sum(int(e.routing_number[:8]) for e in parsed.entries) % 10**10:
        raise ValueError("file control: the entry hash disagrees with the entries")
    credits = sum((e.amount for e in parsed.entries if e.transaction_code[1] == "2"), Decimal("0"))
    if parsed.total_credit != credits:
        raise ValueError("file control: total credits disagree with the entries")
    return parsed


def returns_in(text: str) -> list[tuple[str, str]]:
    """(original trace number, return code) of every returned entry of a bank's return file. A
    return file is read leniently (banks differ in how they pad it): only its entries and their
    return addenda matter."""
    found = []
    last_entry = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith("6"):
            last_entry = True
        elif line.startswith("799") and last_entry and len(line) >= 21:
            found.append((line[6:21], line[3:6]))
            last_entry = False
        else:
            last_entry = False
    return found
