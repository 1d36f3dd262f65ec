"""`tolls.post_due` as the Sunday runs it: the Celery task, its recorded run, the weekly close making
sure it ran, the admin's "Run now" offering it, and the metrics."""

import datetime as dt
from decimal import Decimal as D

import pytest

from batpay.testing import set_clock
from ledger.models import ObligationBalance
from operations.admin import RunJobForm
from operations.jobs import SUNDAY_SCHEDULE, weekly_close
from operations.models import JobRun
from operations.tasks import post_due_tolls
from tolls.models import Toll
from tolls.tests.toll_files import import_lines, plate_of, toll

pytestmark = pytest.mark.django_db
W = dt.date(2025, 9, 28)


@pytest.fixture
def pending(fleet, monkeypatch):
    """Two tolls of week W imported on its Thursday: due, not charged until Sunday."""
    set_clock(monkeypatch, "2025-10-02T09:00:00-04:00")
    lease = fleet.lease()
    import_lines(
        [
            toll("J-1", plate_of(lease), dt.datetime(2025, 9, 30, 8, 0), "($6.94)"),
            toll("J-2", plate_of(lease), dt.datetime(2025, 10, 1, 8, 0), "($16.06)"),
        ]
    )
    assert set(Toll.objects.values_list("status", flat=True)) == {"PENDING"}
    set_clock(monkeypatch, "2025-10-05T04:15:00-04:00")
    return lease


def test_the_sunday_task_charges_the_week_just_closed_once(pending):
    first = post_due_tolls.apply().get()
    second = post_due_tolls.apply(kwargs={"period": W.isoformat()}).get()

    assert first == {"job": "tolls.post_due", "period": "2025-09-28", "count": 2, "amount": "23.00"}
    assert second["count"] == 0
    assert sorted(ObligationBalance.objects.values_list("source_reference", "outstanding")) == [
        ("J-1", D("6.94")),
        ("J-2", D("16.06")),
    ]
    runs = JobRun.objects.filter(job="tolls.post_due").order_by("pk")
    assert [(run.status, run.count, run.amount) for run in runs] == [
        ("SUCCEEDED", 2, D("23.00")),
        ("SUCCEEDED", 0, D("0.00")),
    ]
    assert ("tolls.post_due", 4, 15, "Sunday 04:15 post tolls that fell due") in SUNDAY_SCHEDULE


def test_the_weekly_close_makes_sure_the_tolls_are_charged(pending):
    runs = weekly_close(period=W)

    assert "tolls.post_due" in [run.job for run in runs]
    assert set(Toll.objects.values_list("status", flat=True)) == {"POSTED"}
    assert ObligationBalance.objects.filter(category="EZPASS").count() == 2


def test_run_now_offers_it_and_metrics_count_it(pending, client, make_user):
    assert ("tolls.post_due", "Post due E-ZPass tolls") in RunJobForm().fields["job"].choices
    client.force_login(make_user(superuser=True))
    before = client.get("/metrics").content.decode()
    assert 'batpay_tolls{kind="CHARGE",status="PENDING"} 2.0' in before
    assert "batpay_tolls_unposted_backlog 2.0" in before
    post_due_tolls.apply()
    after = client.get("/metrics").content.decode()
    assert 'batpay_tolls{kind="CHARGE",status="POSTED"} 2.0' in after
    assert 'batpay_tolls_amount{kind="CHARGE",status="POSTED"} 23.0' in after
    assert "batpay_tolls_unposted_backlog 0.0" in after
