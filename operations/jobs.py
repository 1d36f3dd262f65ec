"""The scheduled jobs (SPEC §6): recorded, locked runs per job and period, and the weekly close.

Every run of a job — by a Celery worker, a `manage.py` command or the weekly close — goes through
`run_job`, which

- takes a PostgreSQL advisory lock per (job, period) for as long as the run lasts. It is a
  session lock, not a transaction lock, because the posting jobs commit shard by shard; the
  server releases it when the session ends, so a killed worker never leaves it behind. A second
  copy of the job waits for the first and then finds nothing left to do;
- records a `JobRun`: RUNNING (committed at once, so the admin shows it), then SUCCEEDED with
  what the work returned or FAILED with the error. A run still RUNNING when the lock is next
  taken belongs to a process that died; that run is marked INTERRUPTED and the new run finishes
  the work, which every job does exactly once because every job is idempotent.

Jobs run outside any transaction (the JobRun row and the posting batches each commit on their own);
a call from inside `transaction.atomic` is refused with RuntimeError.

The weekly close (`weekly_close`, task `ledger.weekly_close`) first makes sure each posting job
(every plan source's, and the charges' of `CHARGE_JOBS`) has a completed run for the period,
running those that have not, then runs every registered close step in order
(`statements.close.CLOSE_STEPS`), each as its own locked, recorded run. A
step is called as `fn(period=<date>, actor=<user or None>, progress=<callable(total, done) or
None>)`, returns a `StepResult` and must be idempotent.

The plan sources' posting jobs and every close step registered with `sharded` work in shards over
ranges of leases (`operations.shards`): the run's process cuts and shares them with helper tasks
on every free worker (`operations.work_on_shards`), keeping the step's lock and JobRun.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from celery import current_task
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from batpay.metrics import collector
from batpay.money import to_money
from batpay.periods import last_closed_period, not_to_come, parse_period, period_start
from batpay.steps import CloseStep, Progress, ShardedWork, StepResult
from deposits.services import release_due_deposits
from operations import shards
from operations.models import JobRun
from operations.names import (
    CHARGE_JOBS,
    PREPARE_PAYOUTS,
    WEEKLY_CLOSE,
    close_steps,
    posting_job,
    posting_jobs,
    step_job,
)
from payouts.services import prepare_run
from plans.services import post_due_installments_of_leases
from plans.source import get_source, registered_sources
from statements.close import PDF_STEP
from statements.tasks import queue_period_pdfs

logger = logging.getLogger("operations.jobs")

DEPOSIT_RELEASE = "deposits.release_due"
INTERRUPTED_NOTE = (
    "The process running this job stopped before it finished (killed, or its machine went down). "
    "What it committed stays; the run that marked it interrupted completed the rest."
)


# --- who runs a job ------------------------------------------------------------------------------

_trigger: ContextVar[str | None] = ContextVar("batpay_job_trigger", default=None)
_parent: ContextVar[JobRun | None] = ContextVar("batpay_job_parent", default=None)


@contextmanager
def triggered_by(trigger: str) -> Iterator[None]:
    """Record the runs started inside the block as started by `trigger` (a command says COMMAND)."""
    token = _trigger.set(trigger)
    try:
        yield
    finally:
        _trigger.reset(token)


def _origin() -> tuple[str, str]:
    task = current_task
    task_id = (getattr(task.request, "id", None) or "") if task else ""
    explicit = _trigger.get()
    if explicit:
        return explicit, task_id
    return (JobRun.Trigger.TASK if task_id else JobRun.Trigger.CALL), task_id


# --- the lock and the record ---------------------------------------------------------------------


def lock_key(job: str, period: dt.date) -> int:
    """A signed 64-bit key for pg_advisory_lock, the same in every process."""
    digest = hashlib.blake2b(f"{job}|{period.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def job_lock(job: str, period: dt.date) -> Iterator[None]:
    """Hold the (job, period) advisory lock of this database session, waiting for another holder."""
    key = lock_key(job, period)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        except DatabaseError:
            # The session is gone (or its transaction broken) — and a lost session's locks go with it.
            logger.warning("job lock not released explicitly", extra={"job": job, "period": period.isoformat()})


def run_job(
    *,
    job: str,
    period: dt.date,
    work: Callable[[Progress | None], StepResult],
    actor=None,
    progress: Progress | None = None,
) -> JobRun:
    """Run `work(progress)` as `job` for `period`: locked, recorded, and re-raised if it fails."""
    trigger, task_id = _origin()
    with job_lock(job, period):
        now = timezone.now()
        with transaction.atomic(durable=True):
            JobRun.objects.filter(job=job, period=period, status=JobRun.Status.RUNNING).update(
                status=JobRun.Status.INTERRUPTED, finished_at=now, errors=INTERRUPTED_NOTE
            )
            run = JobRun.objects.create(
                job=job,
                period=period,
                trigger=trigger,
                parent=_parent.get(),
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                task_id=task_id,
                host=f"{socket.gethostname()}:{os.getpid()}"[:128],
                started_at=now,
            )
        token = _parent.set(run)
        try:
            result = work(progress)
            if not isinstance(result, StepResult):
                raise TypeError(f"job {job} returned {type(result).__name__}, not a StepResult")
        except BaseException:
            _finish_failed(run, traceback.format_exc())
            raise
        finally:
            _parent.reset(token)
        _finish(run, status=JobRun.Status.SUCCEEDED, result=result)
    logger.info(
        "job finished",
        extra={"job": job, "period": period.isoformat(), "count": run.count, "amount": str(run.amount)},
    )
    return run


def _finish(run: JobRun, *, status: str, result: StepResult | None = None, errors: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.errors = errors
    if result is not None:
        run.count = result.count
        run.amount = to_money(result.amount)
        run.details = result.details
    JobRun.objects.filter(pk=run.pk).update(
        status=run.status,
        finished_at=run.finished_at,
        errors=run.errors,
        count=run.count,
        amount=run.amount,
        details=run.details,
    )


def _finish_failed(run: JobRun, errors: str) -> None:
    try:
        _finish(run, status=JobRun.Status.FAILED, errors=errors[-20000:])
    except DatabaseError:
        # Recording the failure must not hide the failure itself; the row stays RUNNING and the
        # next run marks it INTERRUPTED.
        logger.exception("could not record a failed job run", extra={"job": run.job})


def completed_run(job: str, period: dt.date) -> JobRun | None:
    return (
        JobRun.objects.filter(job=job, period=period, status=JobRun.Status.SUCCEEDED).order_by("-finished_at").first()
    )


# --- the jobs ------------------------------------------------------------------------------------


def posting_work(source: str, *, prepared: dict | None = None) -> ShardedWork:
    """A plan source's weekly posting in shards: each shard posts the due installments of its
    leases' plans in the transaction that marks it done; the run counts what it posted."""
    plan_source = get_source(source)

    def shard(*, period: dt.date, lease_range: tuple[int, int], actor=None) -> StepResult:
        summary = post_due_installments_of_leases(
            source=plan_source, period=period, lease_range=lease_range, actor=actor
        )
        return StepResult(count=summary.installments, amount=summary.amount)

    def finish(*, period: dt.date, actor=None, shards, ran) -> StepResult:
        return StepResult(
            count=sum(result.count for result in ran),
            amount=sum((to_money(result.amount) for result in ran), to_money(0)),
            details={"source": source, **(prepared or {})},
        )

    return ShardedWork(shard=shard, finish=finish)


