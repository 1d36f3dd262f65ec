import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batpay.models import AuditEvent
from leases.models import Driver, Lease, Vehicle

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "fields"}


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def api(finance, api_client_for):
    return api_client_for(finance)


def test_finance_keeps_a_driver_record(api):
    created = api.post(
        "/api/drivers/",
        {"first_name": " Kwame ", "last_name": "Mensah", "tlc_license_number": "5123456", "pay_to_mode": "CHECK"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    driver = created.json()
    assert driver["full_name"] == "Kwame Mensah"
    assert (driver["status"], driver["pay_to_mode"]) == ("ACTIVE", "CHECK")

    changed = api.patch(f"/api/drivers/{driver['id']}/", {"status": "SUSPENDED"}, format="json")
    fetched = api.get(f"/api/drivers/{driver['id']}/")

    assert changed.status_code == 200
    assert fetched.json()["status"] == "SUSPENDED"
    assert fetched.json()["tlc_license_number"] == "5123456"
    assert AuditEvent.objects.filter(object_id=str(driver["id"])).count() == 2


def test_lease_api_reads_and_writes_ids(api, fleet):
    driver, co_driver = fleet.driver(), fleet.driver()
    vehicle, medallion = fleet.vehicle(), fleet.medallion()

    response = api.post(
        "/api/leases/",
        {
            "lease_type": "SHIFT",
            "driver_id": driver.pk,
            "additional_driver_ids": [co_driver.pk],
            "vehicle_id": vehicle.pk,
            "medallion_id": medallion.pk,
            "start_date": "2025-09-28",
            "weekly_rate": 650.5,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["lease_number"].startswith("LS-")
    assert (body["driver_id"], body["additional_driver_ids"]) == (driver.pk, [co_driver.pk])
    assert (body["vehicle_id"], body["medallion_id"], body["medallion_number"]) == (
        vehicle.pk,
        medallion.pk,
        medallion.number,
    )
    assert (body["weekly_rate"], body["end_date"], body["status"]) == ("650.50", None, "ACTIVE")
    assert body["driver_name"] == driver.full_name

    patched = api.patch(
        f"/api/leases/{body['id']}/", {"additional_driver_ids": [], "end_date": "2026-09-26"}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["additional_driver_ids"], patched.json()["end_date"]) == ([], "2026-09-26")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"driver_id": 999_999}, "driver_id"),
        ({"vehicle_id": 999_999}, "vehicle_id"),
        ({"medallion_id": 999_999}, "medallion_id"),
        ({"additional_driver_ids": [999_999]}, "additional_driver_ids"),
        ({"driver_id": "abc"}, "driver_id"),
        ({"driver_id": 10**30}, "driver_id"),
        ({"driver_id": 1.5}, "driver_id"),
        ({"driver_id": True}, "driver_id"),
        ({"additional_driver_ids": "1,2"}, "additional_driver_ids"),
        ({"start_date": "2025-02-30"}, "start_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2025-01-01"}, "end_date"),
        ({"weekly_rate": "abc"}, "weekly_rate"),
        ({"weekly_rate": "1e400"}, "weekly_rate"),
        ({"weekly_rate": 10**20}, "weekly_rate"),
        ({"weekly_rate": "-5"}, "weekly_rate"),
        ({"weekly_rate": "NaN"}, "weekly_rate"),
        ({"weekly_rate": "500.001"}, "weekly_rate"),
        ({"lease_type": "LIFETIME"}, "lease_type"),
        ({"status": None}, "status"),
    ],
)
def test_bad_lease_input_is_a_400_naming_the_field(api, fleet, change, field):
    body = {
        "lease_type": "DOV",
        "driver_id": fleet.driver().pk,
        "vehicle_id": fleet.vehicle().pk,
        "medallion_id": fleet.medallion().pk,
        "start_date": "2025-09-28",
        "weekly_rate": "500.00",
        **change,
    }

    response = api.post("/api/leases/", body, format="json")

    assert response.status_code == 400, response.json()
    assert set(response.json()) == ERROR_KEYS
    assert field in response.json()["fields"]
    assert not Lease.objects.exists()


