"""Real processes: beat schedules the posting job and a worker runs it; a worker killed mid-run loses nothing.

Both use the broker the suite runs with — Kombu's file-system transport when CELERY_BROKER_URL is
unset, the configured Redis (required under REQUIRE_SERVICES=1) otherwise — on a queue of their
own, and the worker and beat work on the test database (BATPAY_DB_NAME).
"""

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from batpay.periods import WEEK, last_closed_period
from batpay.testing import need_service
from lease_schedules import services as schedules
from lease_schedules.models import LeaseInstallment
from lease_schedules.services import LEASES
from leases import services as fleet
from ledger.invariants import violations
from ledger.selectors import charges, postings
from operations import demo
from operations.models import JobRun
from plans.services import due_installments

pytestmark = pytest.mark.services

CONFIGURED_BROKER = os.environ.get("CELERY_BROKER_URL", "").strip()


class Processes:
    """Workers and beat started for one test, on its own queue; everything is stopped at the end."""

    def __init__(self, tmp_path, monkeypatch):
        self.queue = f"batpay-test-{uuid.uuid4().hex[:10]}"
        self.tmp = tmp_path
        self.running: list[subprocess.Popen] = []
        self.killed: set[int] = set()
        self.logs: list[str] = []
        self.redis = CONFIGURED_BROKER.startswith(("redis://", "rediss://"))
        if CONFIGURED_BROKER and not CONFIGURED_BROKER.startswith("filesystem://"):
            need_service(CONFIGURED_BROKER, "The Celery broker")
            self.env = {"CELERY_BROKER_URL": CONFIGURED_BROKER, "CELERY_RESULT_BACKEND": CONFIGURED_BROKER}
            self.client = Celery("batpay-test", broker=CONFIGURED_BROKER)
        else:
            broker = tmp_path / "broker"
            results = tmp_path / "results"
            results.mkdir()
            self.env = {
                "CELERY_BROKER_URL": "filesystem://",
                "BATPAY_BROKER_DIR": str(broker),
                "CELERY_RESULT_BACKEND": f"file://{results}",
            }
            # Celery's broker_url prefers the environment variable to the argument: clear it for our client.
            monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
            self.client = Celery("batpay-test", broker="filesystem://")
            self.client.conf.broker_transport_options = {
                "data_folder_in": str(broker / "queue"),
                "data_folder_out": str(broker / "queue"),
                "control_folder": str(broker / "control"),
            }
            for folder in ("queue", "processed", "control"):
                (broker / folder).mkdir(parents=True)
        # The processes work on the database this test sees.
        self.env = {**os.environ, **self.env, "BATPAY_DB_NAME": connection.settings_dict["NAME"]}

    def _start(self, *arguments: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "batpay", *arguments, "--loglevel", "warning"],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.running.append(proc)
        return proc

    def worker(self) -> subprocess.Popen:
        return self._start(
            "worker",
            "--pool",
            "solo",
            "--queues",
            self.queue,
            "--hostname",
            f"{self.queue}-{len(self.running)}@%h",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        )

    def beat(self) -> subprocess.Popen:
        return self._start(
            "beat",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--max-interval",
            "1",
            "--pidfile",
            str(self.tmp / "beat.pid"),
            "--schedule",
            str(self.tmp / "beat-schedule"),
        )

    def send(self, task: str, **kwargs) -> None:
        self.client.send_task(task, kwargs=kwargs, queue=self.queue)

    def kill(self, proc: subprocess.Popen) -> None:
        self.killed.add(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        self.logs.append(proc.communicate(timeout=30)[0])

    def died(self) -> bool:
        """Whether a process stopped that nobody killed (it failed to start, or crashed)."""
        return any(proc.poll() is not None for proc in self.running if proc.pid not in self.killed)

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.terminate()
                try:
                    self.logs.append(proc.communicate(timeout=20)[0])
                except subprocess.TimeoutExpired:
                    proc.kill()
                    self.logs.append(proc.communicate()[0])
        if self.redis:
            self._forget_queue()

    def _forget_queue(self) -> None:
        """Leave nothing of the test's queue in Redis: the killed worker's unacknowledged message
        would otherwise be restored to the queue an hour later."""
        server = redis.Redis.from_url(CONFIGURED_BROKER)
        for tag, raw in server.hscan_iter("unacked"):
            if json.loads(raw)[-1] == self.queue:
                server.hdel("unacked", tag)
                server.zrem("unacked_index", tag)
        server.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")

    def log(self) -> str:
        return "\n".join(self.logs)


@pytest.fixture
def processes(tmp_path, monkeypatch):
    started = Processes(tmp_path, monkeypatch)
    yield started
    started.stop_all()


def wait_for(condition, *, timeout: float, what: str, processes: Processes, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if processes.died():
            break
        time.sleep(every)
    processes.stop_all()
    pytest.fail(f"timed out waiting for {what}; process output:\n{processes.log()}")


def other_sessions_gone() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_beat_schedules_the_lease_posting_and_a_worker_posts_it(processes, make_user):
    actor = make_user("Finance")
    period = dt.date(2025, 10, 5)
    for n in range(3):
        driver = fleet.driver_create(
            actor=actor, first_name="Beat", last_name=f"Driver{n}", tlc_license_number=f"{5400000 + n}"
        )
        vehicle = fleet.vehicle_create(
            actor=actor, vin=f"1BEAT0000{n:08d}", plate_number=f"B{n:06d}C", make="Ford", model="Transit", year=2024
        )
        medallion = fleet.medallion_create(actor=actor, number=f"{n + 1}B00")
        fleet.lease_create(
            actor=actor,
            lease_type="DOV",
            driver_id=driver.pk,
            vehicle_id=vehicle.pk,
            medallion_id=medallion.pk,
            start_date=dt.date(2025, 9, 28),
            weekly_rate=Decimal("525.00"),
        )
    # Only this test's entry may fire: the Sunday entries stay as they are, disabled.
    PeriodicTask.objects.update(enabled=False)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name=f"test {processes.queue}",
        task="leases.post_due_installments",
        interval=every_second,
        one_off=True,
        kwargs=json.dumps({"period": period.isoformat()}),
        queue=processes.queue,
    )

    processes.worker()
    processes.beat()
    run = wait_for(
        lambda: JobRun.objects.filter(job="leases.post_due_installments", status="SUCCEEDED").first(),
        timeout=90,
        what="the scheduled lease posting",
        processes=processes,
    )

    assert (run.period, run.count, run.amount, run.trigger) == (period, 6, Decimal("3150.00"), "TASK")
    assert run.task_id and not run.host.endswith(f":{os.getpid()}")
    assert LeaseInstallment.objects.filter(status="POSTED").count() == 6
    assert postings().filter(category="LEASE", entry_type="DEBIT").count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_leaves_a_sound_ledger_and_the_rerun_posts_the_rest_once(processes):
    period = last_closed_period()
    billed_from = period - 9 * WEEK
    demo.insert_fleet(demo.build_fleet(leases=2000, seed=6, as_of=period))
    schedules.lease_schedules_adopt(billed_from=billed_from)
    schedules.lease_schedules_extend()
    # What an uninterrupted run posts: every due installment once, at its amount.
    expected = dict(due_installments(source=LEASES, period=period).values_list("installment_id", "amount"))
    assert len(expected) > 15_000

    worker = processes.worker()
    processes.send("leases.post_due_installments", period=period.isoformat(), shard_leases=200)
    wait_for(
        lambda: LeaseInstallment.objects.filter(status="POSTED").count() >= 600,
        timeout=90,
        what="the first shards",
        processes=processes,
        every=0.02,
    )
    processes.kill(worker)
    # Its server session ends once the server notices; until then it may still commit the shard
    # whose COMMIT it had sent.
    wait_for(other_sessions_gone, timeout=30, what="the killed worker's session to end", processes=processes)

    posted_before = LeaseInstallment.objects.filter(status="POSTED").count()
    assert 0 < posted_before < len(expected), "the job should have been killed mid-run"
    assert JobRun.objects.get(job="leases.post_due_installments").status == "RUNNING"
    assert violations() == []  # every committed shard is whole
    assert postings().filter(category="LEASE", entry_type="DEBIT").count() == posted_before

    processes.worker()
    processes.send("leases.post_due_installments", period=period.isoformat())
    rerun = wait_for(
        lambda: JobRun.objects.filter(job="leases.post_due_installments", status="SUCCEEDED").first(),
        timeout=90,
        what="the rerun",
        processes=processes,
    )

    killed = JobRun.objects.get(job="leases.post_due_installments", status="INTERRUPTED")
    assert killed.finished_at is not None and rerun.count == len(expected) - posted_before
    ledger = {ref: charge.amount for ref, charge in charges(category="LEASE", source_references=expected).items()}
    assert ledger == expected
    assert sum(ledger.values()) == sum(expected.values())
    assert postings().filter(category="LEASE", entry_type="DEBIT").count() == len(expected)
    assert LeaseInstallment.objects.filter(installment_id__in=expected, status="POSTED").count() == len(expected)
    call_command("check_ledger", stdout=io.StringIO())
