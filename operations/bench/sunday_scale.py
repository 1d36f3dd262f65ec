"""`manage.py bench sunday_scale --leases N --workers 1 2 --weeks K`: the whole Sunday on W real workers.

A fleet of N leases (seed_demo's, billed from the first week of its history), K weeks of history
(`operations.bench.history`), and the measured week's trips file (about 30 trips per lease)
imported. That database is then copied (`CREATE DATABASE … TEMPLATE …`) once per worker count W;
on each copy, W real worker processes (`celery -A batpay worker --pool prefork --concurrency 1`,
on the configured broker — Redis when CELERY_BROKER_URL says so, else the file-system transport —
on a queue of their own) run the Sunday as the schedule queues it: the posting tasks, then
`ledger.weekly_close`, then the DTR PDFs the close queues, until every DTR of the week has its PDF.

The figures come from what the run itself recorded — each job's JobRun (started, finished,
count) and each DTR's `generated_at` and `pdf_rendered_at` — so how the close spreads its work
over the workers is its own business. Printed per W: each step's seconds, rows, and rows per
second per worker; then the steps side by side with the speed-up of each W over the first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from celery import Celery
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.db.models import Count, Max, Min, Q, Sum

from batpay.periods import WEEK, last_closed_period, period_end
from ledger.selectors import postings as ledger_postings
from operations.bench import Report, benchmark
from operations.bench.history import seed_fleet, seed_history
from operations.bench.weekly import TRIPS_PER_LEASE, write_trips
from operations.models import JobRun
from operations.names import WEEKLY_CLOSE, job_label, posting_jobs
from statements.models import DriverTransactionReport as DTR
from statements.snapshots import leases_due_a_dtr
from statements.trips import import_trips

# A Sunday that stops moving (no job finished, no PDF rendered) for this long has hung.
STALL_SECONDS = 900
READY_SECONDS = 120
STOP_SECONDS = 30
PDF_STEP = "DTR PDFs"
SUNDAY = "the whole Sunday"
SUNDAY_NO_PDFS = "the whole Sunday but the PDFs"


# --- the fleet ------------------------------------------------------------------------------------


def _import_week(report: Report, fleet: list[tuple], period: dt.date) -> int:
    rng = random.Random(f"sunday-scale-{period}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trips.csv"
        written = write_trips(path, fleet, period, TRIPS_PER_LEASE, rng)
        started = time.perf_counter()
        with path.open("rb") as stream:
            batch = import_trips(stream=stream, file_name=path.name)
    report.rate(f"the week's trips file imported ({written:,} trips)", batch.imported, time.perf_counter() - started)
    return batch.imported


# --- the scratch database's copies ---------------------------------------------------------------


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _copy_database(template: str, copy: str) -> None:
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(copy)} WITH (FORCE)")
        for attempt in range(50):
            try:
                cursor.execute(f"CREATE DATABASE {_quoted(copy)} TEMPLATE {_quoted(template)}")
                return
            except OperationalError:
                # Another session (autovacuum, a closing connection) still on the template: it goes soon.
                if attempt == 49:
                    raise
                time.sleep(0.2)


def _drop_database(name: str) -> None:
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")


@contextlib.contextmanager
def _working_on(copy: str):
    """This process's connection works on `copy` for the block, then on the scratch database again."""
    template = connection.settings_dict["NAME"]
    _copy_database(template, copy)
    connection.settings_dict["NAME"] = copy
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = template
        _drop_database(copy)


# --- the workers -----------------------------------------------------------------------------------


