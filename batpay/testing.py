"""Helpers shared by the test suites of every app."""

from __future__ import annotations

import datetime as dt
import os
import socket
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
