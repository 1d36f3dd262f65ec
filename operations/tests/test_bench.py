"""manage.py bench finds every benchmark, wherever in operations.bench it is defined; sunday_scale
runs a tiny Sunday on real workers and leaves none of them behind."""

import io
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from batpay.testing import need_service
from operations.bench import BENCHMARKS
from operations.bench.sunday_scale import group_alive
from operations.management.commands.bench import _load_benchmarks


def test_every_benchmark_is_registered():
    _load_benchmarks()
    assert sorted(BENCHMARKS) == [
        "dashboard",
        "demo",
        "demo_fleet",
        "exports",
        "ledger",
        "lists",
        "loans",
        "payouts",
        "pdf",
        "repairs",
        "sunday",
        "sunday_scale",
        "tolls",
        "violations",
        "weekly_close",
    ]


def test_an_unknown_benchmark_is_refused_naming_the_known_ones():
    known = "dashboard, demo, demo_fleet, exports, ledger, lists, loans, payouts, pdf, repairs, sunday, sunday_scale, "
    known += "tolls, violations, "
    known += "weekly_close"
    with pytest.raises(CommandError, match=f"known: {known}"):
        call_command("bench", "nosuch")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"leases": 0}, "--leases is a number of leases"),
        ({"workers": [1, 0]}, "--workers takes numbers of worker processes"),
        ({"weeks": -1}, "--weeks is a number of weeks"),
    ],
)
def test_sizes_out_of_range_are_refused(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench", "sunday_scale", **options)


@pytest.mark.services
def test_sunday_scale_runs_the_sunday_on_real_workers_and_stops_them(django_db_setup, django_db_blocker):
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        need_service(settings.CELERY_BROKER_URL, "The Celery broker")
    out = io.StringIO()
    with django_db_blocker.unblock():
        scratch = f"{connection.settings_dict['NAME']}_bench"
        call_command("bench", "sunday_scale", leases=6, weeks=2, workers=[1], stdout=out)
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{scratch}%"])
            left = cursor.fetchall()
    text = out.getvalue()

    assert "history: 2 weeks closed" in text
    assert re.search(r"history week 2/2 \(\S+\): [1-6] earnings receipts, 6 DTRs", text), text
    # The measured week: each lease's installment posted, the week closed, a DTR and its PDF per lease.
    assert re.search(r"Post lease installments +\d+\.\d\d s +6 rows", text), text
    assert re.search(r"Weekly close: Generate the DTRs +\d+\.\d\d s +6 rows", text), text
    assert re.search(r"DTR PDFs +\d+\.\d\d s +6 PDFs", text), text
    assert re.search(r"the whole Sunday +\d+\.\d\d s +6 leases", text), text
    assert re.search(r"DTR PDFs +\d+\.\d\d +\d", text), "the side-by-side table"
    assert re.search(r"the same ledger and DTR totals with every worker count +yes", text)
    (pids,) = re.findall(r"workers ready \(pids ([\d ]+)\)", text)
    assert [pid for pid in map(int, pids.split()) if group_alive(pid)] == []
    assert left == []  # the scratch database and its copy are dropped


@pytest.mark.services
def test_sunday_scale_without_pdfs_stops_at_the_close(django_db_setup, django_db_blocker):
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        need_service(settings.CELERY_BROKER_URL, "The Celery broker")
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("bench", "sunday_scale", leases=4, weeks=1, workers=[1], pdfs=False, stdout=out)
    text = out.getvalue()

    assert "PDFs left out (--no-pdfs)" in text
    assert re.search(r"Weekly close: Generate the DTRs +\d+\.\d\d s +4 rows", text), text
    assert re.search(r"the whole Sunday but the PDFs +\d+\.\d\d s +4 leases", text), text
    assert "leases closed per minute per worker, PDFs left out" in text
    assert not re.search(r"^\s+DTR PDFs ", text, re.MULTILINE), "no PDF step is timed"
    (pids,) = re.findall(r"workers ready \(pids ([\d ]+)\)", text)
    assert [pid for pid in map(int, pids.split()) if group_alive(pid)] == []