def run_posting_job(
    *,
    source: str,
    period: dt.date,
    actor=None,
    progress: Progress | None = None,
    batch_size: int | None = None,
    shard_leases: int | None = None,
) -> JobRun:
    """A plan source's weekly posting for `period` (SPEC §4's rule), as a recorded, locked run, in
    shards of `shard_leases` leases (default CLOSE_SHARD_LEASES) shared with every free worker.
    `batch_size` is no longer used (a shard is one transaction); it is accepted for old callers."""
    plan_source = get_source(source)
    job = posting_job(source)

    def work(progress: Progress | None) -> StepResult:
        prepared = plan_source.prepare_posting(period=period, actor=actor)
        return _sharded(job, period, posting_work(source, prepared=prepared), actor, progress, shard_leases)

    return run_job(job=job, period=period, work=work, actor=actor, progress=progress)


def _sharded(
    job: str,
    period: dt.date,
    work: ShardedWork,
    actor,
    progress: Progress | None,
    shard_leases: int | None = None,
) -> StepResult:
    run = _parent.get()
    return shards.run_sharded(
        job=job,
        period=period,
        work=work,
        actor=actor,
        run_id=run.pk if run else None,
        progress=progress,
        shard_leases=shard_leases,
    )


def sharded_work(job: str) -> ShardedWork | None:
    """How a helper task works on a job's shards: a posting job's, or a sharded close step's."""
    for source in registered_sources():
        if job == posting_job(source.name):
            return posting_work(source.name)
    for step in close_steps():
        if job == step_job(step):
            return step.sharded
    return None


