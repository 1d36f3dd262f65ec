"""manage.py bench finds every benchmark, wherever in operations.bench it is defined."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from operations.bench import BENCHMARKS
from operations.management.commands.bench import _load_benchmarks


def test_every_benchmark_is_registered():
    _load_benchmarks()
    assert sorted(BENCHMARKS) == ["ledger", "loans", "payouts", "repairs", "sunday", "weekly_close"]


def test_an_unknown_benchmark_is_refused_naming_the_known_ones():
    with pytest.raises(CommandError, match="known: ledger, loans, payouts, repairs, sunday, weekly_close"):
        call_command("bench", "nosuch")
