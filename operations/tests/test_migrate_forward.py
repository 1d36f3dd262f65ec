"""Moving models between apps loses no row: a database made and used by the code of the commit
before the layout change migrates forward with every table, row and amount intact.

The old tree is `git archive`d into a temporary folder; a scratch database on the test server is
migrated and filled by that tree's own commands and services (migrate_forward_seed.py); then this
tree migrates it, checks the ledger, and every table of the old snapshot must still be there with
the same row count and the same sum of each numeric (money) column.

Needs git and the old commit (not a shallow clone): without them the test skips, or fails under
REQUIRE_SERVICES=1. It never touches the test database; it talks to a database of its own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

OLD_COMMIT = "4cdc31757969cc13a4dcfa7f6a89ed3cab5e7dcd"  # the last commit before the app-layout change
SEED_SCRIPT = Path(__file__).with_name("migrate_forward_seed.py")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").strip() in {"1", "true", "yes"}
COMMAND_TIMEOUT = 300  # seconds; a hung subprocess fails the test instead of the run

# Rows Django (re)derives from the code on migrate, or that do not belong to the product.
NOT_COMPARED = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group_permissions",
    "django_admin_log",
    "django_session",
    "authtoken_token",  # plain-text API tokens, dropped on purpose (batpay 0007: knox keeps digests)
}
NOT_COMPARED_PREFIXES = ("django_celery_beat_",)

# Tables the seed must have filled, or the comparison proves little.
MUST_HAVE_ROWS = (
    "ledger_posting",
    "ledger_obligationbalance",
    "ledger_receipt",
    "repairs_repairinvoice",
    "repairs_repairinstallment",
    "loans_loan",
    "loans_loaninstallment",
    "leases_leaseschedule",
    "leases_leaseinstallment",
    "ledger_trip",
    "ledger_tripimport",
    "ledger_tripimportrow",
    "ledger_earningsclose",
    "ledger_drivertransactionreport",
    "batpay_jobrun",
    "batpay_case",
)

Snapshot = dict[str, tuple[int, dict[str, Decimal | None]]]


def _unavailable(message: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (REQUIRE_SERVICES=1)")
    pytest.skip(message)


def _repo_root() -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / "manage.py").is_file():
            return folder
    raise AssertionError(f"no manage.py above {__file__}")


def _extract(root: Path, commit: str, into: Path) -> None:
    """`git archive <commit> | tar -x` of the repository at `root`; skip (or fail) without git or the commit."""
    git = shutil.which("git")
    if git is None:
        _unavailable("git is not installed: cannot extract the tree before the layout change")
    probe = subprocess.run(
        [git, "-C", str(root), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        _unavailable(
            f"commit {commit[:12]} is not in the repository at {root} (a shallow clone? no .git?): "
            f"{probe.stderr.strip()[:300]}"
        )
    into.mkdir(parents=True)
    archive = subprocess.Popen([git, "-C", str(root), "archive", commit], stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, capture_output=True)
    archive.stdout.close()
    assert archive.wait(timeout=COMMAND_TIMEOUT) == 0, f"git archive {commit} failed"
    assert untar.returncode == 0, f"tar -x failed: {untar.stderr.decode(errors='replace')}"
    assert (into / "manage.py").is_file(), f"no manage.py in the archive of {commit}"


# --- the server the tests use, and a scratch database on it -------------------------------------


def _server() -> dict[str, str]:
    db = settings.DATABASES["default"]
    if db.get("ENGINE") != "django.db.backends.postgresql":
        _unavailable(f"the test database is not PostgreSQL ({db.get('ENGINE')})")
    return {
        "host": str(db.get("HOST") or db.get("OPTIONS", {}).get("host") or ""),
        "port": str(db.get("PORT") or ""),
        "user": str(db.get("USER") or ""),
        "password": str(db.get("PASSWORD") or ""),
        "maintenance": str(db.get("NAME") or "postgres"),
    }


def _connect(server: dict[str, str], dbname: str) -> psycopg.Connection:
    params = {key: server[key] for key in ("host", "port", "user", "password") if server[key]}
    return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=10, **params)


def _admin_connection(server: dict[str, str]) -> psycopg.Connection:
    """A connection for CREATE/DROP DATABASE: the `postgres` database, else the configured one."""
    try:
        return _connect(server, "postgres")
    except psycopg.OperationalError:
        return _connect(server, server["maintenance"])


def _database_url(server: dict[str, str], name: str) -> str:
    """A DATABASE_URL dj-database-url reads; a unix-socket directory goes in `?host=` (its OPTIONS)."""
    user = quote(server["user"], safe="")
    if server["password"]:
        user += ":" + quote(server["password"], safe="")
    port = f":{server['port']}" if server["port"] else ""
    host = server["host"]
    if host.startswith("/"):
        return f"postgresql://{user}@{port}/{name}?host={quote(host, safe='')}"
    return f"postgresql://{user}@{host or 'localhost'}{port}/{name}"


# --- what the database holds ----------------------------------------------------------------------


def _compared(table: str) -> bool:
    return table not in NOT_COMPARED and not table.startswith(NOT_COMPARED_PREFIXES)


def _snapshot(server: dict[str, str], dbname: str) -> Snapshot:
    """table → (row count, {numeric column: SUM}) for every compared table of schema public."""
    with _connect(server, dbname) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        numeric: dict[str, list[str]] = {}
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = 'numeric' ORDER BY table_name, column_name"
        ):
            numeric.setdefault(table, []).append(column)
        snapshot: Snapshot = {}
        for table in filter(_compared, tables):
            columns = numeric.get(table, [])
            query = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(
                    [sql.SQL("count(*)"), *(sql.SQL("sum({})").format(sql.Identifier(c)) for c in columns)]
                ),
                sql.Identifier(table),
            )
            count, *sums = conn.execute(query).fetchone()
            snapshot[table] = (count, dict(zip(columns, sums, strict=True)))
    return snapshot


def _differences(before: Snapshot, after: Snapshot) -> list[str]:
    found = []
    for table, (count, sums) in sorted(before.items()):
        if table not in after:
            found.append(f"{table}: gone ({count} rows before)")
            continue
        new_count, new_sums = after[table]
        if new_count != count:
            found.append(f"{table}: {count} rows before, {new_count} after")
        for column, total in sums.items():
            if column not in new_sums:
                found.append(f"{table}.{column}: column gone (sum {total} before)")
            elif new_sums[column] != total:
                found.append(f"{table}.{column}: sum {total} before, {new_sums[column]} after")
    return found


# --- running a tree's code --------------------------------------------------------------------------


def _environment(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "BATPAY_DB_NAME",  # would point DATABASE_URL at another database
            "BATPAY_TEST_DB_NAME",
            "CELERY_BROKER_URL",  # the file broker under data_dir: queued PDFs go nowhere, nothing waits
            "CELERY_RESULT_BACKEND",
            "BATPAY_BROKER_DIR",
            "MEDIA_ROOT",
            "PYTHONPATH",
        }
    }
    env.update(
        DJANGO_SETTINGS_MODULE="batpay.settings",
        DATABASE_URL=database_url,
        BATPAY_DATA_DIR=str(data_dir),
        CONN_MAX_AGE="0",
        LOG_LEVEL="WARNING",
    )
    return env


def _run(args: list[str], *, cwd: Path, env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(
            [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{what}: `{' '.join(args)}` still running after {COMMAND_TIMEOUT} s") from exc
    if done.returncode != 0:
        raise AssertionError(
            f"{what}: `{' '.join(args)}` in {cwd} exited {done.returncode}\n"
            f"--- stdout (end) ---\n{done.stdout[-3000:]}\n--- stderr (end) ---\n{done.stderr[-6000:]}"
        )
    return done


def _migrate_forward(*, root: Path, new_tree: Path, work: Path) -> None:
    """Old tree (OLD_COMMIT of the repository at `root`) makes and fills a scratch database;
    `new_tree` migrates it; nothing may be lost."""
    old_tree = work / "old"
    _extract(root, OLD_COMMIT, old_tree)
    shutil.copyfile(SEED_SCRIPT, old_tree / "_migfwd_seed.py")

    server = _server()
    name = f"batpay_migfwd_{secrets.token_hex(6)}"
    with _admin_connection(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = _database_url(server, name)
        old_env = _environment(url, work / "old-data")
        new_env = _environment(url, work / "new-data")

        _run(["manage.py", "migrate", "--no-input", "-v", "0"], cwd=old_tree, env=old_env, what="old tree")
        _run(["_migfwd_seed.py", str(work)], cwd=old_tree, env=old_env, what="old tree seed")
        before = _snapshot(server, name)
        empty = [table for table in MUST_HAVE_ROWS if before.get(table, (0, {}))[0] == 0]
        assert not empty, f"the seed left these tables empty (or they do not exist): {empty}"

        _run(["manage.py", "migrate", "--no-input", "-v", "0"], cwd=new_tree, env=new_env, what="current tree")
        _run(["manage.py", "check_ledger"], cwd=new_tree, env=new_env, what="current tree")
        _run(["manage.py", "migrate", "--check"], cwd=new_tree, env=new_env, what="current tree")
        after = _snapshot(server, name)

        lost = _differences(before, after)
        assert not lost, f"migrating {OLD_COMMIT[:12]}'s database forward changed {len(lost)} thing(s):\n" + "\n".join(
            lost
        )
    finally:
        _drop(server, name)


def _drop(server: dict[str, str], name: str) -> None:
    drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    with _admin_connection(server) as conn:
        try:
            conn.execute(drop + sql.SQL(" WITH (FORCE)"))  # PostgreSQL 13+: ends leftover sessions
        except psycopg.errors.SyntaxError:
            conn.execute(drop)


def test_migrating_forward_from_the_old_app_layout_keeps_every_row():
    root = _repo_root()
    with tempfile.TemporaryDirectory(prefix="batpay-migfwd-") as work:
        _migrate_forward(root=root, new_tree=root, work=Path(work))
