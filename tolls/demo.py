"""Demo tolls for `manage.py seed_demo`: a week of E-ZPass rows for the first leases of the demo
fleet, imported through the real import (so attribution, CRZ exclusion, refunds and the report are
the real ones): ordinary crossings, a Congestion Relief Zone gantry, a refund and a plate nobody has."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from django.utils import timezone

from batpay.periods import last_closed_period
from leases.models import Lease
from tolls.imports import COLUMNS, import_tolls
from tolls.models import TollImport
from tolls.services import tolls_post_due

# (agency, entry plaza, exit plaza, amount): NYC crossings at their E-ZPass rates.
CROSSINGS = (
    ("MTAB&T", "Verrazzano-Narrows", "", "6.94"),
    ("MTAB&T", "RFK Bronx", "RFK Manhattan", "6.94"),
    ("MTAB&T", "Hugh L. Carey Tunnel", "", "6.94"),
    ("MTAB&T", "Queens Midtown Tunnel", "", "6.94"),
    ("MTAB&T", "Throgs Neck", "", "6.94"),
    ("PANYNJ", "GWB Upper Level", "", "16.06"),
    ("PANYNJ", "Lincoln Tunnel", "", "16.06"),
)
CRZ = ("MTA", "CRZ 60th St", "", "9.00")
TOLLS_PER_LEASE = 3


def seed_demo_tolls(*, as_of: dt.date, seed: int, leases: int = 100, actor=None) -> TollImport | None:
    """Import the demo week (the 7 days before `as_of`) of tolls for the first `leases` ACTIVE leases."""
    rng = random.Random(seed)
    days = [as_of - dt.timedelta(days=n) for n in range(7, 0, -1)]
    now = timezone.localtime().replace(tzinfo=None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    rows = 0
    for lease in Lease.objects.filter(status=Lease.Status.ACTIVE).select_related("vehicle").order_by("pk")[:leases]:
        in_force = [d for d in days if lease.start_date <= d and (lease.end_date is None or d <= lease.end_date)]
        for n in range(TOLLS_PER_LEASE if in_force else 0):
            when = dt.datetime.combine(rng.choice(in_force), dt.time(rng.randint(5, 22), rng.randint(0, 59), 0))
            if when > now:
                continue
            agency, entry, exit_, amount = CRZ if rows % 40 == 7 else rng.choice(CROSSINGS)
            plate = f"NY {lease.vehicle.plate_number}" if rows % 97 != 5 else "NY T000000X"
            lane = f"DEMO-{lease.pk}-{n}"
            row = [lane, plate, f"{when.date() + dt.timedelta(days=1):%m/%d/%Y}", agency, entry, exit_, "1",
                   f"{when:%m/%d/%Y}", f"{when:%H:%M:%S}", f"(${amount})", ""]  # fmt: skip
            writer.writerow(row)
            rows += 1
            if rows % 61 == 3:  # the agency refunds this one
                writer.writerow([f"{lane}-R", *row[1:9], f"${amount}", ""])
                rows += 1
    if not rows:
        return None
    batch = import_tolls(stream=io.BytesIO(out.getvalue().encode()), file_name="demo-ezpass.csv", actor=actor)
    # What the Sunday task would have done for the weeks already closed on `as_of`.
    tolls_post_due(period=last_closed_period(as_of), actor=actor)
    return batch
