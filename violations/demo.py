"""Demo parking violations and TLC summonses for `manage.py seed_demo` (operations/demo.py calls it).

About one lease in five gets a parking summons in the week before the demo's as-of date, imported as a
Department of Finance file (so through the real import: attribution, versions, charges); a few plates
are nobody's and wait for review. About one lease in twenty gets a TLC summons, most Pending, some Paid.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

from batpay.periods import period_start
from leases.models import Lease
from violations import services
from violations.imports import COLUMNS, import_violations
from violations.models import Disposition, TlcViolationType

VIOLATIONS = (
    ("NO PARKING-STREET CLEANING", "65.00"),
    ("FIRE HYDRANT", "115.00"),
    ("DOUBLE PARKING", "115.00"),
    ("NO STANDING-BUS STOP", "115.00"),
    ("PHTO SCHOOL ZN SPEED VIOLATION", "50.00"),
    ("FAIL TO DSPLY MUNI METER RECPT", "65.00"),
)


def violations_file(leases: list[Lease], *, as_of: dt.date, rng: random.Random) -> bytes:
    week = period_start(as_of) - dt.timedelta(days=7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for n, lease in enumerate(leases):
        day = max(week + dt.timedelta(days=rng.randrange(7)), lease.start_date)
        if day > as_of:
            continue
        violation, fine = rng.choice(VIOLATIONS)
        plate = lease.vehicle.plate_number if n % 25 else f"ZZ{n:05d}"  # one in 25: a plate nobody has
        hour = rng.randint(1, 12)
        writer.writerow(
            [
                plate,
                "NY",
                "OMT",
                f"{8_600_000_000 + n}",
                day.strftime("%m/%d/%Y"),
                f"{hour:02d}:{rng.randrange(60):02d}{rng.choice('AP')}",
                violation,
                "",
                fine,
                "0",
                "0",
                "0",
                "0",
                fine,
                str(rng.randint(1, 123)),
                "NY",
                "TRAFFIC",
                "HEARING PENDING",
            ]
        )
    return out.getvalue().encode()


def seed_demo_violations(*, as_of: dt.date, seed: int = 1) -> None:
    rng = random.Random(seed)
    leases = list(Lease.objects.select_related("vehicle").order_by("pk"))
    chosen = [lease for lease in leases if rng.random() < 0.2]
    import_violations(stream=io.BytesIO(violations_file(chosen, as_of=as_of, rng=rng)), file_name="demo-dof.csv")
    types = list(TlcViolationType.objects.order_by("pk"))
    for n, lease in enumerate(lease for lease in leases if rng.random() < 0.05):
        day = max(as_of - dt.timedelta(days=rng.randrange(1, 14)), lease.start_date)
        if day > as_of:
            continue
        services.tlc_summons_create(
            summons_number=f"TLC{700000 + n}",
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            violation_type_id=rng.choice(types).pk,
            violation_date=day,
            amount=Decimal(rng.choice(("50.00", "100.00", "250.00", "350.00"))),
            disposition=Disposition.PAID if n % 3 == 0 else Disposition.PENDING,
        )
