"""What the finance cockpit (the dashboard and a driver's account page, app `cockpit`) learns from
apps it may not import, or that do not exist yet: each app registers what it has to show.

- `REVIEW_QUEUES`: rows an app keeps for a person to look at (trip import rows kept for review;
  unmatched tolls and violations later). Each queue counts its rows in one query.
- `ACCOUNT_HOLDINGS`: money held for a driver beside what they owe (deposits held, when the deposits
  app lands), shown on the driver's account page, one query per holding.

The cockpit sits above every app, so it could read them directly; registering keeps each app the
owner of what its rows mean, and lets an app below the statements (deposits) add to the page
without the cockpit learning of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from batpay.registry import Registry


@dataclass(frozen=True)
class ReviewQueue:
    label: str  # "Trip rows kept for review"
    count: Callable[[], int]  # one query
    url: Callable[[], str]  # the admin list of those rows
    permission: str  # who may see the queue: the view permission of its rows


REVIEW_QUEUES: Registry[ReviewQueue] = Registry("review queue")


@dataclass(frozen=True)
class AccountHolding:
    label: str  # "Deposit held"
    # driver id → {lease id: amount held}, in one query; leases holding nothing are left out.
    amounts: Callable[[int], dict[int, Decimal]]
    permission: str


ACCOUNT_HOLDINGS: Registry[AccountHolding] = Registry("account holding")
