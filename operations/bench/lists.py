"""Lists at depth (issue 16): the ledger lists and DTRs paged deep into a large ledger.

`manage.py bench lists` posts ~420,000 charges (a postings table the size the issue measured page
8,000 on) and times, side by side in one run, each list page as the API serves it (ids first,
`batpay.pagination.IdsFirstList`) and as a plain OFFSET over the list's joined query (how the API
served it before): the same page, the same rows.
"""

from __future__ import annotations

import random
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connection, transaction
from rest_framework.test import APIClient

from ledger import selectors, services
from ledger.api.serializers import ObligationBalanceSerializer, PostingSerializer
from operations.bench import Report, benchmark
from operations.bench.ledger import demo_fleet, obligation_rows

PAGE_SIZE = 50


def _times(fn, runs: int) -> list[float]:
    fn()  # warm: plans cached, pages in shared buffers
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _plain_offset(queryset, serializer, page: int):
    """The page as a plain OFFSET over the joined queryset: count, then the page with every join."""

    def read():
        paginator = Paginator(queryset, PAGE_SIZE)
        paginator.count  # noqa: B018 — the count the response carries
        return serializer(list(paginator.page(page).object_list), many=True).data

    return read


@benchmark("lists")
def lists_benchmark(report: Report) -> None:
    count = report.n(420_000)
    fleet = demo_fleet(report, report.n(2_000))
    rows = obligation_rows(fleet, count, random.Random(16))
    with report.timed("post") as posting:
        for start in range(0, count, 50_000):
            with transaction.atomic():
                services.post_obligations(rows=rows[start : start + 50_000])
    report.rate("charges posted (a posting and a balance each)", count, posting["seconds"])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ledger_posting")
        cursor.execute("VACUUM ANALYZE ledger_obligationbalance")

    user = get_user_model().objects.create_superuser("bench-lists", password=None)
    client = APIClient()
    client.force_authenticate(user)
    runs = 15
    deepest = max(1, count // PAGE_SIZE - 1)
    cases = [
        (
            "postings",
            "/api/ledger/postings/",
            {},
            selectors.postings_with_reversal().order_by("-id"),
            PostingSerializer,
        ),
        (
            "open balances",
            "/api/ledger/balances/",
            {"status": "OPEN"},
            selectors.balances().filter(status="OPEN").order_by("priority", "due_period", "id"),
            ObligationBalanceSerializer,
        ),
    ]
    heading = f"  {'list, page (50 rows)':<40} {'ids first p50/p95 ms':>22} {'plain OFFSET p50/p95 ms':>26}"
    report.write(f"{heading} {'ratio':>7}")
    for label, url, params, joined, serializer in cases:
        for page in sorted({1, min(500, deepest), min(8_000, deepest)}):
            query = {**params, "page": page, "page_size": PAGE_SIZE}

            def api(url=url, query=query):
                response = client.get(url, query)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} {query}: {response.status_code} {response.content[:200]!r}")

            new = _times(api, runs)
            old = _times(_plain_offset(joined, serializer, page), runs)
            fast, slow = statistics.median(new), statistics.median(old)
            report.write(
                f"  {label + f', page {page:,}':<40} {fast:>10.1f} / {_p(new, 95):<9.1f}"
                f" {slow:>12.1f} / {_p(old, 95):<11.1f} {slow / fast:>6.1f}x"
            )
            report.figures[f"{label} page {page} p95 ms"] = _p(new, 95)
