"""A real worker killed in the middle of a shard of the earnings close (SIGKILL): a new worker and a
re-run finish the close with the ledger an uninterrupted close of the same data books.

The uninterrupted close runs on a copy of the test database (CREATE DATABASE … TEMPLATE), by
`manage.py weekly_close` in a process of its own; both ledgers are compared as figures and
references (shard_world.canonical).
"""

import os
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from ledger.invariants import violations
from ledger.models import Receipt
from operations.jobs import run_posting
from operations.models import JobRun, Shard
from operations.names import posting_jobs
from operations.tests.shard_world import CLOSE_EARNINGS, GENERATE_DTRS, RENDER_PDFS, canonical, world
from operations.tests.test_jobs_worker import Processes, other_sessions_gone, wait_for
from statements.models import EarningsClose, Trip

pytestmark = pytest.mark.services

SHARD_SECONDS = 1.5


@pytest.fixture
def workers(tmp_path, monkeypatch):
    started = Processes(tmp_path, monkeypatch)
    yield started
    started.stop_all()


def _server(database: str):
    params = connection.settings_dict
    return psycopg.connect(
        dbname=database,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        autocommit=True,
    )


def closed_on_a_copy(period) -> dict:
    """The week closed without interruption, on a copy of the database as it is now."""
    source = connection.settings_dict["NAME"]
    copy = f"{source}_ref_{uuid.uuid4().hex[:6]}"
    connection.close()
    with _server("postgres") as server:
        server.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    try:
        subprocess.run(
            [sys.executable, "manage.py", "weekly_close", "--period", period.isoformat(), "--verbosity", "0"],
            cwd=settings.BASE_DIR,
            env={**os.environ, "BATPAY_DB_NAME": copy, "CLOSE_HELPER_TASKS": "0"},
            check=True,
            capture_output=True,
            timeout=600,  # seconds on a quiet machine; minutes when other jobs load it
        )
        with _server(copy) as database, database.cursor() as cursor:
            return canonical(cursor)
    finally:
        with _server("postgres") as server:
            server.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def booked_leases(period) -> set[int]:
    return set(Receipt.objects.filter(kind="EARNINGS", period=period).values_list("lease_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_shard_leaves_done_shards_whole_and_the_rerun_books_the_uninterrupted_ledger(workers):
    processes = workers
    period = world(leases=8, seed=11)
    for job in posting_jobs():  # both copies start from the week's postings: the kill lands in the close
        run_posting(job=job, period=period)
    expected = closed_on_a_copy(period)
    assert expected["closes"][-1][-1] == "True" and len(expected["dtrs"]) >= 6

    processes.env.update(
        {
            "CLOSE_SHARD_LEASES": "2",
            "CLOSE_HELPER_TASKS": "2",
            "BATPAY_TEST_SHARD_DELAY": f"{CLOSE_EARNINGS}={SHARD_SECONDS}",
        }
    )
    worker = processes.worker()
    processes.send("ledger.weekly_close", period=period.isoformat())
    earnings = Shard.objects.filter(job=CLOSE_EARNINGS, period=period)
    wait_for(
        lambda: earnings.filter(done_at__isnull=False).exists(),
        timeout=300,
        what="the first shard of the earnings close",
        processes=processes,
        every=0.05,
    )
    time.sleep(SHARD_SECONDS / 4)  # into the next shard: its work done, its transaction open
    processes.kill(worker)
    wait_for(other_sessions_gone, timeout=30, what="the killed worker's session to end", processes=processes)

    done = list(earnings.filter(done_at__isnull=False))
    undone = list(earnings.filter(done_at__isnull=True))
    assert done and undone, "the worker should have been killed mid-step"
    # A shard is booked wholly with its done mark, or not at all: the one the worker was in left nothing.
    with_trips = set(Trip.objects.filter(period=period).values_list("lease_id", flat=True))
    in_done = {lease for lease in with_trips if any(s.lease_from <= lease <= s.lease_to for s in done)}
    assert booked_leases(period) == in_done
    assert EarningsClose.objects.get(period=period).completed_at is None
    assert JobRun.objects.get(job=CLOSE_EARNINGS, period=period).status == JobRun.Status.RUNNING
    assert violations() == []

    # Two workers now, shards a little slow: the re-run's helper tasks reach the second one.
    processes.env["BATPAY_TEST_SHARD_DELAY"] = f"{RENDER_PDFS}=0.5"
    processes.worker()
    processes.worker()
    processes.send("ledger.weekly_close", period=period.isoformat())
    wait_for(
        lambda: JobRun.objects.filter(job="ledger.weekly_close", period=period, status="SUCCEEDED").exists(),
        timeout=300,
        what="the re-run of the close",
        processes=processes,
    )

    with connection.cursor() as cursor:
        assert canonical(cursor) == expected
    assert not earnings.filter(done_at__isnull=True).exists()
    statuses = dict(
        JobRun.objects.filter(period=period, job__in=[CLOSE_EARNINGS, GENERATE_DTRS, RENDER_PDFS])
        .exclude(status=JobRun.Status.SUCCEEDED)
        .values_list("job", "status")
    )
    assert statuses == {CLOSE_EARNINGS: JobRun.Status.INTERRUPTED}
    # The killed run's helper tasks did nothing (their run was dead); the re-run's shared the work.
    rerun = JobRun.objects.filter(period=period, status=JobRun.Status.SUCCEEDED, job__in=[CLOSE_EARNINGS, RENDER_PDFS])
    assert not Shard.objects.filter(job=CLOSE_EARNINGS, run__status=JobRun.Status.INTERRUPTED).exclude(
        pk__in=[shard.pk for shard in done]
    )
    workers_used = set(Shard.objects.filter(run__in=rerun).values_list("done_by", flat=True))
    assert len(workers_used) == 2, workers_used
    assert violations() == []
