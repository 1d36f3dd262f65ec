"""Scheduled jobs: recorded and locked runs, the weekly close, the commands, the beat schedule, the admin."""

import datetime as dt
import io
import os
import subprocess
import sys
import threading
from decimal import Decimal

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django_celery_beat.models import PeriodicTask

from batpay.periods import WEEK
from batpay.registry import Registry
from batpay.steps import StepResult
from lease_schedules.models import LeaseInstallment
from leases.testing import FleetFactory
from operations import jobs
from operations.jobs import run_job, run_posting_job, weekly_close
from operations.models import JobRun
from operations.tasks import post_lease_installments as lease_task
from operations.tasks import weekly_close_task
from repairs.models import RepairInstallment
from repairs.services import repair_create
from statements import close
from statements.close import register_close_step

P = dt.date(2025, 10, 5)
START = dt.date(2025, 9, 28)  # leases run from here: two weeks due by P


class Fleet(FleetFactory):
    """The fleet factory, plus repairs made through the real service."""

    def lease(self, rate: str = "500.00", **values):
        return super().lease(weekly_rate=Decimal(rate), start_date=values.pop("start_date", START), **values)

    def repair(self, lease, amount: str = "300.00"):
        n = next(self._n)
        return repair_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            invoice_number=f"JOB-{n}",
            invoice_date=dt.date(2025, 9, 30),
            workshop_type="BIG_APPLE",
            repair_amount=Decimal(amount),
            start_week=START,
            actor=self.actor,
            confirm=True,
        )


@pytest.fixture
def finance(make_user):
    return make_user("Finance")


@pytest.fixture
def shop(finance):
    return Fleet(finance)


@pytest.fixture
def steps(monkeypatch):
    """A clean registry of close steps for the test."""
    registry = Registry("weekly close step")
    monkeypatch.setattr(close, "CLOSE_STEPS", registry)
    return registry