class Workers:
    """W worker processes on a queue of their own, working on one database; all stopped on leaving
    the block — finished, failed or interrupted (Ctrl-C, or SIGTERM to this process)."""

    def __init__(self, *, count: int, database: str, folder: Path) -> None:
        self.count = count
        self.queue = f"batpay-bench-{uuid.uuid4().hex[:10]}"
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.broker = settings.CELERY_BROKER_URL
        self.redis = self.broker.startswith(("redis://", "rediss://"))
        env = {
            "BATPAY_DB_NAME": database,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "MEDIA_ROOT": str(folder / "media"),
        }
        if self.broker.startswith("filesystem://"):
            broker = folder / "broker"
            for sub in ("queue", "processed", "control"):
                (broker / sub).mkdir(parents=True)
            (folder / "results").mkdir()
            env |= {
                "CELERY_BROKER_URL": "filesystem://",
                "BATPAY_BROKER_DIR": str(broker),
                "CELERY_RESULT_BACKEND": f"file://{folder / 'results'}",
            }
            self.client = Celery("batpay-bench", broker="filesystem://", set_as_current=False)
            self.client.conf.broker_transport_options = {
                "data_folder_in": str(broker / "queue"),
                "data_folder_out": str(broker / "queue"),
                "processed_folder": str(broker / "processed"),
                "control_folder": str(broker / "control"),
            }
        else:
            env |= {"CELERY_BROKER_URL": self.broker, "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND}
            self.client = Celery("batpay-bench", broker=self.broker, set_as_current=False)
        self.env = {**os.environ, **env}
        self._previous_sigterm = None

    def __enter__(self) -> Workers:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and _main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        try:
            for n in range(self.count):
                self.processes.append(self._start(n))
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _log(self, n: int) -> Path:
        return self.folder / f"worker-{n + 1}.log"

    def _start(self, n: int) -> subprocess.Popen:
        with self._log(n).open("w") as log:
            # Its own session: Ctrl-C reaches this process only, which stops the workers in order,
            # and the whole group (the pool's child included) can be signalled at once.
            return subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "batpay", "worker",
                    "--pool", "prefork", "--concurrency", "1",
                    "--queues", self.queue,
                    "--hostname", f"{self.queue}-{n + 1}@%h",
                    "--without-heartbeat", "--without-gossip", "--without-mingle",
                    "--loglevel", "info",
                ],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            self.check_alive()
            if all(" ready." in self._log(n).read_text() for n in range(self.count)):
                return
            time.sleep(0.2)
        raise CommandError(f"The workers were not ready after {READY_SECONDS} s.\n{self.log_tail()}")

    def send(self, task: str, **kwargs) -> None:
        self.client.send_task(task, kwargs=kwargs, queue=self.queue)

    def check_alive(self) -> None:
        dead = [n + 1 for n, proc in enumerate(self.processes) if proc.poll() is not None]
        if dead:
            raise CommandError(f"Worker {', '.join(map(str, dead))} stopped on its own.\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for n in range(len(self.processes)):
            text = self._log(n).read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"--- worker {n + 1} ---\n" + "\n".join(text))
        return "\n".join(tails)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM: the current task finishes), then SIGKILL to what is left of each
        worker's process group; returns once every process of every group is gone."""
        for proc in self.processes:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.processes:
            _kill_group(proc)
        if self.redis:
            self._forget_queue()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def _forget_queue(self) -> None:
        """Leave nothing of the queue in Redis (an unacknowledged message would come back an hour later)."""
        import redis

        server = redis.Redis.from_url(self.broker)
        for tag, raw in server.hscan_iter("unacked"):
            if json.loads(raw)[-1] == self.queue:
                server.hdel("unacked", tag)
                server.zrem("unacked_index", tag)
        server.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.processes]


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL whatever of the worker's process group still runs (a pool child whose parent died)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait()
    deadline = time.monotonic() + 5
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- one Sunday ------------------------------------------------------------------------------------


@dataclass
class Step:
    label: str
    seconds: float
    rows: int
    unit: str = "rows"
    started: dt.datetime | None = None


@dataclass
class Sunday:
    workers: int
    steps: list[Step] = field(default_factory=list)
    fingerprint: tuple = ()

    def step(self, label: str) -> Step | None:
        return next((step for step in self.steps if step.label == label), None)


class Progress:
    """A progress line now and then while the Sunday runs, and a hang detector."""

    def __init__(self, report: Report, workers: int) -> None:
        self.report = report
        self.workers = workers
        self.started = time.monotonic()
        self.last_change = self.started
        self.last_line = 0.0
        self.state: tuple = ()

    def see(self, state: tuple, text: str) -> None:
        now = time.monotonic()
        if state != self.state:
            self.state, self.last_change = state, now
        if now - self.last_line >= 5:
            self.last_line = now
            self.report.write(f"    W={self.workers}: {text} ({now - self.started:.0f} s)")
        if now - self.last_change > STALL_SECONDS:
            raise CommandError(f"Nothing moved for {STALL_SECONDS} s: {text}.")


def _failed(period: dt.date) -> None:
    failed = JobRun.objects.filter(period=period, status=JobRun.Status.FAILED).first()
    if failed:
        raise CommandError(f"{job_label(failed.job)} failed:\n{failed.errors[-3000:]}")


