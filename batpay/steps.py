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
class ShardedWork:
    """How a fleet-wide step splits over ranges of lease ids (`operations.shards` runs it).

    - `start(period=…, actor=…)` runs once, in the process that runs the step, under the step's
      lock, before any shard: it returns a StepResult when there is nothing to shard (the step
      is already done), else None;
    - `shard(period=…, lease_range=(lo, hi), actor=…)` does the work of the leases with
      lo <= id <= hi and returns its StepResult. With `atomic`, it runs inside the transaction
      that marks the shard done (so a shard is done wholly or not at all); without, it commits
      on its own and must be idempotent (a re-run of a shard interrupted after its work and
      before its mark finds nothing left to do);
    - `finish(period=…, actor=…, shards=[StepResult of every shard], ran=[those done by this
      run])` returns the step's StepResult once every shard is done;
    - `resume_done`: a new run resumes the last set of shards even when all of them are done
      (for a step whose `start` records that it began: the earnings close), instead of
      cutting a new set.
    """

    shard: Callable[..., StepResult]
    finish: Callable[..., StepResult]
    start: Callable[..., StepResult | None] | None = None
    atomic: bool = True
    resume_done: bool = False


@dataclass(frozen=True)
class CloseStep:
    """A step of the weekly close, called as `fn(period=…, actor=…, progress=…)`; it must be
    idempotent. Steps run in their registry's order, each as its own locked, recorded run."""

    name: str
    fn: Callable[..., StepResult]
    label: str = ""  # what people read for its job runs: "Generate the DTRs"; empty: the name
    # Set: the step runs in shards over ranges of leases, on every worker (operations.shards);
    # `fn` stays the one-process form of the same work.
    sharded: ShardedWork | None = None
