from collections.abc import Iterable

from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.metrics import collector
from charges.models import MiscCharge, MiscCredit


@collector
def misc_charges_and_credits() -> Iterable[Metric]:
    count = GaugeMetricFamily(
        "batpay_misc_entries", "Misc charges and credits, by kind and status.", labels=["kind", "status"]
    )
    amount = GaugeMetricFamily(
        "batpay_misc_amount_dollars",
        "Total of misc charges and credits, by kind and status.",
        labels=["kind", "status"],
    )
    for kind, model in (("charge", MiscCharge), ("credit", MiscCredit)):
        rows = {
            s: (n, total)
            for s, n, total in model.objects.values_list("status").annotate(n=Count("id"), total=Sum("amount"))
        }
        for status in model.Status.values:
            n, total = rows.get(status, (0, 0))
            count.add_metric([kind, status], n)
            amount.add_metric([kind, status], float(total or 0))
    yield count
    yield amount
