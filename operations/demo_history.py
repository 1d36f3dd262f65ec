"""Eight weeks of the demo fleet's life (`manage.py seed_demo`, what `make run` loads), so that every
screen has something true to show on a fresh machine.

The history is first drawn as plain data (`plan_history`: which repairs and loans are entered, each
week's trips, which drivers pay at the cashier's window, which payment a Controller voids), all from
one `random.Random(seed)` in a fixed order — the same seed and fleet give the same history. It is
then lived through the real services, in the order it happens (`live_history`):

1. repairs and loans are entered and confirmed in the first week;
2. then week by week: the week's trips are imported (the card-payment system's CSV), some drivers
   pay at the window mid-week, and the Sunday run closes the week (the posting jobs, taxes and
   card earnings, the DTRs) — `operations.jobs.weekly_close`, as the schedule runs it (its PDFs
   queued for the worker rather than drawn in the close);
3. last, a Controller voids a payment that was entered twice.

Other sources add their own step to `live_history`'s sequence (one call each).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from batpay.periods import WEEK, last_closed_period, period_end
from leases.models import Lease
from ledger.selectors import postings
from ledger.services import apply_interim_payment, void_posting
from loans.services import loan_create
from operations.jobs import triggered_by, weekly_close
from repairs.models import RepairInvoice
from repairs.services import repair_create
from statements.trips import COLUMNS, import_trips

DEFAULT_WEEKS = 8
MAX_WEEKS = 52
REPAIR_SHARE = 0.25  # leases with a repair invoice
LOAN_SHARE = 0.15  # leases with a driver loan
PAYER_SHARE = 0.12  # leases whose driver pays at the window in a given week
REPAIRS = (
    ("Rear bumper and tail light", 450, 1800),
    ("Brake pads and rotors", 300, 900),
    ("Transmission service", 900, 3200),
    ("Windshield replacement", 350, 700),
    ("Partition and meter wiring", 150, 480),
)
LOAN_PURPOSES = ("TLC license renewal", "Medical bills", "Family emergency", "Vehicle insurance deductible")
# MTA, improvement, congestion and CBDT on every trip (the Manhattan trip's surcharges and fees).
FEES = {"mta_surcharge": "0.50", "improvement_surcharge": "1.00", "congestion_fee": "2.50", "cbdt_fee": "0.75"}


@dataclass(frozen=True)
class RepairEntry:
    lease: int  # index into the fleet's leases
    invoice_number: str
    description: str
    amount: Decimal
    workshop: str


@dataclass(frozen=True)
class LoanEntry:
    lease: int
    amount: Decimal
    rate: Decimal
    purpose: str


@dataclass(frozen=True)
class Payment:
    lease: int
    amount: Decimal
    method: str
    day: int  # days after the period's Sunday


@dataclass
class HistoryPlan:
    periods: list[dt.date]
    repairs: list[RepairEntry] = field(default_factory=list)
    loans: list[LoanEntry] = field(default_factory=list)
    trips: dict[dt.date, list[str]] = field(default_factory=dict)  # CSV lines per period
    payments: dict[dt.date, list[Payment]] = field(default_factory=dict)


@dataclass
class HistorySummary:
    weeks: int = 0
    repairs: int = 0
    loans: int = 0
    trips: int = 0
    payments: int = 0
    dtrs: int = 0
    voided: str = ""


def history_periods(*, as_of: dt.date, weeks: int) -> list[dt.date]:
    """The `weeks` periods that ended by `as_of`, oldest first."""
    last = last_closed_period(as_of)
    return [last - WEEK * (weeks - 1 - n) for n in range(weeks)]


def plan_history(*, leases: list[Lease], seed: int, as_of: dt.date, weeks: int) -> HistoryPlan:
    """What happens to the fleet in the `weeks` before `as_of`, as data (no database access)."""
    rng = random.Random(f"history-{seed}")
    plan = HistoryPlan(periods=history_periods(as_of=as_of, weeks=weeks))
    first = plan.periods[0]
    running = [n for n, lease in enumerate(leases) if lease.start_date <= first]
    for n in running:
        if rng.random() < REPAIR_SHARE:
            description, low, high = rng.choice(REPAIRS)
            workshop = rng.choice(RepairInvoice.WorkshopType.values)
            amount = Decimal(rng.randrange(low * 100, high * 100)) / 100
            plan.repairs.append(RepairEntry(n, f"W{seed}-{first:%y%m}-{n:05d}", description, amount, workshop))
        if rng.random() < LOAN_SHARE:
            amount = Decimal(rng.randrange(200, 3000, 50))
            plan.loans.append(LoanEntry(n, amount, Decimal(rng.choice((0, 5, 10, 12))), rng.choice(LOAN_PURPOSES)))
    for period in plan.periods:
        plan.trips[period] = [
            line
            for n, lease in enumerate(leases)
            if lease.start_date <= period
            for line in _week_of_trips(rng, lease, period, prefix=f"D{seed}-{period:%y%m%d}-{n:05d}")
        ]
        plan.payments[period] = [
            Payment(
                lease=n,
                amount=Decimal(rng.randrange(50, 400, 10)),
                method=rng.choice(("CASH", "CASH", "CHECK")),
                day=rng.randint(1, 5),
            )
            for n, lease in enumerate(leases)
            if lease.start_date <= period and rng.random() < PAYER_SHARE
        ]
    return plan


def _week_of_trips(rng: random.Random, lease: Lease, period: dt.date, *, prefix: str) -> list[str]:
    """A driver's week as the demo shows it: 10 to 20 trips (fewer and longer than a real week's,
    so that seeding stays quick while card earnings still pay most of the lease), about 70 % paid
    by card, one day off."""
    lines = []
    day_off = rng.randint(0, 6)
    for n in range(rng.randint(10, 20)):
        day = rng.choice([d for d in range(7) if d != day_off])
        start = dt.datetime.combine(period + dt.timedelta(days=day), dt.time(rng.randint(5, 21), rng.randint(0, 59)))
        minutes = rng.randint(10, 55)
        fare = Decimal(rng.randrange(2000, 9000)) / 100
        card = rng.random() < 0.7
        tips = (fare * Decimal(rng.choice((0, 10, 15, 20))) / 100).quantize(Decimal("0.01")) if card else Decimal(0)
        airport = Decimal("1.75") if rng.random() < 0.08 else Decimal(0)
        amounts = {"fare": fare, "tips": tips, "tolls": Decimal(0), **FEES, "airport_fee": airport}
        parts = [str(amounts[name]) for name in COLUMNS[6:-1]]
        total = sum((Decimal(part) for part in parts), Decimal(0))
        begin, end = start, start + dt.timedelta(minutes=minutes)  # New York wall time, as the system writes it
        lines.append(
            ",".join(
                [
                    f"{prefix}-{n:03d}",
                    lease.primary_driver.tlc_license_number,
                    lease.medallion.number,
                    begin.isoformat(),
                    end.isoformat(),
                    "CARD" if card else "CASH",
                    *parts,
                    f"{total:.2f}",
                ]
            )
        )
    return lines


def live_history(
    plan: HistoryPlan, *, leases: list[Lease], actor=None, progress: Callable[[str], object] = lambda step: None
) -> HistorySummary:
    """Live the plan through the services, in the order it happens (see the module's docstring)."""
    summary = HistorySummary()
    first = plan.periods[0]
    entry_day = first + dt.timedelta(days=1)
    for entry in plan.repairs:
        lease = leases[entry.lease]
        repair_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            invoice_number=entry.invoice_number,
            invoice_date=entry_day,
            workshop_type=entry.workshop,
            repair_description=entry.description,
            repair_amount=entry.amount,
            start_week=first,
            actor=actor,
            confirm=True,
        )
        summary.repairs += 1
    for entry in plan.loans:
        lease = leases[entry.lease]
        loan_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            loan_amount=entry.amount,
            interest_rate=entry.rate,
            loan_date=entry_day,
            start_week=first,
            purpose=entry.purpose,
            actor=actor,
            confirm=True,
        )
        summary.loans += 1
    progress("plans")
    payments: list[int] = []  # receipt ids
    for period in plan.periods:
        lines = plan.trips[period]
        if lines:
            batch = import_trips(
                stream=io.BytesIO(("\n".join([",".join(COLUMNS), *lines]) + "\n").encode()),
                file_name=f"trips-{period:%Y-%m-%d}.csv",
                actor=actor,
            )
            summary.trips += batch.imported
        for payment in plan.payments[period]:
            lease = leases[payment.lease]
            receipt = apply_interim_payment(
                driver=lease.primary_driver,
                lease=lease,
                amount=payment.amount,
                method=payment.method,
                received_on=min(period + dt.timedelta(days=payment.day), period_end(period)),
                note="At the window",
                actor=actor,
                idempotency_key=f"demo-{period:%Y%m%d}-{lease.lease_number}",
            )
            payments.append(receipt.pk)
            summary.payments += 1
        with triggered_by("COMMAND"):
            runs = weekly_close(period=period, actor=actor, pdfs=False)
        summary.dtrs += runs[-1].count if runs else 0
        summary.weeks += 1
        progress(period.isoformat())
    # The last payment that paid a balance (one that only left credit has no posting to void).
    payment = postings().filter(receipt_id__in=payments).order_by("-receipt_id", "pk").first()
    if payment is not None:
        void_posting(posting=payment, reason="Entered twice at the window: the driver paid once.", actor=actor)
        summary.voided = f"posting #{payment.pk} of receipt #{payment.receipt_id}"
    return summary
