"""The DTR and trip API (SPEC §7): lists with filters, one DTR, its PDF, the Controller's void."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from batpay.roles import CASHIER, CONTROLLER, FINANCE, MANAGER
from ledger import services
from ledger.models import Category
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport
from statements.tests.trip_files import import_lines, trip, worked_example

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)
DTRS = "/api/dtrs/"


def assert_error(response, status, field=None, code=None):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "fields"} and body["message"]
    if field:
        assert field in body["fields"], body
    if code:
        assert body["code"] == code


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def role(make_user, api_client_for):
    return lambda name: api_client_for(make_user(name))


@pytest.fixture
def week(fleet):
    """Two weeks of three leases; the first lease's driver is Amadou Diallo."""
    leases = [fleet.lease() for _ in range(3)]
    driver = leases[0].primary_driver
    driver.first_name, driver.last_name = "Amadou", "Diallo"
    driver.save()
    for n, lease in enumerate(leases):
        import_lines(worked_example(lease, P1, prefix=f"L{n}"))
        services.create_obligation(
            category=Category.LEASE, amount=D("500.00"), source_reference=f"LEASE-{n}", driver=lease.primary_driver,
            lease=lease, period=P1,
        )  # fmt: skip
    for period in (P1, P2):
        close_earnings(period=period)
        generate_dtrs(period=period, render=False)
    return leases


def numbers(response):
    assert response.status_code == 200, response.json()
    return [row["dtr_number"] for row in response.json()["results"]]


def test_the_list_filters_by_period_lease_driver_status_and_search(week, role):
    manager = role(MANAGER)
    first = DriverTransactionReport.objects.get(lease=week[0], period=P1)

    assert len(numbers(manager.get(DTRS))) == 6
    assert len(numbers(manager.get(DTRS, {"period": "2025-09-28"}))) == 3
    assert numbers(manager.get(DTRS, {"period": "2025-09-28", "lease_id": week[0].pk})) == [first.dtr_number]
    assert len(numbers(manager.get(DTRS, {"driver_id": week[0].primary_driver_id}))) == 2
    assert numbers(manager.get(DTRS, {"search": "diallo", "period": "2025-09-28"})) == [first.dtr_number]
    assert numbers(manager.get(DTRS, {"search": first.dtr_number.lower()})) == [first.dtr_number]
    assert numbers(manager.get(DTRS, {"status": "VOIDED"})) == []
    ordered = manager.get(DTRS, {"ordering": "dtr_number", "period": "2025-09-28"})
    assert numbers(ordered) == sorted(numbers(ordered))
    row = manager.get(DTRS, {"lease_id": week[0].pk, "period": "2025-09-28"}).json()["results"][0]
    assert (row["card_earnings"], row["balance_carried_forward"], row["total_due_to_driver"]) == (
        "465.00",
        "226.25",
        "0.00",
    )
    assert (row["driver_name"], row["period_end"], row["pdf_url"]) == (
        "Amadou Diallo",
        "2025-10-04",
        f"/api/dtrs/{first.dtr_number}/pdf",
    )
    assert "snapshot" not in row


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2025-09-29"}, "period"),
        ({"period": "soon"}, "period"),
        ({"lease_id": "x"}, "lease_id"),
        ({"lease_id": str(2**70)}, "lease_id"),
        ({"status": "LOST"}, "status"),
        ({"ordering": "snapshot"}, "ordering"),
    ],
)
def test_bad_filters_are_400s_naming_the_parameter(week, role, params, field):
    assert_error(role(MANAGER).get(DTRS, params), 400, field)


def test_one_dtr_with_its_snapshot(week, role):
    report = DriverTransactionReport.objects.get(lease=week[0], period=P2)

    body = role(FINANCE).get(f"{DTRS}{report.dtr_number}/").json()

    assert body["dtr_number"] == report.dtr_number
    lease = next(c for c in body["snapshot"]["categories"] if c["category"] == "LEASE")
    assert (lease["prior_balance"], lease["balance_carried_forward"]) == ("226.25", "226.25")
    assert_error(role(FINANCE).get(f"{DTRS}DTR-2025-999999/"), 404, code="not_found")


def test_the_pdf_downloads_for_whoever_may_see_dtrs(week, role):
    report = DriverTransactionReport.objects.get(lease=week[0], period=P1)
    url = f"{DTRS}{report.dtr_number}/pdf"

    response = role(CASHIER).get(url, HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{report.dtr_number}.pdf"'
    assert response.content.startswith(b"%PDF")
    report.refresh_from_db()
    assert report.pdf  # rendered on demand, and kept
    assert_error(APIClient().get(url), 401)
    assert_error(role(CASHIER).get(f"{DTRS}DTR-2025-999999/pdf", HTTP_ACCEPT="application/pdf"), 404)


def test_a_controller_voids_a_dtr_and_gets_its_new_version(week, role):
    report = DriverTransactionReport.objects.get(lease=week[0], period=P1)
    url = f"{DTRS}{report.dtr_number}/void"
    body = json.dumps({"reason": "Lease charge disputed by the driver"})

    for refused in (FINANCE, MANAGER, CASHIER):
        assert_error(role(refused).post(url, body, content_type="application/json"), 403)
    controller = role(CONTROLLER)
    assert_error(controller.post(url, {"reason": "short"}, format="json"), 400, "reason")
    assert_error(controller.post(url, {}, format="json"), 400, "reason")
    response = controller.post(url, body, content_type="application/json")

    assert response.status_code == 200, response.json()
    voided, replacement = response.json()["voided"], response.json()["replacement"]
    assert (voided["status"], voided["void_reason"], voided["superseded_by"]) == (
        "VOIDED",
        "Lease charge disputed by the driver",
        replacement["dtr_number"],
    )
    assert (replacement["status"], replacement["version"], replacement["supersedes"]) == (
        "ISSUED",
        2,
        report.dtr_number,
    )
    assert replacement["total_due_to_driver"] == "0.00"
    assert_error(controller.post(url, body, content_type="application/json"), 409, code="already_voided")
    assert_error(controller.post(f"{DTRS}DTR-2025-999999/void", body, content_type="application/json"), 404)


def test_a_page_costs_the_same_queries_whatever_its_size(week, role):
    manager = role(MANAGER)
    manager.get(DTRS)  # token and permission caches

    def queries(size):
        with CaptureQueriesContext(connection) as captured:
            assert len(manager.get(DTRS, {"page_size": size}).json()["results"]) == size
        return len(captured)

    assert queries(1) == queries(6)


def test_trips_and_kept_rows_are_listed(week, role):
    import_lines([trip("BAD-1", "5888888", "9Z99", dt.datetime(2025, 10, 14, 8, 0))])
    manager = role(MANAGER)

    trips = manager.get("/api/ledger/trips/", {"lease_id": week[0].pk, "payment_type": "CARD"}).json()
    rows = manager.get("/api/ledger/trip-rows/", {"kind": "UNMATCHED"}).json()
    batches = manager.get("/api/ledger/trip-imports/").json()

    assert trips["count"] == 10 and trips["results"][0]["total_amount"] == "46.50"
    assert [(r["trip_id"], r["line_number"]) for r in rows["results"]] == [("BAD-1", 2)]
    assert batches["count"] == 4 and batches["results"][0]["unmatched"] == 1
    assert_error(manager.get("/api/ledger/trips/", {"period": "2025-10-01"}), 400, "period")
