"""The Sunday's fleet-wide steps in shards (operations.shards): the same ledger as one shard, a
re-run that changes nothing, a failing shard that leaves the others done."""

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from leases.models import Lease
from ledger import services as ledger_services
from ledger.invariants import violations
from ledger.models import Receipt
from operations import shards
from operations.jobs import lock_key, shard_helper_task, weekly_close
from operations.models import JobRun, Shard
from operations.names import posting_jobs
from operations.tests.shard_world import CLOSE_EARNINGS, GENERATE_DTRS, RENDER_PDFS, canonical, world
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport, EarningsClose

pytestmark = pytest.mark.django_db

SHARDED_JOBS = [job for job in posting_jobs() if job != "tolls.post_due"] + [CLOSE_EARNINGS, GENERATE_DTRS, RENDER_PDFS]


def dump() -> dict:
    with connection.cursor() as cursor:
        return canonical(cursor)


def closed_with_one_shard(period: dt.date, settings) -> dict:
    """What the same week closed by one process in one shard per step books (then undone)."""
    settings.CLOSE_SHARD_LEASES = 1_000_000
    point = transaction.savepoint()
    weekly_close(period=period)
    assert set(Shard.objects.values_list("job", "lease_from", "lease_to")) == {
        (job, 0, shards.LAST_LEASE_ID) for job in SHARDED_JOBS
    }
    reference = dump()
    transaction.savepoint_rollback(point)
    return reference


def test_a_week_closed_in_shards_books_what_one_shard_books_and_a_rerun_changes_nothing(settings):
    period = world(leases=8)
    reference = closed_with_one_shard(period, settings)
    assert len(reference["dtrs"]) >= 7 and reference["closes"][-1][-1] == "True"

    settings.CLOSE_SHARD_LEASES = 2
    runs = weekly_close(period=period)
    assert dump() == reference
    for job in SHARDED_JOBS:
        ranges = list(Shard.objects.filter(job=job, period=period).values_list("lease_from", "lease_to", "done_at"))
        assert len(ranges) >= 4 and all(done for _, _, done in ranges), job
        # Ranges follow each other with no gap or overlap, from 0 to the last possible id.
        assert ranges[0][0] == 0 and ranges[-1][1] == shards.LAST_LEASE_ID
        assert all(hi + 1 == next_lo for (_, hi, _), (next_lo, _, _) in zip(ranges, ranges[1:], strict=False))
    by_job = {run.job: run for run in runs}
    close = EarningsClose.objects.get(period=period)
    # The close's totals are the sum of its shards', and the ledger's.
    earnings_shards = Shard.objects.filter(job=CLOSE_EARNINGS, period=period)
    assert close.earnings == sum((shard.amount for shard in earnings_shards), Decimal(0)) > 0
    assert close.taxes == sum((Decimal(shard.details["taxes"]) for shard in earnings_shards), Decimal(0)) > 0
    assert by_job[CLOSE_EARNINGS].amount == close.earnings
    assert by_job[GENERATE_DTRS].count == DriverTransactionReport.objects.filter(period=period).count()
    assert by_job[RENDER_PDFS].count == by_job[GENERATE_DTRS].count
    assert all(dtr.pdf for dtr in DriverTransactionReport.objects.filter(period=period))

    # Again: every job has a completed run; every step runs and books nothing.
    again = weekly_close(period=period)
    assert dump() == reference
    assert [run.count for run in again if run.job in (GENERATE_DTRS, RENDER_PDFS)] == [0, 0]
    assert JobRun.objects.filter(job=CLOSE_EARNINGS, period=period).count() == 2
    assert generate_dtrs(period=period).generated == 0
    assert violations() == []


def test_a_failing_shard_leaves_the_others_done_and_the_rerun_completes_the_same_ledger(settings, monkeypatch):
    period = world(leases=8, seed=7)
    reference = closed_with_one_shard(period, settings)
    settings.CLOSE_SHARD_LEASES = 2
    real = ledger_services.apply_earnings_bulk
    broken_lease = list(Lease.objects.order_by("pk").values_list("pk", flat=True))[3]

    def apply_earnings_bulk(*, rows, actor=None):
        if any(row.lease_id == broken_lease for row in rows):
            raise RuntimeError("the database went away")
        return real(rows=rows, actor=actor)

    monkeypatch.setattr(ledger_services, "apply_earnings_bulk", apply_earnings_bulk)
    with pytest.raises(shards.ShardsFailed, match="1 shard"):
        weekly_close(period=period)
    earnings = Shard.objects.filter(job=CLOSE_EARNINGS, period=period)
    undone = earnings.filter(done_at__isnull=True)
    assert undone.count() == 1 and earnings.count() >= 4
    (failed,) = undone
    assert failed.lease_from <= broken_lease <= failed.lease_to
    assert JobRun.objects.get(job=CLOSE_EARNINGS, period=period).status == JobRun.Status.FAILED
    assert not JobRun.objects.filter(job=GENERATE_DTRS, period=period).exists()
    close = EarningsClose.objects.get(period=period)
    assert close.completed_at is None  # trips of the week are refused; DTRs and payouts wait
    receipts = Receipt.objects.filter(kind="EARNINGS", period=period)
    assert receipts.exists() and not receipts.filter(lease_id=broken_lease).exists()
    assert violations() == []

    monkeypatch.undo()
    weekly_close(period=period)
    assert dump() == reference
    assert EarningsClose.objects.get(period=period).completed_at is not None
    # The rerun resumed the set: only the failed shard was done by it.
    rerun = JobRun.objects.get(job=CLOSE_EARNINGS, period=period, status=JobRun.Status.SUCCEEDED)
    assert list(earnings.filter(run=rerun).values_list("pk", flat=True)) == [failed.pk]
    assert violations() == []


def test_a_helper_task_works_only_while_its_step_runs():
    period = dt.date(2025, 10, 5)
    job = "leases.post_due_installments"
    generation = shards.shard_set(job, period)
    (shard,) = Shard.objects.filter(job=job, period=period, generation=generation)
    arguments = {"job": job, "period": period.isoformat(), "generation": generation, "run_id": None, "actor_id": None}

    # No process holds the step's lock: its run ended (or died, and its next run will resume).
    assert shard_helper_task(**arguments) == 0
    shard.refresh_from_db()
    assert shard.done_at is None

    # Another session runs the step (holds its lock): the helper takes the free shard.
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [lock_key(job, period)])
        assert shard_helper_task(**arguments) == 1
    shard.refresh_from_db()
    assert shard.done_at is not None and shard.count == 0


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
def test_lease_ranges_cover_every_lease_once_in_ranges_of_size(size):
    world(leases=7)
    ids = list(Lease.objects.order_by("pk").values_list("pk", flat=True))
    ranges = shards.lease_ranges(size)

    assert ranges[0][0] == 0 and ranges[-1][1] == shards.LAST_LEASE_ID
    assert all(hi + 1 == next_lo for (_, hi), (next_lo, _) in zip(ranges, ranges[1:], strict=False))
    per_range = [[pk for pk in ids if lo <= pk <= hi] for lo, hi in ranges]
    assert [len(members) for members in per_range] == [len(ids[n : n + size]) for n in range(0, len(ids), size)]
    assert sum(per_range, []) == ids
