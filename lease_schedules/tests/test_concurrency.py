"""Lease schedules posting into the ledger while other writers work: no deadlock, against the real database."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from batpay.periods import WEEK
from lease_schedules.models import LeaseInstallment, LeaseSchedule
from lease_schedules.services import LEASES
from ledger import services as ledger
from plans.services import _installment_rows, _lock_plans_for_posting, _post, post_installments

P0 = dt.date(2025, 9, 28)


@pytest.fixture
def today(monkeypatch):
    real = timezone.localdate
    monkeypatch.setattr(
        "django.utils.timezone.localdate",
        lambda value=None, timezone=None: dt.date(2025, 10, 15) if value is None else real(value, timezone),
    )


def _wait_until_blocked(count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} session(s) never blocked")


@pytest.mark.django_db(transaction=True)
def test_a_void_and_the_leases_posting_job_on_the_same_lease_do_not_deadlock(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))
    first = LeaseInstallment.objects.get(plan__lease=lease, period_start=P0)
    with transaction.atomic():
        post_installments(source=LEASES, installment_ids=[first.installment_id], actor=None)
    # 700 pays the posted week (500) and leaves 200 of prepayment credit on the receipt.
    receipt = ledger.record_prepayment(
        driver=lease.primary_driver, lease=lease, amount=Decimal("700.00"), method="CASH"
    )
    payment = receipt.postings.get(entry_type="CREDIT")
    second = LeaseInstallment.objects.get(plan__lease=lease, period_start=P0 + WEEK)

    plan_locked, go_on = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def posting_job_batch():
        """One batch of post_due_installments, step by step: its locks taken, then installments, then posted."""
        try:
            with transaction.atomic(durable=True):
                _lock_plans_for_posting(
                    LEASES, list(LeaseSchedule.objects.filter(lease=lease).values_list("pk", flat=True))
                )
                plan_locked.set()
                go_on.wait(10)
                batch = LeaseInstallment.objects.filter(pk=second.pk).select_for_update(of=("self",))
                _post(LEASES, list(_installment_rows(batch, LEASES)), None)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)
        finally:
            connection.close()

    def void():
        try:
            ledger.void_posting(posting=payment.pk, reason="Cashier keyed the wrong lease")
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)
        finally:
            connection.close()

    job = threading.Thread(target=posting_job_batch)
    job.start()
    assert plan_locked.wait(10)
    voider = threading.Thread(target=void)
    voider.start()
    _wait_until_blocked(1)  # the void holds the balance and waits for the receipt the job holds
    go_on.set()  # the job posts the new week (spending the credit) and commits; then the void goes on
    job.join(30)
    voider.join(30)

    assert errors == []