def out_of(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_posting_job_is_recorded_with_what_it_did(shop):
    shop.lease()
    shop.lease("600.00")

    run = run_posting_job(source="leases", period=P)

    run.refresh_from_db()
    assert (run.job, run.period, run.status, run.trigger) == ("leases.post_due_installments", P, "SUCCEEDED", "CALL")
    assert (run.count, run.amount) == (4, Decimal("2200.00"))
    assert run.details == {"source": "leases", "schedules_adopted": 0, "installments_added": 0}
    assert run.finished_at >= run.started_at and run.host.endswith(f":{os.getpid()}")


def test_a_failing_job_is_recorded_and_raised(db):
    def broken(progress):
        raise ValueError("the statement could not be read")

    with pytest.raises(ValueError):
        run_job(job="test.broken", period=P, work=broken)

    run = JobRun.objects.get(job="test.broken")
    assert run.status == "FAILED" and "ValueError: the statement could not be read" in run.errors
    assert run.finished_at is not None


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(shop):
    shop.lease()
    dead = JobRun.objects.create(
        job="leases.post_due_installments",
        period=P,
        trigger="TASK",
        started_at=dt.datetime(2025, 10, 12, 8, tzinfo=dt.UTC),
    )

    run = run_posting_job(source="leases", period=P)

    dead.refresh_from_db()
    assert dead.status == "INTERRUPTED" and "stopped before it finished" in dead.errors
    assert (run.status, run.count) == ("SUCCEEDED", 2)


def test_a_job_refuses_to_run_inside_a_transaction(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        run_posting_job(source="leases", period=P)
    assert not JobRun.objects.exists()


def test_the_command_posts_every_source_once_and_sums_up(shop):
    lease = shop.lease()
    shop.repair(lease, "300.00")

    dry = out_of("post_due_installments", "--source", "all", "--period", P.isoformat(), "--dry-run")
    first = out_of("post_due_installments", "--source", "all", "--period", P.isoformat())
    second = out_of("post_due_installments", "--source", "all", "--period", P.isoformat())

    assert "leases: 2 installment(s) due (dry run, nothing posted), amount 1000.00" in dry
    assert "leases: 2 installment(s) posted, amount 1000.00" in first
    assert "repairs: 2 installment(s) posted, amount 200.00" in first
    assert "all: 4 installment(s), amount 1200.00" in first
    assert "leases: 0 installment(s) posted, amount 0.00" in second
    assert "all: 0 installment(s), amount 0.00" in second
    runs = JobRun.objects.filter(trigger="COMMAND")
    assert sorted(runs.values_list("job", "count")) == sorted(
        [(jobs.posting_job(name), n) for name, n in (("leases", 2), ("repairs", 2), ("loans", 0), ("deposits", 0))]
        + [(jobs.posting_job(name), 0) for name in ("leases", "repairs", "loans", "deposits")]
    )
    with pytest.raises(CommandError, match="Sunday"):
        out_of("post_due_installments", "--source", "all", "--period", "2025-10-01")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_of_the_command_post_each_installment_once(finance):
    shop = Fleet(finance)
    leases = [shop.lease() for _ in range(4)]
    for lease in leases:
        shop.repair(lease, "450.00")
    outputs, errors = [], []
    together = threading.Barrier(2)

    def run():
        try:
            together.wait()
            outputs.append(out_of("post_due_installments", "--source", "all", "--period", P.isoformat()))
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
    assert LeaseInstallment.objects.filter(status="POSTED").count() == 8
    assert RepairInstallment.objects.filter(status="POSTED").count() == 8
    # Per source, whichever copy took the lock first posted everything; the other found nothing.
    for job, count in (("leases.post_due_installments", 8), ("repairs.post_due_installments", 8)):
        runs = JobRun.objects.filter(job=job)
        assert sorted(runs.values_list("status", "count")) == [("SUCCEEDED", 0), ("SUCCEEDED", count)]
    totals = [line for output in outputs for line in output.splitlines() if line.startswith("all:")]
    assert sum(int(line.split()[1]) for line in totals) == 16


def test_the_weekly_close_runs_missing_postings_then_the_steps_in_order(shop, steps):
    shop.lease()
    calls = []

    def step(name):
        def fn(*, period, actor, progress):
            calls.append((name, period))
            if progress:
                progress(1, 1)
            return StepResult(count=1, amount=Decimal("12.50"), details={"step": name})

        return fn

    register_close_step("dtrs", step("dtrs"), order=20)
    register_close_step("earnings", step("earnings"), order=10)
    run_posting_job(source="repairs", period=P)  # already done: the close leaves it alone
    seen = []

    first = weekly_close(period=P, progress=lambda total, done: seen.append((total, done)))
    second = weekly_close(period=P)

    assert [run.job for run in first] == [
        "leases.post_due_installments",
        "loans.post_due_installments",
        "repairs.post_due_installments",
        "deposits.post_due_installments",
        "tolls.post_due",
        "ledger.weekly_close.earnings",
        "ledger.weekly_close.dtrs",
    ]
    assert calls == [("earnings", P), ("dtrs", P), ("earnings", P), ("dtrs", P)]
    assert seen == [(6, 0), (6, 1), (6, 2), (6, 3), (6, 4), (6, 5), (6, 6)]
    close = JobRun.objects.filter(job="ledger.weekly_close").order_by("started_at")
    assert [run.count for run in close] == [6, 2]
    assert first[0].parent == close[0] and first[2].parent is None and first[3].parent == close[0]
    assert [run.pk for run in second[:5]] == [run.pk for run in first[:5]]  # postings are not run again
    assert (first[5].count, first[5].amount, first[5].details) == (1, Decimal("12.50"), {"step": "earnings"})
    assert close[0].details["already_done"] == ["repairs.post_due_installments"]


def test_a_failing_step_stops_the_close_and_a_rerun_resumes_it(shop, steps):
    shop.lease()
    attempts = {"n": 0}

    def flaky(*, period, actor, progress):
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise RuntimeError("earnings file missing")
        return StepResult(count=3)

    register_close_step("earnings", flaky, order=10)
    register_close_step("dtrs", lambda **kwargs: StepResult(count=1), order=20)

    with pytest.raises(RuntimeError, match="earnings file missing"):
        weekly_close(period=P)
    resumed = weekly_close(period=P)

    statuses = list(
        JobRun.objects.filter(job__startswith="ledger.weekly_close").order_by("pk").values_list("job", "status")
    )
    assert statuses == [
        ("ledger.weekly_close", "FAILED"),
        ("ledger.weekly_close.earnings", "FAILED"),
        ("ledger.weekly_close", "SUCCEEDED"),
        ("ledger.weekly_close.earnings", "SUCCEEDED"),
        ("ledger.weekly_close.dtrs", "SUCCEEDED"),
    ]
    assert [run.status for run in resumed] == ["SUCCEEDED"] * 7
    assert JobRun.objects.filter(job="leases.post_due_installments").count() == 1


def test_the_weekly_close_command_prints_each_job(shop, steps):
    shop.lease()

    output = out_of("weekly_close", "--period", P.isoformat())
    again = out_of("weekly_close", "--period", P.isoformat())

    assert "leases.post_due_installments: SUCCEEDED, 2 done, amount 1000.00" in output
    assert "Period 2025-10-05: closed." in output
    assert "leases.post_due_installments: SUCCEEDED, 2 done, amount 1000.00" in again and "completed earlier" in again
    assert JobRun.objects.filter(job="ledger.weekly_close", trigger="COMMAND").count() == 2


def test_tasks_are_thin_and_record_their_runs(shop, steps):
    shop.lease()

    posted = lease_task.apply(kwargs={"period": P.isoformat(), "actor_id": shop.actor.pk}).get()
    closed = weekly_close_task.apply(kwargs={"period": P.isoformat()}).get()

    assert posted == {"source": "leases", "period": "2025-10-05", "installments": 2, "amount": "1000.00"}
    assert closed["period"] == "2025-10-05"
    assert [job["job"] for job in closed["jobs"]][0] == "leases.post_due_installments"
    run = JobRun.objects.get(job="leases.post_due_installments")
    assert (run.trigger, run.actor, bool(run.task_id)) == ("TASK", shop.actor, True)


def test_a_task_without_a_period_works_on_the_week_that_ended_last_night(db, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: dt.date(2025, 10, 12))

    result = lease_task.apply().get()

    assert result["period"] == "2025-10-05"


def test_the_sunday_schedule_is_in_beat_and_admin_edits_are_kept(db):
    entries = {task.task: task for task in PeriodicTask.objects.select_related("crontab")}
    expected = {
        "leases.post_due_installments": ("0", "4"),
        "repairs.post_due_installments": ("30", "4"),
        "loans.post_due_installments": ("45", "4"),
        "tolls.post_due": ("15", "4"),
        "deposits.post_due_installments": ("50", "4"),
        "ledger.weekly_close": ("0", "5"),
        "payouts.prepare": ("0", "6"),
    }
    for task, (minute, hour) in expected.items():
        crontab = entries[task].crontab
        assert (crontab.minute, crontab.hour, crontab.day_of_week) == (minute, hour, "0"), task
        assert str(crontab.timezone) == "America/New_York"
        assert entries[task].enabled and entries[task].args == "[]" and entries[task].kwargs == "{}"

    edited = entries["repairs.post_due_installments"]
    edited.enabled = False
    edited.name = "repairs, paused for the audit"
    edited.save()
    entries["ledger.weekly_close"].delete()

    output = out_of("setup_schedules")

    assert "Scheduled ledger.weekly_close." in output and "7 already present and kept" in output
    edited.refresh_from_db()
    assert (edited.name, edited.enabled) == ("repairs, paused for the audit", False)
    assert PeriodicTask.objects.filter(task__in=expected).count() == 7
    daily = entries["deposits.release_due"].crontab
    assert (daily.minute, daily.hour, daily.day_of_week, str(daily.timezone)) == ("0", "3", "*", "America/New_York")
    assert jobs.ensure_beat_schedule() == []


def test_finance_runs_a_job_now_from_the_admin(
    client, make_user, shop, monkeypatch, django_capture_on_commit_callbacks
):
    shop.lease()
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    manager = make_user("Manager")
    finance = shop.actor
    for user in (manager, finance):
        user.is_staff = True
        user.save()

    client.force_login(manager)
    assert client.get("/admin/operations/jobrun/").status_code == 200
    assert client.get("/admin/operations/jobrun/run/").status_code == 403
    client.force_login(finance)
    assert "Run now for a period" in client.get("/admin/operations/jobrun/").content.decode()
    refused = client.post(
        "/admin/operations/jobrun/run/", {"job": "leases.post_due_installments", "period": "2025-10-08"}
    )
    assert "a period is named by its Sunday" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        done = client.post(
            "/admin/operations/jobrun/run/", {"job": "leases.post_due_installments", "period": P.isoformat()}
        )

    assert done.status_code == 302 and len(queued) == 1
    run = JobRun.objects.get(job="leases.post_due_installments")
    assert (run.status, run.count, run.actor, run.trigger) == ("SUCCEEDED", 2, finance, "TASK")
    page = client.get(f"/admin/operations/jobrun/{run.pk}/change/")
    assert page.status_code == 200 and "leases.post_due_installments" in page.content.decode()


def test_metrics_report_job_durations(shop, client):
    shop.lease()
    run_posting_job(source="leases", period=P)

    text = client.get("/metrics").content.decode()

    assert 'batpay_job_last_duration_seconds{job="leases.post_due_installments",status="SUCCEEDED"}' in text
    assert 'batpay_job_last_success_timestamp_seconds{job="leases.post_due_installments"}' in text
    assert 'batpay_job_runs_total{job="leases.post_due_installments",status="SUCCEEDED"} 1.0' in text


def test_batpay_db_name_picks_the_database_of_database_url():
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['NAME'])"
    )
    env = {**os.environ, "DATABASE_URL": "postgresql://batpay@db.invalid:5432/batpay", "BATPAY_DB_NAME": "test_x"}

    named = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)
    del env["BATPAY_DB_NAME"]
    default = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR
    )

    assert (named.stdout.strip(), default.stdout.strip()) == ("test_x", "batpay"), named.stderr + default.stderr


def test_leases_started_in_a_later_week_wait_for_it(shop):
    shop.lease(start_date=P + WEEK)

    assert run_posting_job(source="leases", period=P).count == 0