def step_running(job: str, period: dt.date) -> bool:
    """Whether a process holds the (job, period) lock now: a run of the step is alive."""
    key = lock_key(job, period)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            return True
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    return False


def shard_helper_task(*, job: str, period: str, generation: int, run_id: int | None, actor_id: int | None) -> int:
    """The body of the `operations.work_on_shards` task: the free shards of a step's set, no
    waiting — and only while the step's run is alive. A helper that comes after the run ended
    (one worker: it ran every shard itself) or died (its next run resumes the shards and counts
    them) does nothing."""
    if not step_running(job, parse_period(period)):
        return 0
    return shards.helper(
        job=job,
        period=parse_period(period),
        generation=generation,
        run_id=run_id,
        actor=task_actor(actor_id),
        lookup=sharded_work,
    )


def run_charge_job(*, job: str, period: dt.date, actor=None, progress: Progress | None = None) -> JobRun:
    """A job of CHARGE_JOBS for `period`, as a recorded, locked run."""
    _, work = CHARGE_JOBS[job]
    return run_job(
        job=job,
        period=period,
        work=lambda step_progress: work(period=period, actor=actor, progress=step_progress),
        actor=actor,
        progress=progress,
    )


def run_posting(*, job: str, period: dt.date, actor=None) -> JobRun:
    """Any posting job by its name: a plan source's or one of CHARGE_JOBS."""
    if job in CHARGE_JOBS:
        return run_charge_job(job=job, period=period, actor=actor)
    return run_posting_job(source=job.removesuffix(".post_due_installments"), period=period, actor=actor)


def _run_step(step: CloseStep, period: dt.date, actor, progress: Progress | None) -> StepResult:
    if step.sharded is None:
        return step.fn(period=period, actor=actor, progress=progress)
    return _sharded(step_job(step), period, step.sharded, actor, progress)


def weekly_close(*, period: dt.date, actor=None, progress: Progress | None = None, pdfs: bool = True) -> list[JobRun]:
    """Close `period`: the posting jobs that have no completed run for it, then every close step.
    Without `pdfs` the PDF step is left out and the period's DTRs without a PDF are queued for
    the workers to draw instead (the demo's history does so).

    Returns, in order, each posting job's completed run (found, or made now) and each step's run.
    `progress(total, done)` counts those jobs. A failing job stops the close (later steps need
    what it does) and is re-raised; running the close again resumes it.
    """
    runs: list[JobRun] = []

    def work(_progress: Progress | None) -> StepResult:
        done_before = {job: completed_run(job, period) for job in posting_jobs()}
        steps = [step for step in close_steps() if pdfs or step.name != PDF_STEP]
        total = sum(1 for run in done_before.values() if run is None) + len(steps)
        ran = 0
        if progress:
            progress(total, 0)
        for job, found in done_before.items():
            if found is None:
                found = run_posting(job=job, period=period, actor=actor)
                ran += 1
                if progress:
                    progress(total, ran)
            runs.append(found)
        for step in steps:
            if step.name == PDF_STEP and not pdfs:
                queue_period_pdfs(period)
                continue
            runs.append(
                run_job(
                    job=step_job(step),
                    period=period,
                    work=lambda step_progress, step=step: _run_step(step, period, actor, step_progress),
                    actor=actor,
                )
            )
            ran += 1
            if progress:
                progress(total, ran)
        return StepResult(
            count=ran,
            details={
                "jobs": [{"job": run.job, "run": run.pk, "status": run.status} for run in runs],
                "already_done": sorted(job for job, run in done_before.items() if run is not None),
            },
        )

    run_job(job=WEEKLY_CLOSE, period=period, work=work, actor=actor)
    return runs


