"""Parking violations and TLC summonses at /metrics, counted in the database at scrape time."""

from collections.abc import Iterable

from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.metrics import collector
from violations.models import Disposition, TlcSummons, Violation


@collector
def violations() -> Iterable[Metric]:
    by_review = GaugeMetricFamily(
        "batpay_parking_violations", "Parking summonses on file, by review state.", labels=["review"]
    )
    counts = dict(Violation.objects.values_list("review").annotate(n=Count("id")))
    for review in Violation.Review.values:
        by_review.add_metric([review], counts.get(review, 0))
    yield by_review
    owed = Violation.objects.filter(review=Violation.Review.ATTRIBUTED).aggregate(total=Sum("driver_total"))["total"]
    yield GaugeMetricFamily(
        "batpay_parking_violations_owed_dollars",
        "What drivers owe for their parking summonses' latest figures, processing fees included.",
        value=float(owed or 0),
    )
    tlc = GaugeMetricFamily("batpay_tlc_summonses", "TLC summonses by hearing disposition.", labels=["disposition"])
    counts = dict(TlcSummons.objects.values_list("disposition").annotate(n=Count("id")))
    for disposition in Disposition.values:
        tlc.add_metric([disposition], counts.get(disposition, 0))
    yield tlc
