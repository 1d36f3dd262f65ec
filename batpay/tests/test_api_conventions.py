"""The API conventions of SPEC §1 and §7, shown on the fleet endpoints (issue 2's "Must show")."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leases import services
from leases.models import Driver, Lease

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "fields"}
DRIVER = {"first_name": "Ana", "last_name": "Rivera", "tlc_license_number": "5123456"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def finance_api(make_user, api_client_for) -> APIClient:
    return api_client_for(make_user("Finance"))


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if code:
        assert body["code"] == code
    return body


def test_without_credentials_the_api_answers_401_in_the_error_shape():
    client = APIClient()

    assert_error(client.get("/api/drivers/"), 401, "not_authenticated")
    assert_error(client.post("/api/leases/", {}, format="json"), 401, "not_authenticated")
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(client.get("/api/drivers/"), 401, "authentication_failed")


def test_a_token_from_the_token_endpoint_lists_drivers(make_user):
    user = make_user("Manager", username="mara")
    client = APIClient()

    issued = client.post("/api/auth/token/", {"username": "mara", "password": "pw-for-tests-1"}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.json()['token']}")
    listed = client.get("/api/drivers/")

    assert issued.status_code == 200
    assert listed.status_code == 200
    assert listed.json()["count"] == 0
    assert user.auth_token.key == issued.json()["token"]


def test_a_wrong_password_is_a_400_in_the_error_shape(make_user):
    make_user("Manager", username="mara")

    response = APIClient().post("/api/auth/token/", {"username": "mara", "password": "wrong"}, format="json")

    assert_error(response, 400, "invalid")
    assert "token" not in response.json()


def test_a_manager_cannot_create_a_driver_and_finance_can(make_user, api_client_for):
    manager = api_client_for(make_user("Manager"))
    finance = api_client_for(make_user("Finance"))

    refused = manager.post("/api/drivers/", DRIVER, format="json")
    created = finance.post("/api/drivers/", DRIVER, format="json")

    assert_error(refused, 403, "permission_denied")
    assert created.status_code == 201
    assert list(Driver.objects.values_list("tlc_license_number", flat=True)) == ["5123456"]
    assert manager.get(f"/api/drivers/{created.json()['id']}/").status_code == 200


def test_an_empty_body_is_a_400_naming_the_required_fields(finance_api):
    response = finance_api.post("/api/drivers/", {}, format="json")
    no_body = finance_api.post("/api/leases/", content_type="application/json")

    body = assert_error(response, 400, "invalid")
    assert {"first_name", "last_name", "tlc_license_number"} <= set(body["fields"])
    lease_fields = assert_error(no_body, 400, "invalid")["fields"]
    assert {"lease_type", "driver_id", "vehicle_id", "medallion_id", "start_date", "weekly_rate"} <= set(lease_fields)


def test_a_six_digit_tlc_license_is_a_400_naming_the_field(finance_api):
    response = finance_api.post("/api/drivers/", {**DRIVER, "tlc_license_number": "512345"}, format="json")

    assert list(assert_error(response, 400, "invalid")["fields"]) == ["tlc_license_number"]
    assert not Driver.objects.exists()


def test_a_vin_with_an_o_is_a_400_naming_the_field(finance_api):
    vehicle = {"vin": "1HGCM82633AOO4352", "plate_number": "T123456C", "make": "Honda", "model": "Accord", "year": 2022}

    response = finance_api.post("/api/vehicles/", vehicle, format="json")

    assert list(assert_error(response, 400, "invalid")["fields"]) == ["vin"]


def test_a_second_active_lease_on_a_medallion_is_a_400_naming_the_field(finance_api):
    def post(path: str, body: dict) -> int:
        response = finance_api.post(path, body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    medallion = post("/api/medallions/", {"number": "2Y47"})
    lease = {
        "lease_type": "LONG_TERM",
        "medallion_id": medallion,
        "start_date": "2025-09-28",
        "weekly_rate": "800.00",
    }
    for n in (1, 2):
        driver = post("/api/drivers/", {**DRIVER, "tlc_license_number": f"512345{n}"})
        vehicle = post("/api/vehicles/", {"vin": f"1HGCM82633A00435{n}", "plate_number": f"T12345{n}C", "make": "Kia",
                                          "model": "Niro", "year": 2024})  # fmt: skip
        response = finance_api.post(
            "/api/leases/", {**lease, "driver_id": driver, "vehicle_id": vehicle}, format="json"
        )

    body = assert_error(response, 400, "invalid")
    assert list(body["fields"]) == ["medallion_id"]
    assert "2Y47" in body["message"]
    assert Lease.objects.filter(medallion_id=medallion, status="ACTIVE").count() == 1


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("null", "application/json", 400),
        ('"text"', "application/json", 400),
        ("[" * 100_000, "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        ("first_name=Ana", "text/plain", 415),
    ],
)
def test_malformed_bodies_are_errors_in_the_shape_not_500s(finance_api, content, content_type, status):
    response = finance_api.post("/api/drivers/", content, content_type=content_type)

    assert_error(response, status)


def test_pages_have_a_size_the_client_picks_up_to_1000(finance_api):
    call_command("seed_demo", leases=1001, verbosity=0)

    default = finance_api.get("/api/leases/")
    small = finance_api.get("/api/leases/", {"page_size": 2, "page": 3})
    capped = finance_api.get("/api/leases/", {"page_size": 5000})

    assert (default.json()["count"], len(default.json()["results"])) == (1001, 50)
    assert len(small.json()["results"]) == 2
    assert "page=4" in small.json()["next"] and "page=2" in small.json()["previous"]
    assert len(capped.json()["results"]) == 1000
    assert_error(finance_api.get("/api/leases/", {"page": 999}), 404, "not_found")


def test_pages_do_not_overlap_when_the_ordering_has_ties(finance_api):
    call_command("seed_demo", leases=30, verbosity=0)

    seen = []
    for page in range(1, 6):
        response = finance_api.get("/api/leases/", {"ordering": "status", "page_size": 7, "page": page})
        seen += [row["id"] for row in response.json()["results"]]

    assert len(seen) == len(set(seen)) == 30


def test_ordering_uses_an_explicit_allow_list(finance_api, make_user):
    for n, last_name in enumerate(["Chen", "Adeyemi", "Baptiste"]):
        services.driver_create(actor=None, first_name="Sam", last_name=last_name, tlc_license_number=f"510000{n}")

    ascending = finance_api.get("/api/drivers/", {"ordering": "last_name"})
    descending = finance_api.get("/api/drivers/", {"ordering": "-tlc_license_number"})
    refused = finance_api.get("/api/drivers/", {"ordering": "email"})

    assert [d["last_name"] for d in ascending.json()["results"]] == ["Adeyemi", "Baptiste", "Chen"]
    assert [d["tlc_license_number"] for d in descending.json()["results"]] == ["5100002", "5100001", "5100000"]
    assert "ordering" in assert_error(refused, 400, "invalid")["fields"]


@pytest.mark.parametrize("path", ["/api/drivers/", "/api/vehicles/", "/api/medallions/", "/api/leases/"])
def test_a_page_costs_the_same_queries_whatever_its_size(finance_api, path, django_assert_max_num_queries):
    call_command("seed_demo", leases=60, verbosity=0)

    def queries_for(page_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = finance_api.get(path, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        return len(captured)

    assert queries_for(5) == queries_for(50)
    with django_assert_max_num_queries(6):
        finance_api.get(path, {"page_size": 60, "ordering": "-id"})


def test_metrics_are_prometheus_text(settings):
    settings.METRICS_TOKEN = ""
    call_command("seed_demo", leases=3, verbosity=0)

    response = APIClient().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "# TYPE batpay_leases gauge" in text
    assert 'batpay_leases{status="ACTIVE"} 3.0' in text
