"""Prometheus figures of the tolls, read from the database at scrape time."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.metrics import collector
from batpay.periods import last_closed_period
from tolls.models import Toll, TollImport


@collector
def tolls() -> Iterable[Metric]:
    rows = GaugeMetricFamily("batpay_tolls", "E-ZPass rows on file, by kind and status.", labels=["kind", "status"])
    amounts = GaugeMetricFamily(
        "batpay_tolls_amount", "E-ZPass amounts on file, by kind and status.", labels=["kind", "status"]
    )
    by = Toll.objects.order_by().values_list("kind", "status").annotate(n=Count("pk"), total=Sum("amount"))
    for kind, status, count, total in by:
        rows.add_metric([kind, status], count)
        amounts.add_metric([kind, status], float(total or 0))
    backlog = GaugeMetricFamily(
        "batpay_tolls_unposted_backlog",
        "Tolls due by the last closed period and not charged yet (the Sunday task's backlog).",
        value=Toll.objects.filter(
            kind=Toll.Kind.CHARGE, status=Toll.Status.PENDING, period__lte=last_closed_period()
        ).count(),
    )
    imports = GaugeMetricFamily("batpay_toll_imports", "E-ZPass files imported.", value=TollImport.objects.count())
    yield from (rows, amounts, backlog, imports)
