"""`manage.py bench tolls`: charges from outside imported with attribution against a busy fleet.

The fleet is seed_demo's 10,000 leases (in force on the last closed week's Saturday) with a million
trips in that week COPYed straight into the trips table (about 100 a lease, some by additional
drivers), so attribution searches a realistic trips table. Each dataset is a function taking the
report and the fleet (`DATASETS`): the E-ZPass one writes 100,000 toll rows as the account exports
them — most during a trip of their lease, some with no trip near, E-ZPass tags on a tenth of the
cars, Congestion Relief Zone gantries, refunds, unknown plates — and times `import_tolls` (parse,
COPY, attribution, insert) beside a raw COPY of the same file into a table without constraints
(budget: under 30 s), then the Sunday task that charges them (`tolls.post_due`). The parking one imports
20,000 DOF violations of the same week against the same fleet and trips (`operations.bench.violations`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from batpay.periods import last_closed_period, local_instant, local_zone, period_end
from leases.models import Lease
from operations.bench import BARE_FLEET, Report, benchmark
from operations.bench.violations import VIOLATIONS, violations_dataset
from statements.models import TripImport
from tolls.imports import COLUMNS, import_tolls
from tolls.models import Toll, TollTag
from tolls.services import tolls_post_due

TRIPS_PER_LEASE = 100
TOLL_ROWS = 100_000
BUDGET_SECONDS = 30
CROSSINGS = (
    ("MTAB&T", "Verrazzano-Narrows", "", Decimal("6.94")),
    ("MTAB&T", "RFK Bronx", "RFK Manhattan", Decimal("6.94")),
    ("MTAB&T", "Queens Midtown Tunnel", "", Decimal("6.94")),
    ("PANYNJ", "GWB Upper Level", "", Decimal("16.06")),
    ("PANYNJ", "Lincoln Tunnel", "", Decimal("16.06")),
    ("NYSTA", "Harriman", "Woodbury", Decimal("1.87")),
)


@dataclass
class BenchLease:
    lease_id: int
    medallion_id: int
    plate: str
    vehicle_id: int
    drivers: list[int]
    days: list[dt.date]
    trips: list[tuple[dt.datetime, dt.datetime]]  # instants (UTC)


@dataclass
class BenchFleet:
    period: dt.date
    leases: list[BenchLease]
    trips: int


def fleet_with_trips(report: Report, rng: random.Random) -> BenchFleet:
    """seed_demo's fleet and a week of trips for every lease, COPYed (the trips import has its own bench)."""
    period = last_closed_period()
    leases = report.n(10_000)
    with report.timed("seed_demo") as seeded:
        call_command(
            "seed_demo",
            leases=leases,
            as_of=period_end(period),
            **BARE_FLEET,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    report.rate("fleet: seed_demo leases (in force on the week's Saturday)", leases, seeded["seconds"])
    fleet = []
    for lease in Lease.objects.select_related("vehicle").prefetch_related("additional_drivers").order_by("pk"):
        days = [
            period + dt.timedelta(days=n)
            for n in range(7)
            if lease.start_date <= period + dt.timedelta(days=n)
            and (lease.end_date is None or period + dt.timedelta(days=n) <= lease.end_date)
        ]
        drivers = [lease.primary_driver_id, *(d.pk for d in lease.additional_drivers.all())]
        fleet.append(BenchLease(lease.pk, lease.medallion_id, lease.vehicle.plate_number, lease.vehicle_id,
                                drivers, days, []))  # fmt: skip
    per_lease = max(1, report.n(TRIPS_PER_LEASE * 10_000) // len(fleet))
    with report.timed("trips") as copied, transaction.atomic(), connection.cursor() as cursor:
        batch = TripImport.objects.create(file_name="bench-trips.csv", sha256="bench")
        # Setting the scene, not measured: the generated rows are consistent by construction, so their
        # four foreign-key triggers per row are skipped (CHECKs and the unique trip id still hold).
        cursor.execute("SET LOCAL session_replication_role = replica")
        now = timezone.now()
        columns = ("trip_id, lease_id, driver_id, medallion_id, period, start_time, end_time, payment_type, fare, "
                   "tips, tolls, mta_surcharge, improvement_surcharge, congestion_fee, cbdt_fee, airport_fee, "
                   "total_amount, batch_id, created_at")  # fmt: skip
        count = 0
        # Trips are instants (UTC): minutes after the day's New York midnight.
        midnight = {period + dt.timedelta(days=n): local_instant(dt.datetime.combine(period + dt.timedelta(days=n),
                    dt.time())) for n in range(7)}  # fmt: skip
        with cursor.cursor.copy(f"COPY ledger_trip ({columns}) FROM STDIN") as copy:
            for lease in fleet:
                for n in range(per_lease):
                    day = rng.choice(lease.days)
                    start = midnight[day] + dt.timedelta(minutes=rng.randint(0, 23 * 60))
                    end = start + dt.timedelta(minutes=rng.randint(6, 45))
                    lease.trips.append((start, end))
                    driver = lease.drivers[0] if rng.random() < 0.75 else rng.choice(lease.drivers)
                    fare = Decimal(rng.randint(800, 6500)) / 100
                    copy.write_row((f"B-{lease.lease_id}-{n}", lease.lease_id, driver, lease.medallion_id, period,
                                    start, end, "CARD", fare, 0, 0, 0, 0, 0, 0, 0, fare, batch.pk, now))  # fmt: skip
                    count += 1
        cursor.execute("ANALYZE ledger_trip")
    report.rate("trips COPYed into the trips table (the week's, every lease)", count, copied["seconds"])
    return BenchFleet(period=period, leases=fleet, trips=count)


def write_tolls(path: Path, fleet: BenchFleet, rows: int, rng: random.Random) -> dict[str, int]:
    """The E-ZPass export of the fleet's week: `rows` rows, the mix of a real account."""
    tagged = {lease.vehicle_id: f"0061{lease.vehicle_id:07d}" for lease in fleet.leases[::10]}
    TollTag.objects.bulk_create(TollTag(tag_number=tag, vehicle_id=vehicle) for vehicle, tag in tagged.items())
    mix = dict.fromkeys(("during a trip", "no trip near", "CRZ", "refund", "unknown plate"), 0)
    now, zone = timezone.now(), local_zone()
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        previous = None
        for n in range(rows):
            lease = rng.choice(fleet.leases)
            if previous and rng.random() < 0.001:
                writer.writerow([f"R{n:09d}", *previous[1:9], previous[9].strip("()"), ""])
                mix["refund"] += 1
                continue
            if rng.random() < 0.7 and lease.trips:
                start, end = rng.choice(lease.trips)
                instant = start + (end - start) * rng.random()
                mix["during a trip"] += 1
            else:
                day = rng.choice(lease.days)
                instant = local_instant(dt.datetime.combine(day, dt.time())) + dt.timedelta(
                    seconds=rng.randint(0, 86399)
                )
                mix["no trip near"] += 1
            when = min(instant, now).astimezone(zone).replace(microsecond=0, tzinfo=None)
            agency, entry, exit_, amount = rng.choice(CROSSINGS)
            if rng.random() < 0.02:
                agency, entry, exit_, amount = "MTA", "CRZ 60th St", "", Decimal("9.00")
                mix["CRZ"] += 1
            plate = tagged.get(lease.vehicle_id) or f"NY {lease.plate}"
            if rng.random() < 0.005:
                plate = f"NJ Z{n:06d}"
                mix["unknown plate"] += 1
            posted = when.date() + dt.timedelta(days=1)
            balance = f"${rng.randint(0, 90000) / 100:.2f}"
            row = [f"{n:010d}", plate, f"{posted:%m/%d/%Y}", agency, entry, exit_, "1", f"{when:%m/%d/%Y}",
                   f"{when:%H:%M:%S}", f"(${amount})", balance]  # fmt: skip
            writer.writerow(row)
            previous = row
    return mix


def raw_copy_file(path: Path) -> None:
    """The floor: the same file COPYed as CSV into a table of eleven text columns, no constraint."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_toll_copy (" + ", ".join(f"c{n} text" for n in range(len(COLUMNS))) + ") "
            "ON COMMIT DROP"
        )
        with (
            path.open("rb") as stream,
            cursor.cursor.copy("COPY bench_toll_copy FROM STDIN WITH (FORMAT csv, HEADER)") as copy,
        ):
            while chunk := stream.read(1 << 20):
                copy.write(chunk)


def tolls_dataset(report: Report, fleet: BenchFleet, rng: random.Random) -> None:
    rows = report.n(TOLL_ROWS)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ezpass.csv"
        with report.timed("write tolls") as written:
            mix = write_tolls(path, fleet, rows, rng)
        report.rate(f"E-ZPass CSV written ({path.stat().st_size / 1e6:.1f} MB)", rows, written["seconds"])
        report.line("  mix", ", ".join(f"{name} {count:,}" for name, count in mix.items()))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        with report.timed("import tolls") as imported, path.open("rb") as stream:
            batch = import_tolls(stream=stream, file_name=path.name)
        seconds = imported["seconds"]
        rate = report.rate("import_tolls (parse, COPY, attribute, insert)", rows, seconds)
        report.line(
            "  charges / refunds / CRZ / no lease / bad",
            f"{batch.charges:,} ({batch.charged_amount:,}) / {batch.refunds:,} / {batch.excluded:,} / "
            f"{batch.unmatched:,} / {batch.invalid:,}",
        )
        by = dict(Toll.objects.filter(batch=batch).order_by().values_list("attribution").annotate(n=Count("pk")))
        report.line("  attributed by trip / to the primary driver", f"{by.get('TRIP', 0):,} / {by.get('PRIMARY', 0):,}")
        with report.timed("copy tolls") as copied:
            raw_copy_file(path)
        copy_rate = report.rate("raw COPY of the same file (11 text columns, no constraint)", rows, copied["seconds"])
        report.line("ratio import_tolls / raw COPY (time)", f"{seconds / copied['seconds']:.1f}")
        report.line("ratio import_tolls / raw COPY (rows per second)", f"{rate / copy_rate:.3f}")
        scaled = seconds * TOLL_ROWS / rows
        report.budget(f"budget: {TOLL_ROWS:,} toll rows < {BUDGET_SECONDS} s", scaled < BUDGET_SECONDS,
                      f"{scaled:.1f} s per {TOLL_ROWS:,} rows")  # fmt: skip
        with report.timed("post due") as posting:
            charged = tolls_post_due(period=fleet.period)
        report.rate(
            f"tolls.post_due: EZPASS charges (and {charged.details['refunds_applied']} refunds applied)",
            charged.count,
            posting["seconds"],
        )
        with report.timed("reimport") as again, path.open("rb") as stream:
            repeat = import_tolls(stream=stream, file_name=path.name)
        report.line(
            "re-importing the same file (no-op)",
            f"{repeat.imported} new, {repeat.already_imported:,} already imported in {again['seconds']:.2f} s",
        )


def parking_dataset(report: Report, fleet: BenchFleet, rng: random.Random) -> None:
    """20,000 parking violations of the same week against the same fleet and trips (`bench violations`)."""
    plates = list(Lease.objects.filter(pk__in=[lease.lease_id for lease in fleet.leases]).values_list(
        "vehicle__plate_number", flat=True))  # fmt: skip
    violations_dataset(report, plates=plates, period=fleet.period, count=report.n(VIOLATIONS))


# Each takes (report, fleet, rng) and prints its own figures.
DATASETS: list[Callable[[Report, BenchFleet, random.Random], None]] = [tolls_dataset, parking_dataset]


@benchmark("tolls")
def tolls_benchmark(report: Report) -> None:
    rng = random.Random(20251005)
    fleet = fleet_with_trips(report, rng)
    for dataset in DATASETS:
        dataset(report, fleet, rng)
    with report.timed("check") as checked:
        call_command("check_ledger", stdout=io.StringIO())
    report.line("check_ledger", f"sound, {checked['seconds']:.2f} s")
