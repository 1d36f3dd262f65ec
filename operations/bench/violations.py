"""`manage.py bench violations`: 20,000 parking violations imported with attribution against 10,000 leases
and a million trips, beside a raw COPY of the same rows.

The fleet is `seed_demo`'s (10,000 leases, with its own demo summonses of the week before, which stay:
the file's summonses are other numbers); a million trips of the week are COPYed straight into the trips
table (100 per lease, by the lease's drivers); the violations file names a fleet plate for 98 % of its rows
(the rest are nobody's),
at times spread over the same week. Timed: `import_violations` (parse, check, COPY, attribute through
the trips, write summonses and versions, post the PVB charges), the same file again (every row
unchanged), and a file of the same summonses with a penalty added (20,000 increases).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction

from batpay.periods import local_instant, period_start
from leases.models import Lease
from operations.bench import BARE_FLEET, Report, benchmark
from statements.models import TripImport
from violations.imports import COLUMNS, import_violations

LEASES = 10_000
TRIPS = 1_000_000
VIOLATIONS = 20_000
BUDGET_SECONDS = 30.0


def _trips(fleet: list[tuple], period: dt.date, per_lease: int, rng: random.Random) -> int:
    """A million trips of the week, COPYed into ledger_trip (the bench measures the violations, not trips)."""
    batch = TripImport.objects.create(file_name="bench-trips", sha256="")
    start = local_instant(dt.datetime.combine(period, dt.time()))
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        columns = (
            "trip_id, lease_id, driver_id, medallion_id, period, start_time, end_time, payment_type, fare, "
            "tips, tolls, mta_surcharge, improvement_surcharge, congestion_fee, cbdt_fee, airport_fee, "
            "total_amount, batch_id, created_at"
        )
        with cursor.cursor.copy(f"COPY ledger_trip ({columns}) FROM STDIN") as copy:
            for lease_id, drivers, medallion_id in fleet:
                for n in range(per_lease):
                    begin = start + dt.timedelta(minutes=rng.randrange(7 * 24 * 60 - 60))
                    end = begin + dt.timedelta(minutes=rng.randint(6, 55))
                    copy.write_row(
                        (
                            f"B{lease_id}-{n}",
                            lease_id,
                            rng.choice(drivers),
                            medallion_id,
                            period,
                            begin,
                            end,
                            "CARD",
                            "20.00",
                            "0.00",
                            "0.00",
                            "0.50",
                            "1.00",
                            "2.50",
                            "0.75",
                            "0.00",
                            "24.75",
                            batch.pk,
                            begin,
                        )
                    )
                    written += 1
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_trip")
    return written


def _write_file(path: Path, plates: list[str], period: dt.date, count: int, *, penalty: str = "0") -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for n in range(count):
            day = period + dt.timedelta(days=n % 7)
            plate = plates[n % len(plates)] if n % 50 else f"ZZ{n:06d}"
            hour, minute = (n * 7) % 12 + 1, (n * 13) % 60
            writer.writerow(
                [
                    plate,
                    "NY",
                    "OMT",
                    f"{5_000_000_000 + n}",
                    day.strftime("%m/%d/%Y"),
                    f"{hour:02d}:{minute:02d}{'AP'[n % 2]}",
                    "NO PARKING-STREET CLEANING",
                    "",
                    "65.00",
                    penalty,
                    "0",
                    "0",
                    "0",
                    f"{65 + int(penalty)}.00",
                    "14",
                    "NY",
                    "TRAFFIC",
                    "HEARING PENDING" if penalty == "0" else "JUDGMENT ENTERED",
                ]
            )


def raw_copy(path: Path) -> None:
    """The floor: the same rows COPYed as text into a scratch table with no constraint."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE bench_violations ({', '.join(f'c{i} text' for i in range(len(COLUMNS)))})"
            " ON COMMIT DROP"
        )
        with (
            path.open("rb") as stream,
            cursor.cursor.copy("COPY bench_violations FROM STDIN (FORMAT csv, HEADER)") as copy,
        ):
            while chunk := stream.read(1 << 20):
                copy.write(chunk)


def violations_dataset(report: Report, *, plates: list[str], period: dt.date, count: int) -> None:
    """A DOF file of `count` violations of the week of `period` on `plates` (2 % nobody's), timed beside a
    raw COPY of it; then the same file again and every summons back with a penalty."""
    with tempfile.TemporaryDirectory() as folder:
        path, later = Path(folder) / "dof.csv", Path(folder) / "dof-penalty.csv"
        _write_file(path, plates, period, count)
        _write_file(later, plates, period, count, penalty="10")
        with report.timed("raw COPY") as floor:
            raw_copy(path)
        report.rate("raw COPY of the violations file (the floor)", count, floor["seconds"])
        with report.timed("import") as imported, path.open("rb") as stream:
            batch = import_violations(stream=stream, file_name=path.name)
        report.rate("import_violations (check, COPY, attribute, write, charge)", batch.rows, imported["seconds"])
        report.line(
            "  new summonses / waiting for review / bad rows",
            f"{batch.new_summonses:,} / {batch.needs_review:,} / {batch.invalid:,}",
        )
        report.line("  charged", f"{batch.charged:,}")
        report.line("  ratio to the raw COPY (time)", f"{imported['seconds'] / floor['seconds']:.1f}×")
        with connection.cursor() as cursor:
            cursor.execute("SELECT attributed_by, count(*) FROM violations_violation GROUP BY 1 ORDER BY 1")
            report.line("  attributed by", ", ".join(f"{k or 'none'}: {n:,}" for k, n in cursor.fetchall()))
        with report.timed("again") as again, path.open("rb") as stream:
            repeat = import_violations(stream=stream, file_name=path.name)
        report.rate("the same file again (every row unchanged)", repeat.unchanged, again["seconds"])
        with report.timed("penalty") as raised, later.open("rb") as stream:
            penalties = import_violations(stream=stream, file_name=later.name)
        report.rate("every summons back with a penalty (an increase each)", penalties.new_versions, raised["seconds"])
        report.budget(
            f"budget: {count:,} violations imported < {BUDGET_SECONDS:.0f} s",
            imported["seconds"] < BUDGET_SECONDS,
            f"{imported['seconds']:.2f} s",
        )


@benchmark("violations")
def violations(report: Report) -> None:
    rng = random.Random(13)
    leases, trips, count = report.n(LEASES), report.n(TRIPS), report.n(VIOLATIONS)
    period = period_start(dt.date(2025, 10, 1))
    with report.timed("seed_demo") as t:
        call_command("seed_demo", leases=leases, as_of=period, **BARE_FLEET, stdout=io.StringIO(), stderr=io.StringIO())
    report.rate("fleet: seed_demo leases", leases, t["seconds"])
    fleet, plates = [], []
    for lease in Lease.objects.select_related("vehicle").prefetch_related("additional_drivers"):
        fleet.append(
            (lease.pk, [lease.primary_driver_id, *(d.pk for d in lease.additional_drivers.all())], lease.medallion_id)
        )
        plates.append(lease.vehicle.plate_number)
    with report.timed("trips") as t:
        written = _trips(fleet, period, max(1, trips // len(fleet)), rng)
    report.rate("trips COPYed into ledger_trip (setup, not timed below)", written, t["seconds"])
    violations_dataset(report, plates=plates, period=period, count=count)