def prepare_payouts(*, period: dt.date, actor=None, progress: Progress | None = None) -> JobRun:
    """The payout run of a closed period (`payouts.services.prepare_run`), as a locked, recorded run.
    Idempotent: a period whose run exists records that run and prepares nothing."""

    def work(progress: Progress | None) -> StepResult:
        run, created = prepare_run(period=period, actor=actor, progress=progress)
        return StepResult(
            count=run.payout_count if created else 0,
            amount=run.total if created else 0,
            details={"run": run.number, "created": created, "status": run.status, "carried": str(run.carried_total)},
        )

    return run_job(job=PREPARE_PAYOUTS, period=period, work=work, actor=actor, progress=progress)


def run_deposit_release(*, today: dt.date | None = None, actor=None, progress: Progress | None = None) -> JobRun:
    """The daily release of deposits whose hold has ended, as a recorded run locked per week (every
    run releases only what is still due, so a second run the same day finds nothing)."""
    day = today or timezone.localdate()

    def work(progress: Progress | None) -> StepResult:
        summary = release_due_deposits(today=day, actor=actor, progress=progress)
        return StepResult(
            count=summary.deposits,
            amount=summary.returned,
            details={"day": day.isoformat(), "returned": str(summary.returned), "applied": str(summary.applied)},
        )

    return run_job(job=DEPOSIT_RELEASE, period=period_start(day), work=work, actor=actor, progress=progress)


# --- what tasks call -----------------------------------------------------------------------------


def task_period(value: str | None) -> dt.date:
    """A task's `period` argument: a Sunday (YYYY-MM-DD), or by default the period that ended last night."""
    return not_to_come(parse_period(value)) if value else last_closed_period()


def task_actor(actor_id: int | None):
    return get_user_model().objects.filter(pk=actor_id).first() if actor_id else None


def charge_task(*, job: str, period: str | None, actor_id: int | None = None) -> dict:
    """The body of a CHARGE_JOBS task (`tolls.post_due`)."""
    run = run_charge_job(job=job, period=task_period(period), actor=task_actor(actor_id))
    return {"job": job, "period": run.period.isoformat(), "count": run.count, "amount": str(run.amount)}


def posting_task(
    *,
    source: str,
    period: str | None,
    actor_id: int | None = None,
    batch_size: int | None = None,
    shard_leases: int | None = None,
) -> dict:
    """The body of every `<source>.post_due_installments` task (`batch_size` is no longer used)."""
    run = run_posting_job(
        source=source, period=task_period(period), actor=task_actor(actor_id), shard_leases=shard_leases
    )
    return {"source": source, "period": run.period.isoformat(), "installments": run.count, "amount": str(run.amount)}


# --- the Sunday schedule in django-celery-beat -----------------------------------------------------

SCHEDULE_TIME_ZONE = "America/New_York"
# (task, hour, minute, entry name): every Sunday, New York time (SPEC §6).
SUNDAY_SCHEDULE: tuple[tuple[str, int, int, str], ...] = (
    ("leases.post_due_installments", 4, 0, "Sunday 04:00 post lease installments"),
    ("tolls.post_due", 4, 15, "Sunday 04:15 post tolls that fell due"),
    ("repairs.post_due_installments", 4, 30, "Sunday 04:30 post repair installments"),
    ("loans.post_due_installments", 4, 45, "Sunday 04:45 post loan installments"),
    ("deposits.post_due_installments", 4, 50, "Sunday 04:50 post deposit installments"),
    (WEEKLY_CLOSE, 5, 0, "Sunday 05:00 weekly close (taxes, earnings, DTRs)"),
    (PREPARE_PAYOUTS, 6, 0, "Sunday 06:00 prepare the payout run (a Controller approves it)"),
)

