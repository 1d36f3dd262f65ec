"""The Sunday's fleet-wide steps in shards over ranges of leases, worked on by every worker.

A sharded step (`batpay.steps.ShardedWork`: the posting jobs, taxes and earnings, the DTRs, their
PDFs) runs as one locked, recorded run (`operations.jobs.run_job`), whose process

1. cuts the step's set of shards (`Shard` rows: ranges of lease ids, `CLOSE_SHARD_LEASES` leases
   each) — or resumes the set a killed or failed run left unfinished;
2. enqueues up to `CLOSE_HELPER_TASKS` helper tasks (`operations.work_on_shards`) on the queue
   it came from, so that every free worker, on any machine, joins in;
3. works on the shards itself: it takes each shard nobody holds, then waits for the ones others
   hold, and takes any a dead worker left (PostgreSQL released its lock with its session);
4. finishes the step once every shard is done.

A participant holds a shard with a session advisory lock (`pg_try_advisory_lock`), re-reads it,
and does its work; an atomic step's shard is marked done in the transaction of its work, so it
is done wholly once or not at all; a non-atomic step's work is idempotent and marked done
after. A helper never waits: it takes what is free and stops; the step's own process does
whatever is left. A helper works only while the step's run is alive (its process holds the
step's lock): one that comes after the run ended or died does nothing, and the run that resumes
a dead one's shards counts them. With one worker of concurrency 1 the step's process does every shard and the
helper tasks, run later, find nothing to do — nothing waits on a task that cannot run.

A shard that raises stays not done (the others are done); the step then fails naming it, and
the next run of the step resumes the set and does only what is left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable

from celery import current_app, current_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from batpay.money import to_money
from batpay.steps import Progress, ShardedWork, StepResult
from operations.models import Shard

logger = logging.getLogger("operations.shards")

HELPER_TASK = "operations.work_on_shards"
LAST_LEASE_ID = 2**63 - 1  # the last shard runs to the end, so a lease added later is in one


class ShardsFailed(RuntimeError):
    """Some shards of a step raised: the others are done, and the next run does what is left."""


def _key(pk: int) -> int:
    digest = hashlib.blake2b(f"shard|{pk}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _try_lock(pk: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(pk)])
        return cursor.fetchone()[0]


def _lock(pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_key(pk)])


def _unlock(pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(pk)])


def lease_ranges(size: int) -> list[tuple[int, int]]:
    """The fleet's lease ids in ranges of `size` leases; together they cover every id."""
    size = max(1, size)
    with connection.cursor() as cursor:
        # Only each range's first id leaves the server (every size-th lease, from the second range).
        cursor.execute(
            """
            SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM leases_lease) ordered
            WHERE n > %(size)s AND (n - 1) %% %(size)s = 0 ORDER BY id
            """,
            {"size": size},
        )
        starts = [0, *(row[0] for row in cursor.fetchall())]
    return [(lo, nxt - 1) for lo, nxt in zip(starts, starts[1:], strict=False)] + [(starts[-1], LAST_LEASE_ID)]


def shard_set(job: str, period: dt.date, *, resume_done: bool = False, size: int | None = None) -> int:
    """The generation of `job`'s shards for `period` to work on: the last set while it has shards
    not done (or always, with `resume_done`), else a new set cut now. Call it under the step's lock."""
    shards = Shard.objects.filter(job=job, period=period)
    latest = shards.aggregate(latest=Max("generation"))["latest"]
    if latest is not None and (resume_done or shards.filter(generation=latest, done_at__isnull=True).exists()):
        return latest
    generation = (latest or 0) + 1
    Shard.objects.bulk_create(
        Shard(job=job, period=period, generation=generation, lease_from=lo, lease_to=hi)
        for lo, hi in lease_ranges(size or settings.CLOSE_SHARD_LEASES)
    )
    return generation


def _undone(job: str, period: dt.date, generation: int) -> list[int]:
    return list(
        Shard.objects.filter(job=job, period=period, generation=generation, done_at__isnull=True)
        .order_by("lease_from")
        .values_list("pk", flat=True)
    )


def _mark_done(pk: int, result: StepResult, run_id: int | None) -> bool:
    return bool(
        Shard.objects.filter(pk=pk, done_at__isnull=True).update(
            done_at=timezone.now(),
            done_by=f"{socket.gethostname()}:{os.getpid()}"[:128],
            run_id=run_id,
            count=result.count,
            amount=to_money(result.amount),
            details=result.details,
        )
    )


def _run_one(pk: int, work: ShardedWork, *, period: dt.date, actor, run_id: int | None) -> bool:
    """Do one shard (its lock held by the caller) unless it is done; whether this call did it."""

    def do(shard: Shard) -> StepResult:
        result = work.shard(period=period, lease_range=(shard.lease_from, shard.lease_to), actor=actor)
        if not isinstance(result, StepResult):
            raise TypeError(f"the shard of {shard.job} returned {type(result).__name__}, not a StepResult")
        if shard.job in settings.CLOSE_SHARD_DELAY:
            time.sleep(settings.CLOSE_SHARD_DELAY[shard.job])  # tests: a window to kill the worker mid-shard
        return result

    if work.atomic:
        with transaction.atomic(durable=True):
            shard = Shard.objects.select_for_update().filter(pk=pk, done_at__isnull=True).first()
            if shard is None:
                return False
            return _mark_done(pk, do(shard), run_id)
    shard = Shard.objects.filter(pk=pk, done_at__isnull=True).first()
    if shard is None:
        return False
    result = do(shard)
    return _mark_done(pk, result, run_id)


