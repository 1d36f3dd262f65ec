"""Prometheus metrics at /metrics, read from the database at scrape time.

Counting in the database rather than in process memory gives the same figures whichever web
or worker process answers the scrape. Apps add their figures with `@collector`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from batpay.errors import ErrorCode, error_body

_collectors: list[Callable[[], Iterable[Metric]]] = []


def collector(fn: Callable[[], Iterable[Metric]]) -> Callable[[], Iterable[Metric]]:
    _collectors.append(fn)
    return fn


class _DatabaseCollector:
    def collect(self) -> Iterable[Metric]:
        for fn in _collectors:
            yield from fn()


@collector
def _up() -> Iterable[Metric]:
    yield GaugeMetricFamily("batpay_up", "1 while the application answers scrapes.", value=1)


class MetricsView(View):
    """GET (and HEAD) only: any other method is a 405 in the API's error shape."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        token = settings.METRICS_TOKEN
        if token:
            sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(sent.encode(), token.encode()):
                return HttpResponse("metrics need the METRICS_TOKEN bearer token\n", status=401)
        registry = CollectorRegistry()
        registry.register(_DatabaseCollector())
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = JsonResponse(
            error_body(ErrorCode.METHOD_NOT_ALLOWED, f'Method "{request.method}" not allowed.'), status=405
        )
        response["Allow"] = ", ".join(method.upper() for method in self._allowed_methods())
        return response
