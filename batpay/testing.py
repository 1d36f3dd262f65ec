"""Helpers shared by the test suites of every app."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

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
