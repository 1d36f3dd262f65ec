"""Helpers shared by the test suites of every app."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import pytest

# The two changes of New York's clock the tests cross: both Sundays, so each starts its own period.
SPRING_FORWARD = dt.date(2026, 3, 8)  # 02:00 EST → 03:00 EDT (07:00 UTC): 02:00–02:59 never happens
FALL_BACK = dt.date(2025, 11, 2)  # 02:00 EDT → 01:00 EST (06:00 UTC): 01:00–01:59 happens twice

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").strip() in {"1", "true", "yes"}


def reachable(url: str, timeout: float = 1.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout):
            return True
    except OSError:
        return False


def need_service(url: str, what: str) -> None:
    """Skip when `url` does not answer — or fail, under REQUIRE_SERVICES=1."""
    if reachable(url):
        return
    message = f"{what} at {url} is not reachable"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and REQUIRE_SERVICES=1")
    pytest.skip(message)


def set_clock(monkeypatch, instant: str) -> dt.datetime:
    """Stop the clock at `instant` (ISO 8601 with its offset): `timezone.now()` returns it, so every
    "today (New York)" the code derives from it follows."""
    value = dt.datetime.fromisoformat(instant)
    if value.tzinfo is None:
        raise ValueError(f"{instant!r}: an instant needs its offset")
    monkeypatch.setattr("django.utils.timezone.now", lambda: value.astimezone(dt.UTC))
    return value


# --- the API against its OpenAPI schema (schemathesis) ----------------------------------------

# What a response must be: no 5xx, a documented status, the documented content type and headers,
# and a body that conforms to the operation's schema.
CONFORMANCE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


@contextmanager
def requests_in_this_transaction() -> Iterator[None]:
    """Lets requests reach the WSGI application in this thread, inside the test's transaction.

    Django closes a connection that is inside a transaction when a request starts or ends; its own
    test client switches that off for its requests, and this does the same for schemathesis' calls.
    """
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


def served_schema(*, token: str, config: dict[str, Any] | None = None):
    """The OpenAPI schema the application serves at /api/schema/, loaded by schemathesis to call the
    application in-process with `Authorization: Bearer <token>` and CONFORMANCE_CHECKS (unless
    `config`, schemathesis' configuration as a dict, says otherwise). Use inside
    `requests_in_this_transaction()`."""
    import schemathesis

    from batpay.wsgi import application

    config = {
        "headers": {"Authorization": f"Bearer {token}"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CONFORMANCE_CHECKS}},
        **(config or {}),
    }
    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", application, config=schemathesis.Config.from_dict(config)
    )
