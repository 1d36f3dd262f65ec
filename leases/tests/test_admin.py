import csv
import io

import pytest
from django.core.management import call_command
from django.test import Client

from batpay.models import AuditEvent
from leases.models import Lease, Vehicle
from leases.resources import LeaseResource

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(make_user):
    def client_for(role: str | None = None) -> Client:
        user = make_user(role, superuser=role is None)
        user.is_staff = True
        user.save()
        client = Client()
        client.force_login(user)
        return client

    return client_for


@pytest.fixture
def superuser_client(admin_client_for) -> Client:
    return admin_client_for()


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize("model", ["driver", "vehicle", "medallion", "lease"])
def test_changelists_search_and_filter_in_a_fixed_number_of_queries(
    superuser_client, model, django_assert_max_num_queries
):
    call_command("seed_demo", leases=60, history_weeks=0, verbosity=0)

    with django_assert_max_num_queries(20):
        listed = superuser_client.get(f"/admin/leases/{model}/")
    searched = superuser_client.get(f"/admin/leases/{model}/", {"q": "5"})

    assert listed.status_code == searched.status_code == 200
    assert listed.context["cl"].result_count > 0


def test_the_admin_saves_through_the_service(superuser_client):
    response = superuser_client.post(
        "/admin/leases/vehicle/add/",
        {"vin": " 1hgcm82633a004352", "plate_number": "t123456c", "make": "Honda", "model": "Accord", "year": "2022"},
    )

    assert response.status_code == 302
    vehicle = Vehicle.objects.get()
    assert (vehicle.vin, vehicle.plate_number) == ("1HGCM82633A004352", "T123456C")
    assert AuditEvent.objects.get(action="vehicle.create").actor.is_superuser


def test_the_admin_refuses_what_the_api_refuses(superuser_client, fleet):
    lease = fleet.lease(additional_driver_ids=[fleet.driver().pk])
    form = {
        "lease_type": "DOV",
        "status": "ACTIVE",
        "primary_driver": fleet.driver().pk,
        "vehicle": fleet.vehicle().pk,
        "medallion": lease.medallion_id,
        "start_date": "2025-09-28",
        "weekly_rate": "500.00",
    }

    second_active = superuser_client.post("/admin/leases/lease/add/", form)
    own_co_driver = superuser_client.post(
        "/admin/leases/lease/add/",
        {**form, "status": "SUSPENDED", "additional_drivers": [form["primary_driver"]]},
    )

    assert "medallion" in form_errors(second_active)
    assert "additional_drivers" in form_errors(own_co_driver)
    assert Lease.objects.count() == 1


def test_the_admin_changes_a_lease_through_the_transition_table(superuser_client, fleet):
    lease = fleet.lease()
    co_driver = fleet.driver()
    form = {
        "lease_type": lease.lease_type,
        "primary_driver": lease.primary_driver_id,
        "additional_drivers": [co_driver.pk],
        "vehicle": lease.vehicle_id,
        "medallion": lease.medallion_id,
        "start_date": "2025-09-28",
        "weekly_rate": "500.00",
    }

    terminated = superuser_client.post(f"/admin/leases/lease/{lease.pk}/change/", {**form, "status": "TERMINATED"})
    reopened = superuser_client.post(f"/admin/leases/lease/{lease.pk}/change/", {**form, "status": "ACTIVE"})

    assert terminated.status_code == 302
    assert "status" in form_errors(reopened)
    lease.refresh_from_db()
    assert lease.status == Lease.Status.TERMINATED
    assert list(lease.additional_drivers.all()) == [co_driver]
    event = AuditEvent.objects.get(action="lease.update")
    assert event.payload["changes"]["status"] == ["ACTIVE", "TERMINATED"]
    assert event.payload["changes"]["additional_driver_ids"] == [[], [co_driver.pk]]


def test_the_admin_deletes_through_the_service(superuser_client, fleet):
    spare = fleet.vehicle()

    response = superuser_client.post(f"/admin/leases/vehicle/{spare.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Vehicle.objects.exists()
    assert AuditEvent.objects.filter(action="vehicle.delete", object_id=str(spare.pk)).exists()


def test_export_needs_the_export_permission(admin_client_for, fleet):
    fleet.lease()
    manager, finance = admin_client_for("Manager"), admin_client_for("Finance")

    form_page = manager.get("/admin/leases/lease/export/")
    assert form_page.status_code == 200
    assert finance.get("/admin/leases/lease/export/").status_code == 403
    assert finance.get("/admin/leases/lease/").status_code == 200

    form = form_page.context["form"]
    data = {name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)}
    csv_format = next(value for value, label in form.fields["format"].choices if label.lower() == "csv")
    exported = manager.post("/admin/leases/lease/export/", {**data, "format": csv_format, "resource": 0})

    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [row["lease_number"] for row in rows] == list(Lease.objects.values_list("lease_number", flat=True))


def test_the_lease_export_names_related_rows_in_a_fixed_number_of_queries(fleet, django_assert_max_num_queries):
    co_drivers = [fleet.driver(), fleet.driver()]
    lease = fleet.lease(additional_driver_ids=[d.pk for d in co_drivers])
    for _ in range(5):
        fleet.lease()

    with django_assert_max_num_queries(4):
        dataset = LeaseResource().export(Lease.objects.all())

    row = dataset.dict[[r["lease_number"] for r in dataset.dict].index(lease.lease_number)]
    assert row["driver_tlc_license_number"] == lease.primary_driver.tlc_license_number
    assert row["medallion_number"] == lease.medallion.number
    assert row["vehicle_vin"] == lease.vehicle.vin
    assert row["additional_driver_tlc_license_numbers"] == " ".join(sorted(d.tlc_license_number for d in co_drivers))
    assert len(dataset) == 6
