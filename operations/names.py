"""The names of the scheduled jobs: the stored name (the Celery task's) and the one people read.

A job run stores its job's task name (`ledger.weekly_close.ledger.generate_dtrs`): beat entries,
operators' scripts and metrics key on it. Lists, choices and messages show `job_label` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from batpay.steps import CloseStep, StepResult
from plans.source import registered_sources
from statements import close
from tolls.services import tolls_post_due

WEEKLY_CLOSE = "ledger.weekly_close"
# After the close, on Sunday at 06:00: the payout run of the week just closed (payouts.services.prepare_run).
PREPARE_PAYOUTS = "payouts.prepare"


def posting_job(source: str) -> str:
    """The job (and Celery task) name of a plan source's weekly posting: `leases.post_due_installments`."""
    return f"{source}.post_due_installments"


def step_job(step: CloseStep) -> str:
    """A close step's job name: `ledger.weekly_close.ledger.generate_dtrs`."""
    return f"{WEEKLY_CLOSE}.{step.name}"


def close_steps() -> list[CloseStep]:
    return list(close.CLOSE_STEPS)


# Posting jobs that are not plan sources: charges from outside (`tolls.post_due` posts the tolls that
# fell due). Job name → (label, work called as `fn(period=…, actor=…, progress=…)` returning a
# StepResult; idempotent like every job).
CHARGE_JOBS: dict[str, tuple[str, Callable[..., StepResult]]] = {
    "tolls.post_due": ("Post due E-ZPass tolls", tolls_post_due),
}


def posting_jobs() -> list[str]:
    """Every job the weekly close makes sure has run for its period: each source's, then the charges'."""
    return [posting_job(source.name) for source in registered_sources()] + list(CHARGE_JOBS)


def job_label(job: str) -> str:
    """How people read a job: "Post repair installments", "Weekly close: Generate the DTRs".

    The stored name (the Celery task's, `ledger.weekly_close.ledger.generate_dtrs`) stays the key;
    a job no registry knows any more (a retired step) reads as its stored name.
    """
    if job == WEEKLY_CLOSE:
        return "Weekly close"
    if job == PREPARE_PAYOUTS:
        return "Prepare the payout run"
    if job in CHARGE_JOBS:
        return CHARGE_JOBS[job][0]
    for source in registered_sources():
        if job == posting_job(source.name):
            return f"Post {source.label.lower()} installments"
    for step in close_steps():
        if job == step_job(step):
            return f"Weekly close: {step.label or step.name}"
    return job


def job_labels() -> dict[str, str]:
    """Every job a run can carry today (postings, the close, its steps) → its label."""
    names = [*runnable_jobs(), *(step_job(step) for step in close_steps())]
    return {name: job_label(name) for name in names}


def runnable_jobs() -> list[str]:
    """The jobs an operator can start for a period: the posting jobs, the weekly close, then the payout run."""
    return posting_jobs() + [WEEKLY_CLOSE, PREPARE_PAYOUTS]
