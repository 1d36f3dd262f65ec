"""Plan and installment statuses, and the one transition table every plan follows (SPEC §4).

    DRAFT ──confirm──▶ OPEN ──hold──▶ HOLD ──resume──▶ OPEN
    DRAFT, OPEN, HOLD ──cancel──▶ CANCELLED   (OPEN/HOLD only while nothing is posted)
    OPEN, HOLD ──close──▶ CLOSED              (automatic: every installment paid)
    CLOSED ──reopen──▶ OPEN                   (automatic: a void reopened an installment)

CLOSED and CANCELLED are final otherwise. Each transition is one function that checks the table
and sets the new status on the plan, or raises Conflict(invalid_transition); services lock, save
and audit around it. The set-based paid-state sync reads the same table (`sources_of`).

A plan on HOLD whose installments were all posted before the hold closes when they are paid too:
nothing is left to hold back, and a plan that owes nothing must not look open.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models

from batpay.errors import Conflict, ErrorCode


class PlanStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    OPEN = "OPEN", "Open"
    HOLD = "HOLD", "On hold"
    CLOSED = "CLOSED", "Closed"
    CANCELLED = "CANCELLED", "Cancelled"


class InstallmentStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED", "Scheduled"
    POSTED = "POSTED", "Posted"
    PAID = "PAID", "Paid"
    CANCELLED = "CANCELLED", "Cancelled"


class Transition(StrEnum):
    CONFIRM = "confirm"
    HOLD = "hold"
    RESUME = "resume"
    CANCEL = "cancel"
    CLOSE = "close"
    REOPEN = "reopen"


# transition → (statuses it may start from, status it leads to)
TRANSITIONS: dict[Transition, tuple[frozenset[str], str]] = {
    Transition.CONFIRM: (frozenset({PlanStatus.DRAFT}), PlanStatus.OPEN),
    Transition.HOLD: (frozenset({PlanStatus.OPEN}), PlanStatus.HOLD),
    Transition.RESUME: (frozenset({PlanStatus.HOLD}), PlanStatus.OPEN),
    Transition.CANCEL: (frozenset({PlanStatus.DRAFT, PlanStatus.OPEN, PlanStatus.HOLD}), PlanStatus.CANCELLED),
    Transition.CLOSE: (frozenset({PlanStatus.OPEN, PlanStatus.HOLD}), PlanStatus.CLOSED),
    Transition.REOPEN: (frozenset({PlanStatus.CLOSED}), PlanStatus.OPEN),
}


class RequestedStatus(models.TextChoices):
    """The statuses a client may ask for (POST …/status {"status": …}); the others follow events."""

    HOLD = PlanStatus.HOLD.value, "On hold"
    OPEN = PlanStatus.OPEN.value, "Open (resume from hold)"
    CANCELLED = PlanStatus.CANCELLED.value, "Cancelled"


# The requested status and the transition that leads there.
REQUESTABLE: dict[str, Transition] = {
    RequestedStatus.HOLD: Transition.HOLD,
    RequestedStatus.OPEN: Transition.RESUME,
    RequestedStatus.CANCELLED: Transition.CANCEL,
}


def sources_of(transition: Transition) -> frozenset[str]:
    return TRANSITIONS[transition][0]


def target_of(transition: Transition) -> str:
    return TRANSITIONS[transition][1]


def _apply(plan, transition: Transition) -> None:
    sources, target = TRANSITIONS[transition]
    if plan.status not in sources:
        raise Conflict(
            f"{plan.plan_id} is {plan.status}; it cannot {transition.value} (only from {', '.join(sorted(sources))}).",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"status": f"{plan.status} cannot {transition.value}."},
        )
    plan.status = target


def confirm(plan) -> None:
    """DRAFT → OPEN: the schedule is final and its installments become due for posting."""
    _apply(plan, Transition.CONFIRM)


def hold(plan) -> None:
    """OPEN → HOLD: the weekly job skips the plan until it is resumed."""
    _apply(plan, Transition.HOLD)


def resume(plan) -> None:
    """HOLD → OPEN."""
    _apply(plan, Transition.RESUME)


def cancel(plan, *, posted_count: int) -> None:
    """DRAFT/OPEN/HOLD → CANCELLED, refused once any installment reached the ledger.

    A posted charge is undone in the ledger (a void), never by cancelling the plan behind it.
    """
    if posted_count and plan.status in sources_of(Transition.CANCEL):
        raise Conflict(
            f"{plan.plan_id} has {posted_count} installment(s) posted to the ledger; it can no longer be cancelled.",
            code=ErrorCode.INVALID_TRANSITION,
            fields={"status": "Installments are already posted."},
        )
    _apply(plan, Transition.CANCEL)


def close(plan) -> None:
    """OPEN/HOLD → CLOSED when every installment is paid (the ledger listener decides when)."""
    _apply(plan, Transition.CLOSE)


def reopen(plan) -> None:
    """CLOSED → OPEN when a void reopened one of its installments."""
    _apply(plan, Transition.REOPEN)
