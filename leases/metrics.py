from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.metrics import collector
from leases.models import Lease


@collector
def fleet() -> Iterable[Metric]:
    leases = GaugeMetricFamily("batpay_leases", "Leases by status.", labels=["status"])
    counts = dict(Lease.objects.values_list("status").annotate(n=Count("id")))
    for status in Lease.Status.values:
        leases.add_metric([status], counts.get(status, 0))
    yield leases
