"""A real worker process runs a task sent through a real broker."""

import os
import subprocess
import sys

import pytest
from celery import Celery
from django.conf import settings

from batpay.testing import need_service

REDIS_URL = (
    os.environ.get("CELERY_BROKER_URL", "")
    if os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
    else "redis://127.0.0.1:6379/15"
)


def _start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "batpay",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def _round_trip(broker: str, backend: str, env: dict, transport_options: dict | None = None) -> None:
    # Not the current app: tasks other tests queue must keep going to the project app.
    client = Celery("batpay-test", broker=broker, backend=backend, set_as_current=False)
    if transport_options:
        client.conf.broker_transport_options = transport_options
    worker = _start_worker(env)
    try:
        result = client.send_task("batpay.ping", args=["hello from the test"])
        assert result.get(timeout=60) == "hello from the test"
    except Exception:
        print(_stop(worker))  # the worker's own log explains most failures
        raise
    finally:
        if worker.poll() is None:
            _stop(worker)


def test_worker_runs_a_task_through_the_filesystem_broker(tmp_path, monkeypatch):
    # Celery's broker_url prefers the environment variable to the argument: clear it for our client.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    broker_dir = tmp_path / "broker"
    results = tmp_path / "results"
    for folder in (broker_dir / "queue", broker_dir / "processed", broker_dir / "control", results):
        folder.mkdir(parents=True)
    env = {
        **os.environ,
        "CELERY_BROKER_URL": "filesystem://",
        "BATPAY_BROKER_DIR": str(broker_dir),
        "CELERY_RESULT_BACKEND": f"file://{results}",
    }
    _round_trip(
        "filesystem://",
        f"file://{results}",
        env,
        {
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
        },
    )


@pytest.mark.services
def test_worker_runs_a_task_through_redis():
    need_service(REDIS_URL, "Redis")
    env = {**os.environ, "CELERY_BROKER_URL": REDIS_URL, "CELERY_RESULT_BACKEND": REDIS_URL}
    _round_trip(REDIS_URL, REDIS_URL, env)