def _run_sunday(report: Report, pool: Workers, period: dt.date, *, pdfs: bool = True) -> None:
    progress = Progress(report, pool.count)
    jobs = posting_jobs()
    for job in jobs:
        pool.send(job, period=period.isoformat())
    while True:
        pool.check_alive()
        _failed(period)
        done = JobRun.objects.filter(period=period, job__in=jobs, status=JobRun.Status.SUCCEEDED)
        finished = done.order_by().values("job").distinct().count()
        if finished == len(jobs):
            break
        progress.see((finished, done.aggregate(n=Sum("count"))["n"]), f"{finished} of {len(jobs)} posting jobs done")
        time.sleep(0.2)
    # However the close spreads its work (a close that only dispatches tasks may finish first), the
    # Sunday is over when every lease due a DTR has one and every DTR its PDF.
    # Without PDFs (`--no-pdfs`) it is over when the close is: the PDFs it queues are not waited for.
    due = len(leases_due_a_dtr(period=period))
    pool.send(WEEKLY_CLOSE, period=period.isoformat(), pdfs=pdfs)
    announced = False
    while True:
        pool.check_alive()
        _failed(period)
        closed = JobRun.objects.filter(period=period, job=WEEKLY_CLOSE, status=JobRun.Status.SUCCEEDED).exists()
        counts = DTR.objects.filter(period=period).aggregate(
            dtrs=Count("pk"), pdfs=Count("pk", filter=Q(pdf_rendered_at__isnull=False) & ~Q(pdf=""))
        )
        if closed and counts["dtrs"] >= due and (counts["pdfs"] == counts["dtrs"] or not pdfs):
            break
        if closed and not announced:
            announced = True
            steps = ", ".join(f"{step.label} {step.seconds:.1f} s" for step in _job_steps(period))
            report.write(f"    W={pool.count}: closed — {steps}; the PDFs go on")
        steps = JobRun.objects.filter(period=period, job__startswith=f"{WEEKLY_CLOSE}.").values_list("job", "status")
        running = [job_label(job) for job, status in steps if status == JobRun.Status.RUNNING]
        text = f"{'closed' if closed else (', '.join(running) or 'weekly close queued')}; "
        text += f"{counts['pdfs']:,} of {counts['dtrs']:,} PDFs"
        progress.see((closed, len(steps), counts["dtrs"], counts["pdfs"]), text)
        time.sleep(0.2)


def _job_steps(period: dt.date) -> list[Step]:
    """Each job of the period that has finished: from its first run's start to its last run's end."""
    runs = (
        JobRun.objects.filter(period=period, status=JobRun.Status.SUCCEEDED)
        .values("job")
        .annotate(first=Min("started_at"), last=Max("finished_at"), rows=Sum("count"))
        .order_by("first")
    )
    leases = DTR.objects.filter(period=period).count()
    return [
        Step(job_label(run["job"]), (run["last"] - run["first"]).total_seconds(), leases, "leases", run["first"])
        if run["job"] == WEEKLY_CLOSE
        else Step(
            job_label(run["job"]), (run["last"] - run["first"]).total_seconds(), run["rows"] or 0, "rows", run["first"]
        )
        for run in runs
    ]


def _figures(workers: int, period: dt.date, media: Path, *, pdfs: bool = True) -> Sunday:
    """Each step's time and rows from what the run recorded (JobRuns, DTR timestamps). Without
    `pdfs` the Sunday ends with the close, and the PDFs a worker drew meanwhile are not counted."""
    sunday = Sunday(workers=workers, steps=_job_steps(period))
    dtrs = DTR.objects.filter(period=period)
    drawn = dtrs.aggregate(n=Count("pk"), first=Min("generated_at"), last=Max("pdf_rendered_at"))
    closed = JobRun.objects.filter(period=period, status=JobRun.Status.SUCCEEDED).aggregate(last=Max("finished_at"))
    start = min(step.started for step in sunday.steps if step.started)
    end = closed["last"]
    if pdfs:
        # PDFs are queued as the DTRs commit, so they may overlap the close: from the first DTR to the last PDF.
        sunday.steps.append(Step(PDF_STEP, (drawn["last"] - drawn["first"]).total_seconds(), drawn["n"], "PDFs"))
        end = max(drawn["last"], end)
    sunday.steps.append(Step(SUNDAY if pdfs else SUNDAY_NO_PDFS, (end - start).total_seconds(), drawn["n"], "leases"))
    missing = [name for name in dtrs.exclude(pdf="").values_list("pdf", flat=True) if not (media / name).is_file()]
    if missing:
        raise CommandError(f"{len(missing)} DTR PDFs recorded but not stored, e.g. {missing[0]}.")
    postings = ledger_postings().aggregate(
        n=Count("pk"),
        debits=Sum("amount", filter=Q(entry_type="DEBIT")),
        credits=Sum("amount", filter=Q(entry_type="CREDIT")),
    )
    due = dtrs.aggregate(due=Sum("total_due_to_driver"), carried=Sum("balance_carried_forward"))
    sunday.fingerprint = (
        postings["n"], postings["debits"], postings["credits"], drawn["n"], due["due"], due["carried"]
    )  # fmt: skip
    return sunday


