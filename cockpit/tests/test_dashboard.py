"""The dashboard (docs/rules.md, "The cockpit"): its figures to the cent on a known history, the list
behind each figure showing the same rows, what each role sees, and a query count that does not
grow with the fleet."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.test import Client

from cockpit import selectors
from cockpit.tests.conftest import W1, charge

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    """A logged-in admin session: role users are staff in real life (the admin lets only staff in)."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_figures_to_the_cent(history, make_user, today):
    superuser = make_user(superuser=True)
    page = selectors.dashboard(user=superuser, today=today)

    assert [(row.category, row.balances, row.outstanding) for row in page.outstanding] == [
        ("EZPASS", 1, D("20.00")),
        ("LEASE", 2, D("500.00")),  # A 400.00 after earnings, B 100.00 after the cashier's 50.00
        ("REPAIRS", 1, D("300.00")),
    ]
    assert page.total_outstanding == D("820.00")

    earnings, collections = page.weekly
    assert (earnings.label, collections.label) == ("Card earnings", "Cashier collections")
    assert len(earnings.values) == 12 and earnings.values[-1][0] == dt.date(2025, 10, 12)
    assert dict((p, a) for p, a, _ in earnings.values if a) == {W1: D("100.00")}
    assert dict((p, a) for p, a, _ in collections.values if a) == {dt.date(2025, 10, 12): D("50.00")}

    # Past due = due before this week: A's LEASE 400.00 + REPAIRS 300.00; B's LEASE 100.00. EZPASS is this week's.
    assert page.arrears.count == 2 and page.arrears.amount == D("800.00")
    assert [(row.name, row.amount) for row in page.arrears.rows] == [
        ("Ana Alvarez", D("700.00")),
        ("Ben Brown", D("100.00")),
    ]

    assert page.negative_period == W1
    assert page.negative.count == 2 and page.negative.amount == D("-350.00")
    assert [(row.name, row.amount) for row in page.negative.rows] == [
        ("Ana Alvarez", D("-200.00")),
        ("Ben Brown", D("-150.00")),
    ]
    call_command("check_ledger")


def _changelist_count(client: Client, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    return page.context["cl"].result_count


def test_every_figure_links_to_the_list_of_its_rows(history, make_user, today):
    superuser = make_user(superuser=True)
    client = client_for(superuser)
    page = selectors.dashboard(user=superuser, today=today)
    for row in page.outstanding:
        assert _changelist_count(client, row.url) == row.balances
    assert _changelist_count(client, page.arrears.url) == 3  # A's LEASE and REPAIRS, B's LEASE
    assert _changelist_count(client, page.negative.url) == 2
    earnings = page.weekly[0]
    week = next(url for period, _, url in earnings.values if period == W1)
    assert _changelist_count(client, week) == 1
    for row in page.review:
        assert _changelist_count(client, row.url) == row.count
    html = client.get("/admin/").content.decode()
    for row in page.outstanding:
        assert row.url.replace("&", "&amp;") in html
    assert 'id="all-lists"' in html and "/admin/leases/driver/" in html  # the app list stays reachable


def test_sunday_run_shows_each_job_green_red_or_not_run(history, make_user, today):
    from operations.jobs import run_posting_job

    run_posting_job(source="repairs", period=W1)
    period, states = selectors.last_sunday_run(today=today)
    assert period == W1
    by_job = {state.job: state for state in states}
    assert by_job["repairs.post_due_installments"].ok
    assert by_job["ledger.weekly_close"].run is None
    html = client_for(make_user("Finance")).get("/admin/").content.decode()
    assert f"/admin/operations/jobrun/{by_job['repairs.post_due_installments'].run.pk}/change/" in html
    assert 'class="job-ok"' in html and 'class="job-missing"' in html


@pytest.mark.parametrize(
    ("role", "panels", "hidden"),
    [
        (
            "Cashier",
            {"panel-outstanding", "panel-weekly", "panel-arrears", "panel-negative", "action-record-payment"},
            {"panel-sunday"},
        ),
        ("Finance", {"panel-outstanding", "panel-sunday", "panel-waiting", "panel-arrears"}, {"action-record-payment"}),
        (
            "Manager",
            {"panel-outstanding", "panel-weekly", "panel-sunday", "panel-waiting", "panel-negative"},
            {"action-record-payment"},
        ),
        ("Controller", {"panel-outstanding", "panel-sunday", "panel-negative"}, {"action-record-payment"}),
    ],
)
def test_each_role_sees_what_its_work_needs(history, make_user, role, panels, hidden):
    html = client_for(make_user(role)).get("/admin/").content.decode()
    shown = set(re.findall(r'id="((?:panel|action)-[a-z-]+)"', html))
    assert panels <= shown and not hidden & shown, shown


def _grow_fleet(fleet, n: int, period) -> None:
    for i in range(n):
        lease = fleet.lease()
        charge(lease, "LEASE", "100.00", f"GROW-{lease.pk}", period)
        charge(lease, "REPAIRS", f"{10 + i}.00", f"GROW-R-{lease.pk}", period)


def test_query_count_does_not_grow_with_the_fleet(history, fleet, make_user, django_assert_max_num_queries):
    client = client_for(make_user(superuser=True))
    with django_assert_max_num_queries(30) as small:
        assert client.get("/admin/").status_code == 200
    _grow_fleet(fleet, 12, W1)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        assert client.get("/admin/").status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
