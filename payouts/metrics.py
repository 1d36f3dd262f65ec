"""Prometheus figures of payouts, read from the database at scrape time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.metrics import collector
from ledger.due import due_by_driver
from payouts.models import Payout, PayoutRun


@collector
def payouts() -> Iterable[Metric]:
    runs = GaugeMetricFamily("batpay_payout_runs", "Payout runs, by status.", labels=["status"])
    for status, count in PayoutRun.objects.order_by().values_list("status").annotate(n=Count("pk")):
        runs.add_metric([status], count)
    paid = GaugeMetricFamily("batpay_payouts", "Payouts by method and status (count).", labels=["method", "status"])
    amount = GaugeMetricFamily(
        "batpay_payouts_amount_dollars", "Payouts by method and status (amount).", labels=["method", "status"]
    )
    rows = Payout.objects.order_by().values_list("method", "status").annotate(n=Count("pk"), total=Sum("amount"))
    for method, status, count, total in rows:
        paid.add_metric([method, status], count)
        amount.add_metric([method, status], float(total or 0))
    due = due_by_driver(until=dt.date(9999, 12, 31))
    owed = GaugeMetricFamily(
        "batpay_money_due_to_drivers_dollars", "Money due to drivers not yet paid out (all periods)."
    )
    owed.add_metric([], float(sum(due.values())))
    waiting = GaugeMetricFamily("batpay_drivers_with_money_due", "Drivers with money due not yet paid out.")
    waiting.add_metric([], len(due))
    yield from (runs, paid, amount, owed, waiting)
