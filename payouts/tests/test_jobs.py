"""The Sunday 06:00 job: `payouts.prepare` and `manage.py prepare_payouts` run through the job runner
— recorded, idempotent, and refused for a week not closed."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from leases.models import Driver
from operations.models import JobRun
from operations.tasks import prepare_payouts_task
from payouts.models import PayoutRun
from payouts.tests.helpers import at, close_week, earn

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)


@pytest.fixture
def closed_week(fleet, monkeypatch):
    at(monkeypatch, dt.date(2025, 10, 1))
    earn(fleet.lease(driver=fleet.driver(pay_to_mode=Driver.PayTo.CHECK)), P1, "120.00")
    at(monkeypatch, P2, 5)
    close_week(P1)
    at(monkeypatch, P2, 6)


def test_the_command_prepares_once_and_records_each_run(transactional_db, closed_week):
    out = io.StringIO()
    call_command("prepare_payouts", "--period", "2025-09-28", stdout=out, verbosity=0)
    assert "1 payouts, 120.00" in out.getvalue() and "prepared (PREPARED)" in out.getvalue()
    call_command("prepare_payouts", stdout=(again := io.StringIO()), verbosity=0)  # default: last night's week
    assert "already prepared" in again.getvalue()
    assert PayoutRun.objects.count() == 1
    runs = list(JobRun.objects.filter(job="payouts.prepare").order_by("pk").values_list("status", "count"))
    assert runs == [("SUCCEEDED", 1), ("SUCCEEDED", 0)]


def test_the_task_works_on_the_week_that_ended_last_night(transactional_db, closed_week):
    result = prepare_payouts_task.apply().get()
    assert (result["period"], result["payouts"], result["amount"], result["created"]) == (
        "2025-09-28",
        1,
        "120.00",
        True,
    )


def test_a_week_not_closed_is_refused_and_recorded_failed(transactional_db, fleet, monkeypatch):
    at(monkeypatch, P2, 6)
    with pytest.raises(CommandError, match="not closed"):
        call_command("prepare_payouts", "--period", "2025-09-28", stdout=io.StringIO(), verbosity=0)
    assert JobRun.objects.get(job="payouts.prepare").status == "FAILED"
    assert not PayoutRun.objects.exists()
