"""manage.py bench finds every benchmark, wherever in operations.bench it is defined."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from operations.bench import BENCHMARKS
from operations.management.commands.bench import _load_benchmarks


def test_every_benchmark_is_registered():
    _load_benchmarks()
    assert sorted(BENCHMARKS) == [
        "dashboard",
        "demo",
        "demo_fleet",
        "exports",
        "ledger",
        "lists",
        "loans",
        "payouts",
        "repairs",
        "sunday",
        "tolls",
        "violations",
        "weekly_close",
    ]


def test_an_unknown_benchmark_is_refused_naming_the_known_ones():
    known = "dashboard, demo, demo_fleet, exports, ledger, lists, loans, payouts, repairs, sunday, tolls, violations, "
    known += "weekly_close"
    with pytest.raises(CommandError, match=f"known: {known}"):
        call_command("bench", "nosuch")
