"""What one step of a scheduled job reports: how many things it did, the money involved, and
figures for the run's record. The posting jobs and the weekly close's steps return one; the job
runner (`operations.jobs`) stores it on the `JobRun`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from batpay.money import ZERO

Progress = Callable[[int, int], None]


@dataclass
class StepResult:
    count: int = 0
    amount: Decimal = ZERO
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CloseStep:
    """A step of the weekly close, called as `fn(period=…, actor=…, progress=…)`; it must be
    idempotent. Steps run in their registry's order, each as its own locked, recorded run."""

    name: str
    fn: Callable[..., StepResult]
    label: str = ""  # what people read for its job runs: "Generate the DTRs"; empty: the name
