"""The weekly posting job: Celery task, management command, metrics."""

import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from operations import tasks
from repairs import services
from repairs.models import RepairInstallment

from .conftest import P1

P3 = P1 + dt.timedelta(days=14)


def test_command_posts_due_installments_once(make_repair, finance):
    make_repair("1200.00")
    held = make_repair("500.00")
    services.repair_change_status(repair_id=held.repair_id, status="HOLD", reason="disputed", actor=finance)

    out = io.StringIO()
    call_command("post_due_installments", "--source", "repairs", "--period", P3.isoformat(), "--dry-run", stdout=out)
    assert "repairs: 3 installment(s) due (dry run, nothing posted), amount 750.00" in out.getvalue()
    assert not RepairInstallment.objects.filter(status="POSTED").exists()

    out, err = io.StringIO(), io.StringIO()
    call_command("post_due_installments", "--source", "repairs", "--period", P3.isoformat(), stdout=out, stderr=err)
    assert "repairs: 3 installment(s) posted, amount 750.00" in out.getvalue()
    assert "1/1" in err.getvalue()  # the progress bar, in shards of leases (one for this small fleet)
    out = io.StringIO()
    call_command(
        "post_due_installments", "--source", "all", "--period", P3.isoformat(), "--shard-leases", "1", stdout=out
    )
    assert "repairs: 0 installment(s) posted, amount 0.00" in out.getvalue()
    assert RepairInstallment.objects.filter(status="POSTED").count() == 3
    assert not held.installments.exclude(status="SCHEDULED").exists()
    call_command("check_ledger", stdout=io.StringIO())


def test_small_shards_post_everything_exactly_once(make_repair):
    plans = [make_repair("450.00") for _ in range(4)]
    out = io.StringIO()
    call_command(
        "post_due_installments", "--source", "repairs", "--period", P3.isoformat(), "--shard-leases", "1", stdout=out
    )
    assert "repairs: 12 installment(s) posted, amount 1200.00" in out.getvalue()
    assert all(list(p.installments.values_list("status", flat=True))[:3] == ["POSTED"] * 3 for p in plans)


def test_command_refuses_a_period_that_is_not_a_sunday():
    with pytest.raises(CommandError, match="Sunday"):
        call_command("post_due_installments", "--source", "repairs", "--period", "2025-10-01")
    with pytest.raises(CommandError):
        call_command("post_due_installments", "--source", "boats", "--period", "2025-09-28")


def test_celery_task_is_thin_and_idempotent(make_repair):
    make_repair("300.00")
    result = tasks.post_repair_installments.apply(kwargs={"period": P3.isoformat()}).get()
    assert result == {"source": "repairs", "period": P3.isoformat(), "installments": 3, "amount": "300.00"}
    again = tasks.post_repair_installments.apply(kwargs={"period": P3.isoformat()}).get()
    assert again["installments"] == 0


def test_metrics_report_plans_posted_and_backlog(make_repair, client):
    make_repair("300.00")
    make_repair("200.00", confirm=False)
    services.repair_installments_post_due(period=P1)
    text = client.get("/metrics").content.decode()
    assert 'batpay_plans{source="repairs",status="OPEN"} 1.0' in text
    assert 'batpay_plans{source="repairs",status="DRAFT"} 1.0' in text
    assert 'batpay_installments_posted{source="repairs"} 1.0' in text
    # The two later weeks of the OPEN plan are long due (2025) and not yet posted.
    assert 'batpay_unposted_backlog{source="repairs"} 2.0' in text


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_post_each_installment_once(make_repair):
    plans = [make_repair("450.00") for _ in range(6)]
    results, errors = [], []
    start_together = threading.Barrier(2)

    def run():
        try:
            start_together.wait()
            results.append(services.repair_installments_post_due(period=P3))
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.installments for r in results) == 18
    assert sum(r.amount for r in results) == 1800
    assert RepairInstallment.objects.filter(status="POSTED").count() == 18
    assert all(p.installments.filter(status="POSTED").count() == 3 for p in plans)
