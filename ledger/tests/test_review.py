"""Review findings on ledger/services.py, each proven against the real database."""

import datetime as dt
import threading
import time
from decimal import Decimal as D

import pytest
from django.db import connection, connections, transaction

from batpay.errors import InvalidInput
from ledger import services
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


def test_a_cashier_key_shaped_like_an_earnings_key_cannot_swallow_the_weeks_earnings(fleet):
    """The cashier's Idempotency-Key is the receipt's key as sent, and weekly earnings are keyed
    `earnings:<lease>:<driver>:<period>` with ON CONFLICT DO NOTHING: a payment recorded with such
    a key made the week's card earnings disappear without a trace (no receipt, nothing paid)."""
    lease = fleet.lease()
    driver = lease.primary_driver
    rent = charge(lease, Category.LEASE, "500.00", "LEASE-1")
    key = f"earnings:{lease.pk}:{driver.pk}:{P1.isoformat()}"
    with pytest.raises(InvalidInput) as refused:
        services.apply_interim_payment(
            driver=driver, lease=lease, amount=D("10.00"), method="CASH", idempotency_key=key
        )
    assert "idempotency_key" in refused.value.fields

    receipt = services.apply_earnings(driver=driver, lease=lease, period=P1, amount=D("400.00"))
    assert (receipt.kind, receipt.amount) == (Receipt.Kind.EARNINGS, D("400.00"))
    rent.refresh_from_db()
    assert rent.outstanding == D("100.00")


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


def test_earnings_of_two_weeks_in_one_call_pay_only_what_each_week_owes(fleet):
    """Rule: earnings of period P pay only balances due in P or earlier. The weekly close passes one
    period, but the bulk service accepts several and then lets week 1's receipt pay week 2's rent."""
    lease = fleet.lease()
    driver = lease.primary_driver
    P2 = P1 + dt.timedelta(weeks=1)
    week1 = charge(lease, Category.LEASE, "100.00", "LEASE-W1", period=P1)
    week2 = charge(lease, Category.LEASE, "500.00", "LEASE-W2", period=P2)
    services.apply_earnings_bulk(
        rows=[
            services.EarningsRow(driver.pk, lease.pk, P1, D("600.00")),
            services.EarningsRow(driver.pk, lease.pk, P2, D("50.00")),
        ]
    )
    first = Receipt.objects.get(period=P1, kind="EARNINGS")
    paid_by_first = {p.obligation_id: p.amount for p in first.postings.all()}
    assert paid_by_first == {week1.pk: D("100.00")}
    assert first.unapplied == D("500.00")
    week2.refresh_from_db()
    assert week2.outstanding == D("450.00")
