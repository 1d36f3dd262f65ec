"""A realistic, deterministic demo fleet for `manage.py seed_demo`.

Everything is drawn from one `random.Random(seed)` in a fixed order, with dates counted back
from `as_of`, so the same seed and date give the same fleet: names from fixed lists, unique
7-digit TLC licenses, unique VINs with a correct check digit, NYC taxi plates (T123456C),
medallion numbers like 2Y47, and one ACTIVE lease per medallion with type-dependent terms and
weekly rates. Rows go in with `bulk_create` in batches inside one transaction.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import islice

from django.db import connection, transaction
from django.db.models import Model

from leases.models import Driver, Lease, Medallion, Vehicle
from leases.services import LEASE_NUMBER_SEQUENCE, lease_number_for

BATCH_SIZE = 2000

FIRST_NAMES = (
    "Mohammed", "Jose", "Carlos", "Amadou", "Rajesh", "Wei", "Ivan", "Kwame", "Luis", "Abdul",
    "Miguel", "Sandeep", "Hassan", "Giorgi", "Juan", "Mamadou", "Ahmed", "Victor", "Samuel", "Tenzin",
    "Ali", "Dmitri", "Jean", "Oscar", "Rafael", "Sunil", "Yusuf", "Kofi", "Pedro", "Anthony",
    "Maria", "Fatima", "Ana", "Grace", "Sofia", "Mei", "Aisha", "Nadia", "Rosa", "Olga",
    "Daniel", "Michael", "David", "James", "Robert", "Emmanuel", "Ibrahim", "Arjun", "Chen", "Vladimir",
)  # fmt: skip
LAST_NAMES = (
    "Rahman", "Singh", "Hossain", "Rodriguez", "Diallo", "Chen", "Khan", "Islam", "Ahmed", "Garcia",
    "Perez", "Kumar", "Traore", "Mensah", "Ivanov", "Beridze", "Jean-Baptiste", "Martinez", "Lopez", "Sow",
    "Ali", "Uddin", "Patel", "Gonzalez", "Hernandez", "Asante", "Baptiste", "Cohen", "Dorje", "Santos",
    "Wang", "Liu", "Zhang", "Petrov", "Kaur", "Mahmud", "Chowdhury", "Gill", "Sanchez", "Rivera",
    "Ramirez", "Torres", "Owusu", "Bah", "Barry", "Kim", "Park", "Nguyen", "Smith", "Johnson",
)  # fmt: skip
AREA_CODES = ("212", "347", "646", "718", "917", "929")

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True))}
VIN_VALUES |= dict(zip("JKLMN", range(1, 6), strict=True)) | {"P": 7, "R": 9}
VIN_VALUES |= dict(zip("STUVWXYZ", range(2, 10), strict=True))
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 1980, 1981, … repeating every 30 years


@dataclass(frozen=True)
class CarModel:
    make: str
    model: str
    wmi: str  # world manufacturer identifier: the VIN's first three characters


REGULAR_MODELS = (
    CarModel("Toyota", "Camry Hybrid", "4T1"),
    CarModel("Toyota", "RAV4 Hybrid", "2T3"),
    CarModel("Toyota", "Prius", "JTD"),
    CarModel("Ford", "Explorer Hybrid", "1FM"),
    CarModel("Hyundai", "Sonata Hybrid", "5NP"),
    CarModel("Kia", "Niro", "KND"),
    CarModel("Honda", "Accord Hybrid", "1HG"),
)
WAV_MODELS = (
    CarModel("Toyota", "Sienna", "5TD"),
    CarModel("Ford", "Transit Connect", "NM0"),
    CarModel("Nissan", "NV200", "JN8"),
    CarModel("Chrysler", "Pacifica", "2C4"),
)
WAV_SHARE = 0.2
# NYC medallions read digit, letter, two digits (2Y47); the letters I and O are left out.
MEDALLION_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
MEDALLION_CAPACITY = 9 * len(MEDALLION_LETTERS) * 100


@dataclass(frozen=True)
class Terms:
    weight: int
    weekly_rate: tuple[int, int]  # dollars, drawn in steps of $5
    started_weeks_ago: int  # at most; a fixed-term lease also started within its term, so it still runs
    term_weeks: tuple[int, ...]  # fixed-term lengths to pick from; () for open-ended
    additional_drivers: tuple[float, int]  # (chance, how many at most)


LEASE_TERMS: dict[str, Terms] = {
    Lease.Type.DOV: Terms(35, (450, 600), 156, (), (0.15, 1)),
    Lease.Type.LONG_TERM: Terms(25, (700, 900), 100, (104, 156), (0.15, 1)),
    Lease.Type.SHIFT: Terms(15, (450, 650), 52, (), (1.0, 2)),
    Lease.Type.SHORT_TERM: Terms(10, (800, 1000), 13, (4, 8, 13), (0.0, 0)),
    Lease.Type.MEDALLION_ONLY: Terms(15, (300, 450), 156, (), (0.0, 0)),
}


@dataclass
class Fleet:
    drivers: list[Driver]
    vehicles: list[Vehicle]
    medallions: list[Medallion]
    leases: list[Lease]
    additional: list[list[int]]  # per lease, indexes into `drivers`

    @property
    def rows(self) -> int:
        joins = sum(len(extra) for extra in self.additional)
        return len(self.drivers) + len(self.vehicles) + len(self.medallions) + len(self.leases) + joins


def vin_check_digit(vin: str) -> str:
    total = sum(VIN_VALUES[char] * weight for char, weight in zip(vin, VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def build_fleet(*, leases: int, seed: int, as_of: dt.date) -> Fleet:
    """The demo fleet as unsaved rows: `leases` ACTIVE leases, each on its own medallion."""
    if leases > MEDALLION_CAPACITY:
        raise ValueError(f"medallion numbers like 2Y47 allow at most {MEDALLION_CAPACITY} medallions")
    rng = random.Random(seed)
    medallion_numbers = [_medallion_number(n) for n in rng.sample(range(MEDALLION_CAPACITY), leases)]
    plates = [f"T{n:06d}C" for n in rng.sample(range(1_000_000), leases)]
    types = list(LEASE_TERMS)
    weights = [LEASE_TERMS[t].weight for t in types]

    drivers: list[Driver] = []
    vehicles: list[Vehicle] = []
    medallions: list[Medallion] = []
    fleet_leases: list[Lease] = []
    additional: list[list[int]] = []
    vins: set[str] = set()
    licenses: set[str] = set()
    for index in range(leases):
        wav = rng.random() < WAV_SHARE
        medallions.append(
            Medallion(
                number=medallion_numbers[index], medallion_type=Medallion.Type.WAV if wav else Medallion.Type.REGULAR
            )
        )
        model = rng.choice(WAV_MODELS if wav else REGULAR_MODELS)
        year = as_of.year - rng.randint(0, 6)
        vehicles.append(
            Vehicle(
                vin=_unique(vins, partial(_vin, rng, model.wmi, year)),
                plate_number=plates[index],
                make=model.make,
                model=model.model,
                year=year,
            )
        )
        lease_type = rng.choices(types, weights)[0]
        terms = LEASE_TERMS[lease_type]
        start, end = _dates(rng, terms, as_of)
        drivers.append(_driver(rng, licenses))
        primary = len(drivers) - 1
        extra: list[int] = []
        chance, most = terms.additional_drivers
        if rng.random() < chance:
            for _ in range(rng.randint(1, most)):
                drivers.append(_driver(rng, licenses))
                extra.append(len(drivers) - 1)
        low, high = terms.weekly_rate
        fleet_leases.append(
            Lease(
                lease_type=lease_type,
                primary_driver=drivers[primary],
                vehicle=vehicles[-1],
                medallion=medallions[-1],
                start_date=start,
                end_date=end,
                weekly_rate=Decimal(rng.randrange(low, high + 1, 5)).quantize(Decimal("0.01")),
                status=Lease.Status.ACTIVE,
            )
        )
        additional.append(extra)
    return Fleet(drivers, vehicles, medallions, fleet_leases, additional)


def insert_fleet(fleet: Fleet, *, progress: Callable[[int], object] = lambda rows: None) -> None:
    """Write the fleet in batches, in one transaction; `progress` hears how many rows each batch added."""
    with transaction.atomic():
        for rows in (fleet.drivers, fleet.vehicles, fleet.medallions):
            _bulk_create(rows, progress)
        numbers = _lease_numbers(len(fleet.leases))
        for lease, number in zip(fleet.leases, numbers, strict=True):
            lease.lease_number = number
            # The related rows got their ids on insert; the leases need them as column values.
            lease.primary_driver_id = lease.primary_driver.pk
            lease.vehicle_id = lease.vehicle.pk
            lease.medallion_id = lease.medallion.pk
        _bulk_create(fleet.leases, progress)
        through = Lease.additional_drivers.through
        joins = [
            through(lease_id=lease.pk, driver_id=fleet.drivers[index].pk)
            for lease, extra in zip(fleet.leases, fleet.additional, strict=True)
            for index in extra
        ]
        _bulk_create(joins, progress)


def _bulk_create(rows: Sequence[Model], progress: Callable[[int], object]) -> None:
    if not rows:
        return
    manager = type(rows[0])._default_manager
    for batch in _batches(rows):
        manager.bulk_create(batch)
        progress(len(batch))


def _batches(rows: Sequence[Model]) -> Iterator[list[Model]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield batch


def _lease_numbers(count: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [LEASE_NUMBER_SEQUENCE, count])
        values = sorted(value for (value,) in cursor.fetchall())
    return [lease_number_for(value) for value in values]


def _driver(rng: random.Random, taken: set[str]) -> Driver:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    license_number = _unique(taken, lambda: str(rng.randrange(5_000_000, 7_000_000)))
    has_email = rng.random() < 0.6
    email = f"{first}.{last}.{license_number[-3:]}@example.com".lower().replace("-", "") if has_email else ""
    return Driver(
        first_name=first,
        last_name=last,
        tlc_license_number=license_number,
        phone=f"({rng.choice(AREA_CODES)}) 555-01{rng.randint(0, 99):02d}",
        email=email,
        status=Driver.Status.ACTIVE,
        pay_to_mode=Driver.PayTo.ACH if rng.random() < 0.75 else Driver.PayTo.CHECK,
    )


def _medallion_number(n: int) -> str:
    first, rest = divmod(n, len(MEDALLION_LETTERS) * 100)
    letter, digits = divmod(rest, 100)
    return f"{first + 1}{MEDALLION_LETTERS[letter]}{digits:02d}"


def _unique(taken: set[str], draw: Callable[[], str]) -> str:
    """Draw until the value is new; the spaces drawn from are far larger than any fleet."""
    value = draw()
    while value in taken:
        value = draw()
    taken.add(value)
    return value


def _vin(rng: random.Random, wmi: str, year: int) -> str:
    descriptor = "".join(rng.choice(VIN_CHARS) for _ in range(5))
    plant = rng.choice(VIN_CHARS)
    serial = f"{rng.randrange(1_000_000):06d}"
    draft = f"{wmi}{descriptor}0{VIN_YEAR_CODES[(year - 1980) % 30]}{plant}{serial}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def _dates(rng: random.Random, terms: Terms, as_of: dt.date) -> tuple[dt.date, dt.date | None]:
    if not terms.term_weeks:
        return as_of - dt.timedelta(days=rng.randint(0, terms.started_weeks_ago * 7)), None
    length = dt.timedelta(weeks=rng.choice(terms.term_weeks))
    start = as_of - dt.timedelta(days=rng.randint(0, min(length.days - 1, terms.started_weeks_ago * 7)))
    return start, start + length - dt.timedelta(days=1)
