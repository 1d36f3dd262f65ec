"""Prometheus figures of every registered plan source, read from the database at scrape time."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.metrics import collector
from batpay.periods import last_closed_period
from plans.lifecycle import InstallmentStatus, PlanStatus
from plans.services import due_installments
from plans.source import registered_sources


@collector
def plans() -> Iterable[Metric]:
    created = GaugeMetricFamily(
        "batpay_plans", "Installment plans created, by source and status.", labels=["source", "status"]
    )
    installments = GaugeMetricFamily(
        "batpay_plan_installments", "Installments by source and status.", labels=["source", "status"]
    )
    posted = GaugeMetricFamily(
        "batpay_installments_posted",
        "Installments posted to the ledger (POSTED or PAID), by source.",
        labels=["source"],
    )
    backlog = GaugeMetricFamily(
        "batpay_unposted_backlog",
        "Due installments of OPEN plans not yet posted (up to the last closed period), by source.",
        labels=["source"],
    )
    period = last_closed_period()
    for source in registered_sources():
        by_status = dict(source.plan_model.objects.order_by().values_list("status").annotate(n=Count("pk")))
        for status in PlanStatus.values:
            created.add_metric([source.name, status], by_status.get(status, 0))
        counts = dict(source.installment_model.objects.order_by().values_list("status").annotate(n=Count("pk")))
        for status in InstallmentStatus.values:
            installments.add_metric([source.name, status], counts.get(status, 0))
        posted.add_metric(
            [source.name], counts.get(InstallmentStatus.POSTED, 0) + counts.get(InstallmentStatus.PAID, 0)
        )
        backlog.add_metric([source.name], due_installments(source=source, period=period).count())
    yield from (created, installments, posted, backlog)
