"""Benchmarks for `manage.py bench NAME`: figures measured side by side in one run.

Each app registers its benchmarks with `@benchmark("name")`; a benchmark gets a Report to
print figures into and runs on a scratch database the command creates (and drops).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

BENCHMARKS: dict[str, Callable[[Report], None]] = {}

# seed_demo's options for a bare fleet: leases and their schedules, without the demo's weeks of history,
# tolls, violations, deposits and misc charges, so each benchmark measures only what it adds.
BARE_FLEET = {"history_weeks": 0, "no_tolls": True, "violations": False, "charges": False}


def benchmark(name: str):
    def register(fn: Callable[[Report], None]) -> Callable[[Report], None]:
        BENCHMARKS[name] = fn
        return fn

    return register


@dataclass
class Report:
    write: Callable[[str], None]
    scale: float = 1.0
    figures: dict[str, float] = field(default_factory=dict)
    # `manage.py bench --leases N --workers W… --weeks K`: a benchmark that takes a fleet size, worker
    # counts or weeks of history reads them here (leases None: the benchmark's own size, scaled).
    leases: int | None = None
    workers: tuple[int, ...] = (1, 2)
    weeks: int = 0
    # `--no-pdfs`: a benchmark of the whole Sunday stops at the close and leaves the PDFs out.
    pdfs: bool = True

    def n(self, full: int) -> int:
        """A size scaled by --scale (a quick run uses a fraction of the full size)."""
        return max(1, int(full * self.scale))

    @contextmanager
    def timed(self, label: str) -> Iterator[dict]:
        box: dict = {}
        started = time.perf_counter()
        yield box
        box["seconds"] = seconds = time.perf_counter() - started
        self.figures[label] = seconds

    def line(self, label: str, value: str) -> None:
        self.write(f"  {label:<66} {value}")

    def rate(self, label: str, rows: int, seconds: float) -> float:
        per_second = rows / seconds if seconds else float("inf")
        self.line(label, f"{rows:>9,} rows in {seconds:7.3f} s = {per_second:>11,.0f} rows/s")
        return per_second

    def budget(self, label: str, ok: bool, detail: str) -> None:
        self.line(label, f"{'within budget' if ok else 'OVER BUDGET'} ({detail})")