# (task, hour, minute, entry name): every day, New York time.
DAILY_SCHEDULE: tuple[tuple[str, int, int, str], ...] = (
    ("deposits.release_due", 3, 0, "Daily 03:00 release deposits whose hold has ended"),
)


def ensure_beat_schedule(*, using: str = "default") -> list[str]:
    """Create the Sunday entries that are missing; returns the tasks it added.

    An entry is looked up by its task, and one that exists is never changed: a time, an enabled
    flag or a name edited in the admin stays as edited. Only a deleted entry comes back (to stop
    a job, disable it).
    """
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    created = []
    entries = [(*entry, "0") for entry in SUNDAY_SCHEDULE] + [(*entry, "*") for entry in DAILY_SCHEDULE]
    for task, hour, minute, name, day_of_week in entries:
        if PeriodicTask.objects.using(using).filter(task=task).exists():
            continue
        try:
            with transaction.atomic(using=using):
                crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
                    minute=str(minute),
                    hour=str(hour),
                    day_of_week=day_of_week,
                    day_of_month="*",
                    month_of_year="*",
                    timezone=SCHEDULE_TIME_ZONE,
                )
                PeriodicTask.objects.using(using).create(
                    name=name,
                    task=task,
                    crontab=crontab,
                    description="Works on the period that ended the night before (no period argument).",
                )
        except IntegrityError:
            continue  # a concurrent migrate created it a moment ago
        created.append(task)
    return created


def ensure_beat_schedule_after_migrate(*, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: the schedule exists whenever the database is migrated (or flushed)."""
    from django_celery_beat.models import PeriodicTask

    database = connections[using]
    with database.cursor() as cursor:
        tables = database.introspection.table_names(cursor)
    if PeriodicTask._meta.db_table in tables:
        ensure_beat_schedule(using=using)


# --- metrics -------------------------------------------------------------------------------------


@collector
def job_metrics() -> Iterable[Metric]:
    duration = GaugeMetricFamily(
        "batpay_job_last_duration_seconds", "Duration of each job's latest finished run.", labels=["job", "status"]
    )
    success = GaugeMetricFamily(
        "batpay_job_last_success_timestamp_seconds", "When each job last finished successfully.", labels=["job"]
    )
    running = GaugeMetricFamily("batpay_jobs_running", "Job runs in progress, by job.", labels=["job"])
    # FAILED runs of the posting jobs are the posting failures an operator alerts on.
    runs = CounterMetricFamily("batpay_job_runs", "Recorded job runs, by job and outcome.", labels=["job", "status"])
    for job, status, count in JobRun.objects.order_by().values_list("job", "status").annotate(n=Count("pk")):
        runs.add_metric([job, status], count)
    latest = (
        JobRun.objects.exclude(status=JobRun.Status.RUNNING)
        .order_by("job", "-finished_at")
        .distinct("job")
        .values_list("job", "status", "started_at", "finished_at")
    )
    for job, status, started, finished in latest:
        duration.add_metric([job, status], (finished - started).total_seconds())
    succeeded = (
        JobRun.objects.filter(status=JobRun.Status.SUCCEEDED)
        .order_by("job", "-finished_at")
        .distinct("job")
        .values_list("job", "finished_at")
    )
    for job, finished in succeeded:
        success.add_metric([job], finished.timestamp())
    in_progress = (
        JobRun.objects.filter(status=JobRun.Status.RUNNING).order_by().values_list("job").annotate(n=Count("pk"))
    )
    for job, count in in_progress:
        running.add_metric([job], count)
    yield from (duration, success, running, runs)