def _per_second(rows: int, seconds: float, workers: int) -> str:
    """Rows per second per worker, with the decimals a slow step (PDFs) needs to be read."""
    rate = rows / seconds / workers if seconds else float("inf")
    return f"{rate:,.2f}" if rate < 10 else f"{rate:,.0f}"


def _print_sunday(report: Report, sunday: Sunday) -> None:
    report.write(f"  W={sunday.workers} worker{'s' if sunday.workers > 1 else ''}:")
    for step in sunday.steps:
        per_worker = _per_second(step.rows, step.seconds, sunday.workers)
        report.line(
            f"  {step.label}",
            f"{step.seconds:8.2f} s {step.rows:>9,} {step.unit:<6} {per_worker:>9} per s per worker",
        )
    whole = sunday.step(SUNDAY) or sunday.step(SUNDAY_NO_PDFS)
    if whole and whole.seconds:
        report.line(
            f"  leases closed per minute per worker, PDFs {'included' if whole.label == SUNDAY else 'left out'}",
            f"{whole.rows / whole.seconds * 60 / sunday.workers:,.0f}",
        )


def _side_by_side(report: Report, sundays: list[Sunday]) -> None:
    base = sundays[0]
    head = "".join(f"{f'W={s.workers} s':>10}{'/s/worker':>11}" for s in sundays)
    head += "".join(f"{f'×{s.workers}/{base.workers}':>9}" for s in sundays[1:])
    report.write(f"  {'side by side':<44}{head}")
    for step in base.steps:
        cells, speedups = "", ""
        for sunday in sundays:
            found = sunday.step(step.label)
            if found is None:
                cells += f"{'–':>10}{'–':>11}"
                continue
            cells += f"{found.seconds:>10.2f}{_per_second(found.rows, found.seconds, sunday.workers):>11}"
        for sunday in sundays[1:]:
            found = sunday.step(step.label)
            speedups += f"{step.seconds / found.seconds:>9.2f}" if found and found.seconds else f"{'–':>9}"
        report.write(f"  {step.label[:44]:<44}{cells}{speedups}")
    same = all(sunday.fingerprint == base.fingerprint for sunday in sundays)
    report.line(
        "the same ledger and DTR totals with every worker count",
        "yes" if same else "NO: " + "; ".join(f"W={s.workers} {s.fingerprint}" for s in sundays),
    )


@benchmark("sunday_scale")
def sunday_scale_benchmark(report: Report) -> None:
    leases = report.leases or report.n(10_000)
    weeks = report.weeks
    period = last_closed_period()
    first = period - weeks * WEEK
    report.line(
        "measured week",
        f"{period} – {period_end(period)}; {leases:,} leases, {weeks} weeks of history, "
        f"workers {' and '.join(map(str, report.workers))}, broker {settings.CELERY_BROKER_URL.split('://')[0]}"
        + ("" if report.pdfs else "; PDFs left out (--no-pdfs)"),
    )
    fleet = seed_fleet(report, leases=leases, period=period, billed_from=first)
    seed_history(report, weeks=weeks, through=period - WEEK)
    _import_week(report, fleet, period)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    scratch = connection.settings_dict["NAME"]
    sundays = []
    for count in report.workers:
        copy = f"{scratch}_w{count}"
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="batpay-sunday-") as folder, _working_on(copy):
            copied = time.perf_counter() - started
            report.write(f"  W={count}: a fresh copy of the database ({copied:.1f} s); starting the workers …")
            with Workers(count=count, database=copy, folder=Path(folder)) as pool:
                report.write(
                    f"    W={count}: workers ready (pids {' '.join(map(str, pool.pids()))}), the Sunday queued"
                )
                _run_sunday(report, pool, period, pdfs=report.pdfs)
            sunday = _figures(count, period, Path(folder) / "media", pdfs=report.pdfs)
            call_command("check_ledger", stdout=io.StringIO())
        _print_sunday(report, sunday)
        sundays.append(sunday)
    _side_by_side(report, sundays)
