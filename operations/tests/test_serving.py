"""Serving (docs/rules.md, "Serving"): `manage.py serve` runs gunicorn with static files by WhiteNoise,
and `check --deploy` is clean under the production environment the README gives — tested on that
environment as the README writes it, and on a live gunicorn in production mode."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from operations.management.commands import serve

README = Path(settings.BASE_DIR) / "README.md"
PLACEHOLDER = "…"
# What an operator may have set in this shell that would change what is checked.
OPERATOR_SETTINGS = {
    "BATPAY_PRODUCTION",
    "BATPAY_DB_NAME",
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "TRUSTED_PROXY_COUNT",
    "STATIC_ROOT",
    "DJANGO_SETTINGS_MODULE",
}


def readme_production_environment() -> dict[str, str]:
    """The variables of the first shell block of the README's "Production" section."""
    text = README.read_text()
    section = text[text.index("\n## Production\n") :]
    section = section[: section.index("\n## ", 1)]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's Production section has no ```sh block"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    exports = [re.fullmatch(r"export (\w+)=(\S+)", line) for line in lines]
    assert all(exports), f"the block should hold only `export NAME=value` lines: {lines}"
    return {match.group(1): match.group(2) for match in exports}


def production_environment(**extra: str) -> dict[str, str]:
    """This process's environment with the README's production variables on top; the one placeholder
    the README leaves, SECRET_KEY and PAYOUT_ENCRYPTION_KEYS, get real keys."""
    readme = readme_production_environment()
    assert {name for name, value in readme.items() if value == PLACEHOLDER} == {"SECRET_KEY", "PAYOUT_ENCRYPTION_KEYS"}
    readme["SECRET_KEY"] = secrets.token_urlsafe(50)
    readme["PAYOUT_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "LOGIN_")) and key not in OPERATOR_SETTINGS
    }
    return {**inherited, **readme, **extra}


def manage(*arguments: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- check --deploy ---------------------------------------------------------------------------------


def test_check_deploy_is_clean_under_the_readmes_production_environment():
    readme = readme_production_environment()

    clean = manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())

    assert readme["BATPAY_PRODUCTION"] == "1"
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= set(readme)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "System check identified no issues (0 silenced)." in clean.stdout
    assert "WARNING" not in clean.stderr


def test_without_the_production_switch_check_deploy_warns():
    environment = production_environment()
    del environment["BATPAY_PRODUCTION"]

    warned = manage("check", "--deploy", "--fail-level", "WARNING", env=environment)

    assert warned.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in warned.stderr, warned.stderr


def test_production_refuses_to_start_without_a_secret_key():
    environment = production_environment()
    del environment["SECRET_KEY"]

    refused = manage("check", env=environment)

    assert refused.returncode != 0
    assert "BATPAY_PRODUCTION=1 needs SECRET_KEY" in refused.stderr


# --- manage.py serve ---------------------------------------------------------------------------------


def test_the_web_process_is_gunicorn_on_the_wsgi_application():
    command = serve.web_command("0.0.0.0", 8123, workers=3)

    assert command[:4] == [sys.executable, "-m", "gunicorn", "batpay.wsgi"]
    assert command[command.index("--bind") + 1] == "0.0.0.0:8123"
    assert command[command.index("--workers") + 1] == "3"
    assert "runserver" not in command


class _Exited:
    """A process that has already ended: serve stops at once."""

    returncode = 0

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0


@pytest.mark.django_db
def test_serve_collects_the_static_files_then_starts_gunicorn_a_worker_and_beat(monkeypatch):
    steps: list[str] = []
    started: list[list[str]] = []
    monkeypatch.setattr(serve, "call_command", lambda name, *args, **kwargs: steps.append(name))
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)  # keep pytest's own Ctrl-C

    def popen(command, **kwargs):
        started.append(command)
        steps.append("start")
        return _Exited()

    monkeypatch.setattr(serve.subprocess, "Popen", popen)

    call_command("serve", "--port", "8124", "--demo-leases", "0", "--web-workers", "2")

    assert steps == ["migrate", "setup_schedules", "collectstatic", "start", "start", "start"]
    web, worker, beat = started
    assert web == serve.web_command("127.0.0.1", "8124", workers=2)
    assert worker[1:5] == ["-m", "celery", "-A", "batpay"] and "worker" in worker
    assert beat[1:5] == ["-m", "celery", "-A", "batpay"] and "beat" in beat


# --- a live gunicorn in production mode ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": "127.0.0.1", **headers})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


@pytest.mark.django_db
def test_gunicorn_serves_the_admin_and_whitenoise_the_static_files_over_https_only(tmp_path):
    environment = production_environment(
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path / "static"),
        BATPAY_DB_NAME=connection.settings_dict["NAME"],  # the test database, on the server the tests use
        CONN_MAX_AGE="0",
        LOG_LEVEL="WARNING",
    )
    if os.environ.get("DATABASE_URL"):
        environment["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:
        del environment["DATABASE_URL"]  # the embedded server the tests run on
    # The admin's own files only: compressing the API docs' bundles and the vendored scripts takes
    # half a minute (test_every_static_file_survives_the_production_manifest covers them all).
    ignored = ["drf_spectacular_sidecar", "rest_framework", "import_export", "vendor"]
    collected = manage("collectstatic", "--noinput", *(f"--ignore={name}" for name in ignored), env=environment)
    assert collected.returncode == 0, collected.stderr
    port = _free_port()
    web = subprocess.Popen(
        serve.web_command("127.0.0.1", port, workers=1),
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = _get(port, "/admin/login/", **{"X-Forwarded-Proto": "https"})
                break
            except OSError:
                assert web.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.2)
        plain = _get(port, "/admin/login/")
        metrics = _get(port, "/metrics")  # Prometheus scrapes gunicorn directly, over plain HTTP
        stylesheet = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.body)
        assert stylesheet, login.body[:2000]
        static = _get(port, stylesheet.group(1).decode(), **{"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"})
    finally:
        web.terminate()
        try:
            output, _ = web.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            web.kill()
            output, _ = web.communicate()

    assert login.status == 200, output
    assert b'name="csrfmiddlewaretoken"' in login.body
    assert login.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    assert "Secure" in login.getheader("Set-Cookie", "")
    assert plain.status == 301
    assert plain.getheader("Location") == "https://127.0.0.1/admin/login/"
    assert metrics.status == 200
    assert b"batpay_up 1.0" in metrics.body
    assert static.status == 200
    assert static.getheader("Content-Encoding") == "gzip"
    assert "immutable" in static.getheader("Cache-Control")
    assert "gunicorn" in static.getheader("Server", "")


def test_every_static_file_survives_the_production_manifest(settings, tmp_path):
    """What `collectstatic` does in production bar the compression: every reference inside a CSS or
    JS file (url(), source maps) must name a file that exists, or the release fails there."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }

    call_command("collectstatic", interactive=False, verbosity=0)

    manifest = (tmp_path / "staticfiles.json").read_text()
    assert '"admin/css/base.css"' in manifest
    assert '"drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"' in manifest