def work_on_shards(
    *,
    job: str,
    period: dt.date,
    generation: int,
    work: ShardedWork,
    actor=None,
    run_id: int | None = None,
    wait: bool,
    progress: Progress | None = None,
) -> dict[int, str]:
    """Work on the set's shards: each one nobody holds, then (with `wait`) each one others hold,
    once they let go. Returns the shards that raised here → the error (they stay not done)."""
    attempted: set[int] = set()
    failures: dict[int, str] = {}
    total = Shard.objects.filter(job=job, period=period, generation=generation).count()

    def report() -> None:
        if progress:
            done = Shard.objects.filter(job=job, period=period, generation=generation, done_at__isnull=False).count()
            progress(total, done)

    def attempt(pk: int) -> None:
        attempted.add(pk)
        try:
            _run_one(pk, work, period=period, actor=actor, run_id=run_id)
        except Exception as error:  # noqa: BLE001 — the shard stays not done; the step reports it
            logger.exception("shard failed", extra={"job": job, "period": period.isoformat(), "shard": pk})
            failures[pk] = f"{type(error).__name__}: {error}"
        finally:
            _unlock(pk)
        report()

    report()
    for pk in _undone(job, period, generation):
        if _try_lock(pk):
            attempt(pk)
    while wait:
        pending = [pk for pk in _undone(job, period, generation) if pk not in attempted]
        if not pending:
            break
        for pk in pending:
            _lock(pk)  # until its holder finishes — or dies, and its session's locks go with it
            attempt(pk)
    return failures


def results(job: str, period: dt.date, generation: int) -> list[tuple[StepResult, int | None]]:
    """Every shard's result in the set, with the run that did it."""
    return [
        (StepResult(count=count, amount=amount, details=details), run_id)
        for count, amount, details, run_id in Shard.objects.filter(job=job, period=period, generation=generation)
        .order_by("lease_from")
        .values_list("count", "amount", "details", "run_id")
    ]


def _current_queue() -> str | None:
    request = getattr(current_task, "request", None) if current_task else None
    if not getattr(request, "id", None):
        return None
    return (getattr(request, "delivery_info", None) or {}).get("routing_key") or None


def enqueue_helpers(*, job: str, period: dt.date, generation: int, run_id: int | None, actor_id: int | None) -> int:
    """Ask up to CLOSE_HELPER_TASKS free workers to join in (no more than there are shards to
    share); returns how many tasks were sent. A broker that cannot take them is logged, not
    fatal: the step's own process does every shard."""
    undone = len(_undone(job, period, generation))
    count = min(settings.CLOSE_HELPER_TASKS, undone - 1)
    if count <= 0:
        return 0
    queue = _current_queue()
    kwargs = {
        "job": job,
        "period": period.isoformat(),
        "generation": generation,
        "run_id": run_id,
        "actor_id": actor_id,
    }
    try:
        for _ in range(count):
            current_app.send_task(HELPER_TASK, kwargs=kwargs, queue=queue, ignore_result=True)
    except Exception:  # noqa: BLE001 — helpers only speed the step up
        logger.warning("could not enqueue shard helpers", exc_info=True, extra={"job": job})
        return 0
    return count


def run_sharded(
    *,
    job: str,
    period: dt.date,
    work: ShardedWork,
    actor=None,
    run_id: int | None = None,
    progress: Progress | None = None,
    shard_leases: int | None = None,
) -> StepResult:
    """The whole step, from the process that holds its lock (see the module)."""
    if work.start is not None:
        finished = work.start(period=period, actor=actor)
        if finished is not None:
            return finished
    generation = shard_set(job, period, resume_done=work.resume_done, size=shard_leases)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    enqueue_helpers(job=job, period=period, generation=generation, run_id=run_id, actor_id=actor_id)
    failures = work_on_shards(
        job=job,
        period=period,
        generation=generation,
        work=work,
        actor=actor,
        run_id=run_id,
        wait=True,
        progress=progress,
    )
    if failures:
        ranges = dict(Shard.objects.filter(pk__in=failures).values_list("pk", "lease_from"))
        raise ShardsFailed(
            f"{len(failures)} shard(s) of {job} for {period} failed (the others are done; run the step again): "
            + "; ".join(f"leases from {ranges.get(pk)}: {error}" for pk, error in sorted(failures.items()))
        )
    shards = results(job, period, generation)
    return work.finish(
        period=period,
        actor=actor,
        shards=[result for result, _ in shards],
        ran=[result for result, by in shards if run_id is None or by == run_id],
    )


def helper(*, job: str, period: dt.date, generation: int, run_id: int | None, actor, lookup: Callable) -> int:
    """A helper task's work: the free shards of the set, no waiting; returns how many it did."""
    work = lookup(job)
    if work is None:
        logger.warning("no sharded step named %s", job)
        return 0
    before = len(_undone(job, period, generation))
    work_on_shards(job=job, period=period, generation=generation, work=work, actor=actor, run_id=run_id, wait=False)
    return max(0, before - len(_undone(job, period, generation)))
