"""Eight threads on the same balances at once, each on its own database connection."""

import datetime as dt
import random
import threading
import time
from decimal import Decimal as D

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models import Sum

from batpay.errors import DomainError
from ledger import services
from ledger.invariants import violations
from ledger.models import Category, ObligationBalance, Posting, Receipt

P1 = dt.date(2025, 9, 28)


def charge(lease, category, amount, ref, period=P1):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=lease.primary_driver,
        lease=lease,
        period=period,
    )


PERIODS = [dt.date(2025, 9, 7) + dt.timedelta(weeks=k) for k in range(6)]


@pytest.mark.django_db(transaction=True)
def test_eight_threads_paying_voiding_and_applying_earnings(fleet):
    lease = fleet.lease()
    driver = lease.primary_driver
    for k, period in enumerate(PERIODS):
        for category, amount in [("TAXES", "80.00"), ("LEASE", "500.00"), ("REPAIRS", "150.00"), ("LOANS", "75.25")]:
            services.create_obligation(
                category=category,
                amount=D(amount),
                source_reference=f"{category}-{k}",
                driver=driver,
                lease=lease,
                period=period,
            )
    start = threading.Barrier(8)
    unexpected: list[BaseException] = []
    refused = {"count": 0}
    lock = threading.Lock()

    def worker(seed: int, role: str):
        rng = random.Random(seed)
        try:
            start.wait()
            for step in range(12):
                try:
                    if role == "cashier":
                        balances = list(
                            ObligationBalance.objects.filter(lease=lease, status="OPEN")
                            .exclude(category=Category.TAXES)
                            .values_list("pk", "outstanding")
                        )
                        picks = rng.sample(balances, k=min(2, len(balances)))
                        allocations = [
                            services.Allocation(pk, min(out, D(rng.randint(1, 9000)) / 100)) for pk, out in picks
                        ]
                        total = sum((a.amount for a in allocations), D("0")) + D(rng.randint(0, 5000)) / 100
                        services.apply_interim_payment(
                            driver=driver,
                            lease=lease,
                            amount=max(total, D("0.01")),
                            method="CASH",
                            allocations=allocations,
                            idempotency_key=f"t{seed}-{step}",
                        )
                    elif role == "earnings":
                        period = PERIODS[step % len(PERIODS)]
                        services.apply_earnings(driver=driver, lease=lease, period=period, amount=D("400.00"))
                    elif role == "voider":
                        credits = list(
                            Posting.objects.filter(
                                lease=lease, entry_type="CREDIT", status="POSTED", reverses__isnull=True
                            ).values_list("pk", flat=True)
                        )
                        charges = list(
                            Posting.objects.filter(
                                lease=lease,
                                entry_type="DEBIT",
                                status="POSTED",
                                reverses__isnull=True,
                                receipt__isnull=True,
                            ).values_list("pk", flat=True)
                        )
                        pool = charges if (step % 4 == 3 and charges) else credits
                        if pool:
                            services.void_posting(posting=rng.choice(pool), reason=f"Concurrent void {seed}/{step}")
                    elif role == "charger":
                        services.create_obligation(
                            category="LEASE",
                            amount=D("120.00"),
                            source_reference=f"LEASE-late-{seed}-{step}",
                            driver=driver,
                            lease=lease,
                            period=PERIODS[-1],
                        )
                except DomainError:
                    with lock:
                        refused["count"] += 1
        except OperationalError as exc:  # a deadlock or lock timeout is a failure
            with lock:
                unexpected.append(exc)
        except BaseException as exc:
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    roles = ["cashier", "cashier", "cashier", "earnings", "earnings", "voider", "voider", "charger"]
    threads = [threading.Thread(target=worker, args=(seed, role)) for seed, role in enumerate(roles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert unexpected == []

    assert violations() == []
    earnings = Receipt.objects.filter(kind="EARNINGS")
    assert earnings.count() == len(PERIODS), "two threads applying the same week record it once"
    received = Receipt.objects.aggregate(s=Sum("amount"))["s"]
    unapplied = Receipt.objects.aggregate(s=Sum("unapplied"))["s"]
    net_applied = sum(
        (p.amount if p.entry_type == "CREDIT" else -p.amount for p in Posting.objects.filter(receipt__isnull=False)),
        D("0"),
    )
    assert received == net_applied + unapplied
    assert not ObligationBalance.objects.filter(outstanding__lt=0).exists()
    assert Posting.objects.filter(status="VOIDED").count() > 0


def _wait_until_blocked(count: int, timeout: float = 10.0) -> None:
    """Until `count` sessions wait for a lock (pg_locks is live; pg_stat_activity is a per-transaction snapshot)."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} session(s) never blocked")


@pytest.mark.django_db(transaction=True)
def test_a_retry_racing_the_first_request_gets_the_first_receipt_not_a_409(fleet):
    """Two copies of the same payment (a client retrying after a timeout) both pass the early key
    check, then queue on the balance lock. The second then found the balance the first had just
    paid CLOSED and answered 409 instead of returning the first receipt."""
    lease = fleet.lease()
    driver = lease.primary_driver
    repair = charge(lease, Category.REPAIRS, "120.00", "RPR-1")
    results: list = []
    errors: list = []

    def pay():
        try:
            results.append(
                services.apply_interim_payment(
                    driver=driver,
                    lease=lease,
                    amount=D("120.00"),
                    method="CASH",
                    allocations=[services.Allocation(repair.pk, D("120.00"))],
                    idempotency_key="window-1-0001",
                ).pk
            )
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)
        finally:
            connection.close()

    # Hold the balance so both copies get past the early key check and queue on its lock.
    with transaction.atomic():
        ObligationBalance.objects.select_for_update().get(pk=repair.pk)
        threads = [threading.Thread(target=pay) for _ in range(2)]
        for thread in threads:
            thread.start()
        _wait_until_blocked(2)
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert Receipt.objects.count() == 1
    assert Posting.objects.filter(entry_type="CREDIT").count() == 1
