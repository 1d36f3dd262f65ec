from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.metrics import collector
from deposits.models import Deposit
from ledger.categories import Category
from ledger.selectors import paid_on


@collector
def deposits() -> Iterable[Metric]:
    count = GaugeMetricFamily("batpay_deposits", "Security deposits, by whether they are released.", labels=["state"])
    held = GaugeMetricFamily("batpay_deposit_held_dollars", "Deposit money held for drivers (paid, not released).")
    released = Deposit.objects.filter(released_at__isnull=False).count()
    count.add_metric(["held"], Deposit.objects.count() - released)
    count.add_metric(["released"], released)
    lease_ids = Deposit.objects.filter(released_at__isnull=True).values_list("lease_id", flat=True)
    held.add_metric([], float(sum(paid_on(category=Category.DEPOSIT, by="lease_id", ids=lease_ids).values(), 0)))
    yield count
    yield held