def test_a_closed_lease_cannot_be_reopened(api, fleet):
    lease = fleet.lease(status=Lease.Status.TERMINATED)

    response = api.patch(f"/api/leases/{lease.pk}/", {"status": "ACTIVE"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "status" in response.json()["fields"]


def test_a_duplicate_is_a_409_naming_the_field(api, fleet):
    fleet.vehicle(vin="1HGCM82633A004352")

    response = api.post(
        "/api/vehicles/",
        {"vin": "1hgcm82633a004352", "plate_number": "T1C", "make": "Honda", "model": "Accord", "year": 2022},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate"
    assert list(response.json()["fields"]) == ["vin"]


def test_driver_filters(api, fleet):
    ana = fleet.driver(first_name="Ana", last_name="Rivera", tlc_license_number="5111111", pay_to_mode="CHECK")
    fleet.driver(first_name="Ana", last_name="Chen", tlc_license_number="5222222", status="SUSPENDED")
    fleet.driver(first_name="Wei", last_name="Rivera", tlc_license_number="6111111")

    assert ids(api.get("/api/drivers/", {"search": "ana rivera"})) == [ana.pk]
    assert ids(api.get("/api/drivers/", {"search": "511"})) == [ana.pk]
    assert ids(api.get("/api/drivers/", {"pay_to_mode": "CHECK"})) == [ana.pk]
    assert len(ids(api.get("/api/drivers/", {"status": "ACTIVE"}))) == 2
    refused = api.get("/api/drivers/", {"status": "RETIRED"})
    assert refused.status_code == 400
    assert "status" in refused.json()["fields"]


def test_vehicle_and_medallion_filters(api, fleet):
    kia = fleet.vehicle(make="Kia", model="Niro", year=2022, plate_number="T777777C")
    fleet.vehicle(make="Toyota", year=2022)
    wav = fleet.medallion(number="5X52", medallion_type="WAV")
    fleet.medallion(number="5X53")

    assert ids(api.get("/api/vehicles/", {"make": "kia"})) == [kia.pk]
    assert ids(api.get("/api/vehicles/", {"search": "777777"})) == [kia.pk]
    assert ids(api.get("/api/vehicles/", {"search": kia.vin[-8:].lower()})) == [kia.pk]
    assert len(ids(api.get("/api/vehicles/", {"year": 2022}))) == 2
    for year in ("abc", "99999999999999999999", "1.5"):
        response = api.get("/api/vehicles/", {"year": year})
        assert response.status_code == 400
        assert "year" in response.json()["fields"]
    assert ids(api.get("/api/medallions/", {"medallion_type": "WAV"})) == [wav.pk]
    assert ids(api.get("/api/medallions/", {"search": "x52"})) == [wav.pk]


def test_lease_filters(api, fleet):
    first = fleet.lease(lease_type="DOV", start_date=dt.date(2025, 1, 5))
    second = fleet.lease(lease_type="SHIFT", start_date=dt.date(2025, 6, 1), status="SUSPENDED")
    third = fleet.lease(lease_type="SHIFT", start_date=dt.date(2025, 9, 28), driver_id=first.primary_driver_id)

    assert ids(api.get("/api/leases/", {"status": "SUSPENDED"})) == [second.pk]
    assert set(ids(api.get("/api/leases/", {"lease_type": "SHIFT"}))) == {second.pk, third.pk}
    assert set(ids(api.get("/api/leases/", {"driver_id": first.primary_driver_id}))) == {first.pk, third.pk}
    assert ids(api.get("/api/leases/", {"vehicle_id": second.vehicle_id})) == [second.pk]
    assert ids(api.get("/api/leases/", {"medallion_id": third.medallion_id})) == [third.pk]
    window = {"start_date_after": "2025-06-01", "start_date_before": "2025-09-27"}
    assert ids(api.get("/api/leases/", window)) == [second.pk]
    assert ids(api.get("/api/leases/", {"search": second.lease_number[-4:]})) == [second.pk]
    assert ids(api.get("/api/leases/", {"search": first.medallion.number.lower()})) == [first.pk]
    for bad in ({"driver_id": "abc"}, {"driver_id": 10**30}, {"start_date_after": "2025-13-01"}, {"search": "x" * 101}):
        response = api.get("/api/leases/", bad)
        assert response.status_code == 400, bad
        assert set(response.json()) == ERROR_KEYS


def test_ordering_is_limited_to_the_allow_list(api, fleet):
    rates = ["700.00", "450.00", "600.00"]
    for rate in rates:
        fleet.lease(weekly_rate=rate)

    ordered = api.get("/api/leases/", {"ordering": "-weekly_rate"})
    assert [row["weekly_rate"] for row in ordered.json()["results"]] == sorted(rates, reverse=True)
    for ordering in ("primary_driver__last_name", "--id", "-", "weekly_rate,password"):
        refused = api.get("/api/leases/", {"ordering": ordering})
        assert refused.status_code == 400, ordering
        assert "ordering" in refused.json()["fields"]


def test_deleting_needs_the_delete_permission_and_an_unused_row(api, admin_api, fleet):
    lease = fleet.lease()
    spare = fleet.vehicle()

    assert api.delete(f"/api/vehicles/{spare.pk}/").status_code == 403
    in_use = admin_api.delete(f"/api/drivers/{lease.primary_driver_id}/")
    gone = admin_api.delete(f"/api/vehicles/{spare.pk}/")

    assert in_use.status_code == 409
    assert set(in_use.json()) == ERROR_KEYS
    assert gone.status_code == 204
    assert not Vehicle.objects.filter(pk=spare.pk).exists()
    assert Driver.objects.filter(pk=lease.primary_driver_id).exists()


def test_unknown_resources_and_methods_answer_in_the_error_shape(api, fleet):
    driver = fleet.driver()

    for path in ("/api/drivers/999999/", "/api/drivers/abc/", f"/api/drivers/{10**30}/", "/api/nothing/"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    put = api.put(f"/api/drivers/{driver.pk}/", {}, format="json")
    assert put.status_code == 405
    assert put.json()["code"] == "method_not_allowed"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
FIELDS = {
    "/api/drivers/": ["first_name", "last_name", "tlc_license_number", "phone", "email", "status", "pay_to_mode"],
    "/api/vehicles/": ["vin", "plate_number", "make", "model", "year"],
    "/api/medallions/": ["number", "medallion_type"],
    "/api/leases/": ["lease_type", "driver_id", "additional_driver_ids", "vehicle_id", "medallion_id", "start_date",
                     "end_date", "weekly_rate", "status"],
}  # fmt: skip


LIST_PARAMETERS = ["search", "ordering", "page", "page_size", "start_date_after", "start_date_before"]


@given(path=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_no_input_gives_a_500(admin_api, path, data):
    body = data.draw(st.dictionaries(st.sampled_from(FIELDS[path]), json_values) | json_values)
    query = data.draw(st.dictionaries(st.sampled_from(FIELDS[path] + LIST_PARAMETERS), st.text(max_size=20)))

    created = admin_api.post(path, json.dumps(body), content_type="application/json")
    patched = admin_api.patch(f"{path}1/", json.dumps(body), content_type="application/json")
    listed = admin_api.get(path, query)

    for response in (created, patched, listed):
        assert response.status_code < 500
        if response.status_code >= 400:
            assert set(response.json()) == ERROR_KEYS


def test_the_browsable_api_renders_rows_and_their_forms(client, make_user, fleet):
    lease = fleet.lease()
    client.force_login(make_user(superuser=True))

    for path in ("/api/leases/", f"/api/leases/{lease.pk}/", f"/api/drivers/{lease.primary_driver_id}/"):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, path
        assert "text/html" in response["Content-Type"]
    assert lease.lease_number in client.get(f"/api/leases/{lease.pk}/", HTTP_ACCEPT="text/html").content.decode()
