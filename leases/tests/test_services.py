import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from batpay.errors import Conflict, ErrorCode, InvalidInput
from batpay.models import AuditEvent
from leases import services
from leases.models import Driver, Lease, Medallion, Vehicle
from leases.testing import START, FleetFactory

pytestmark = pytest.mark.django_db


def test_driver_create_normalises_input_and_records_who_did_it(finance):
    driver = services.driver_create(
        actor=finance,
        first_name="  Ana   María ",
        last_name=" Rivera",
        tlc_license_number=" 512 3456 ",
        email="Ana.Rivera@EXAMPLE.com ",
    )

    driver.refresh_from_db()
    assert (driver.first_name, driver.last_name, driver.tlc_license_number) == ("Ana María", "Rivera", "5123456")
    assert driver.email == "Ana.Rivera@example.com"
    assert (driver.status, driver.pay_to_mode) == (Driver.Status.ACTIVE, Driver.PayTo.ACH)
    event = AuditEvent.objects.get(action="driver.create")
    assert (event.actor, event.object_id) == (finance, str(driver.pk))
    assert event.payload["values"]["tlc_license_number"] == "5123456"


@pytest.mark.parametrize("license_number", ["512345", "51234567", "51234a6", ""])
def test_a_tlc_license_is_exactly_seven_digits(finance, license_number):
    with pytest.raises(InvalidInput) as refused:
        services.driver_create(actor=finance, first_name="A", last_name="B", tlc_license_number=license_number)

    assert "tlc_license_number" in refused.value.fields
    assert not Driver.objects.exists()


def test_a_tlc_license_already_on_file_is_a_duplicate(fleet, finance):
    fleet.driver(tlc_license_number="5123456")

    with pytest.raises(Conflict) as refused:
        services.driver_create(actor=finance, first_name="A", last_name="B", tlc_license_number="5123456 ")

    assert refused.value.code == ErrorCode.DUPLICATE
    assert list(refused.value.fields) == ["tlc_license_number"]
    assert Driver.objects.count() == 1


def test_vin_is_upper_cased_and_refused_with_i_o_or_q(finance, fleet):
    vehicle = fleet.vehicle(vin=" 1hgcm82633a004352 ", plate_number="t 123456 c")
    assert (vehicle.vin, vehicle.plate_number) == ("1HGCM82633A004352", "T123456C")

    for vin in ("1HGCM82633A0O4352", "1HGCM82633A0I4352", "1HGCQ82633A004352", "1HGCM82633A00435"):
        with pytest.raises(InvalidInput) as refused:
            services.vehicle_create(actor=finance, vin=vin, plate_number="T1C", make="Honda", model="Accord", year=2020)
        assert list(refused.value.fields) == ["vin"]

    with pytest.raises(Conflict) as duplicate:
        fleet.vehicle(vin="1hgcm82633a004352")
    assert duplicate.value.code == ErrorCode.DUPLICATE
    assert Vehicle.objects.count() == 1


def test_a_model_year_is_at_most_next_year(finance, fleet):
    next_year = dt.date.today().year + 1
    assert fleet.vehicle(year=next_year).year == next_year

    with pytest.raises(InvalidInput) as refused:
        fleet.vehicle(year=next_year + 1)
    assert list(refused.value.fields) == ["year"]


def test_medallion_numbers_are_upper_cased_unique_and_shaped_like_2y47(fleet):
    assert fleet.medallion(number=" 2y47").number == "2Y47"

    with pytest.raises(Conflict):
        fleet.medallion(number="2Y47")
    for number in ("22Y4", "Y247", "2Y4", "2Y477"):
        with pytest.raises(InvalidInput) as refused:
            fleet.medallion(number=number)
        assert list(refused.value.fields) == ["number"]
    assert Medallion.objects.count() == 1


def test_lease_create_numbers_the_lease_and_links_its_drivers(fleet):
    co_driver, second = fleet.driver(), fleet.driver()

    lease = fleet.lease(
        lease_type=Lease.Type.SHIFT,
        additional_driver_ids=[co_driver.pk, second.pk, co_driver.pk],
        weekly_rate="650",
    )

    lease.refresh_from_db()
    assert lease.lease_number.startswith("LS-") and len(lease.lease_number) == 9
    assert lease.weekly_rate == Decimal("650.00")
    assert lease.status == Lease.Status.ACTIVE
    assert set(lease.additional_drivers.values_list("pk", flat=True)) == {co_driver.pk, second.pk}
    event = AuditEvent.objects.get(action="lease.create")
    assert event.payload["values"]["additional_driver_ids"] == sorted([co_driver.pk, second.pk])
    assert fleet.lease().lease_number > lease.lease_number


def test_a_medallion_has_at_most_one_active_lease(fleet):
    first = fleet.lease()

    with pytest.raises(InvalidInput) as refused:
        fleet.lease(medallion_id=first.medallion_id)

    assert list(refused.value.fields) == ["medallion_id"]
    assert first.lease_number in refused.value.message
    # Closed leases are history: they may share the medallion with the active one.
    ended = fleet.lease(medallion_id=first.medallion_id, status=Lease.Status.TERMINATED)
    assert Lease.objects.filter(medallion_id=first.medallion_id).count() == 2
    assert ended.status == Lease.Status.TERMINATED


def test_the_database_constraint_is_reported_as_the_same_error(fleet, monkeypatch):
    first = fleet.lease()
    # As if a concurrent writer had checked before `first` committed: only the constraint is left.
    monkeypatch.setattr(services, "_check_medallion", lambda lease: None)

    with pytest.raises(InvalidInput) as refused:
        fleet.lease(medallion_id=first.medallion_id)

    assert list(refused.value.fields) == ["medallion_id"]
    assert Lease.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_on_one_medallion_leave_one_active_lease(make_user):
    fleet = FleetFactory(actor=make_user("Finance"))
    medallion = fleet.medallion()
    parts = [(fleet.driver().pk, fleet.vehicle().pk) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(driver_id: int, vehicle_id: int) -> None:
        try:
            barrier.wait()
            fleet.lease(driver_id=driver_id, vehicle_id=vehicle_id, medallion_id=medallion.pk)
            outcomes.append("created")
        except InvalidInput as exc:
            outcomes.append(next(iter(exc.fields)))
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=part) for part in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "medallion_id"]
    assert Lease.objects.filter(medallion=medallion, status=Lease.Status.ACTIVE).count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"driver_id": 10**12}, "driver_id"),
        ({"vehicle_id": 10**12}, "vehicle_id"),
        ({"medallion_id": 10**12}, "medallion_id"),
        ({"additional_driver_ids": [10**12]}, "additional_driver_ids"),
        ({"end_date": START - dt.timedelta(days=1)}, "end_date"),
        ({"weekly_rate": "500.005"}, "weekly_rate"),
        ({"weekly_rate": "0"}, "weekly_rate"),
        ({"weekly_rate": "-1"}, "weekly_rate"),
        ({"weekly_rate": "lots"}, "weekly_rate"),
        ({"weekly_rate": "1e20"}, "weekly_rate"),
        ({"weekly_rate": "1e40"}, "weekly_rate"),
        ({"lease_type": "FOREVER"}, "lease_type"),
        ({"status": "PENDING"}, "status"),
    ],
)
def test_lease_input_is_refused_naming_the_field(fleet, values, field):
    with pytest.raises(InvalidInput) as refused:
        fleet.lease(**values)

    assert list(refused.value.fields) == [field]
    assert not Lease.objects.exists()


def test_the_primary_driver_is_not_also_an_additional_driver(fleet):
    driver, other = fleet.driver(), fleet.driver()
    with pytest.raises(InvalidInput) as refused:
        fleet.lease(driver_id=driver.pk, additional_driver_ids=[driver.pk])
    assert list(refused.value.fields) == ["additional_driver_ids"]

    lease = fleet.lease(driver_id=driver.pk, additional_driver_ids=[other.pk])
    with pytest.raises(InvalidInput) as swapped:
        services.lease_update(actor=fleet.actor, lease=lease, changes={"driver_id": other.pk})
    assert list(swapped.value.fields) == ["additional_driver_ids"]

    swapped_both = services.lease_update(
        actor=fleet.actor, lease=lease, changes={"driver_id": other.pk, "additional_driver_ids": [driver.pk]}
    )
    assert swapped_both.primary_driver_id == other.pk
    assert list(swapped_both.additional_drivers.values_list("pk", flat=True)) == [driver.pk]


def test_lease_status_follows_the_transition_table(fleet):
    lease = fleet.lease()

    suspended = services.lease_update(actor=fleet.actor, lease=lease, changes={"status": Lease.Status.SUSPENDED})
    assert suspended.status == Lease.Status.SUSPENDED
    # While it is suspended the medallion is leased to someone else; it cannot come back.
    fleet.lease(medallion_id=lease.medallion_id)
    with pytest.raises(InvalidInput) as refused:
        services.lease_update(actor=fleet.actor, lease=lease, changes={"status": Lease.Status.ACTIVE})
    assert list(refused.value.fields) == ["medallion_id"]

    terminated = services.lease_update(actor=fleet.actor, lease=lease, changes={"status": Lease.Status.TERMINATED})
    assert terminated.status == Lease.Status.TERMINATED
    for changes in ({"status": Lease.Status.SUSPENDED}, {"weekly_rate": "1.00"}):
        with pytest.raises(Conflict) as closed:
            services.lease_update(actor=fleet.actor, lease=lease, changes=changes)
        assert closed.value.code == ErrorCode.INVALID_TRANSITION
    lease.refresh_from_db()
    assert (lease.status, lease.weekly_rate) == (Lease.Status.TERMINATED, Decimal("500.00"))


def test_an_update_records_only_what_changed(fleet):
    lease = fleet.lease()

    unchanged = services.lease_update(
        actor=fleet.actor, lease=lease, changes={"weekly_rate": "500", "status": "ACTIVE"}
    )
    changed = services.lease_update(actor=fleet.actor, lease=lease, changes={"weekly_rate": Decimal("525.50")})

    assert unchanged.weekly_rate == Decimal("500.00")
    assert changed.weekly_rate == Decimal("525.50")
    updates = AuditEvent.objects.filter(action="lease.update")
    assert [event.payload["changes"] for event in updates] == [{"weekly_rate": ["500.00", "525.50"]}]


def test_driver_update_checks_the_same_rules_as_create(fleet):
    driver, other = fleet.driver(), fleet.driver()

    with pytest.raises(Conflict):
        services.driver_update(
            actor=fleet.actor, driver=driver, changes={"tlc_license_number": other.tlc_license_number}
        )
    with pytest.raises(InvalidInput):
        services.driver_update(actor=fleet.actor, driver=driver, changes={"email": "not-an-email"})
    updated = services.driver_update(
        actor=fleet.actor, driver=driver, changes={"status": "SUSPENDED", "phone": " 718 "}
    )

    assert (updated.status, updated.phone) == (Driver.Status.SUSPENDED, "718")
    assert Driver.objects.get(pk=driver.pk).tlc_license_number == driver.tlc_license_number


def test_a_row_a_lease_refers_to_cannot_be_deleted(fleet):
    co_driver = fleet.driver()
    lease = fleet.lease(additional_driver_ids=[co_driver.pk])

    for delete, kwargs in (
        (services.driver_delete, {"driver": lease.primary_driver}),
        (services.driver_delete, {"driver": co_driver}),
        (services.vehicle_delete, {"vehicle": lease.vehicle}),
        (services.medallion_delete, {"medallion": lease.medallion}),
    ):
        with pytest.raises(Conflict):
            delete(actor=fleet.actor, **kwargs)

    assert (Driver.objects.count(), Vehicle.objects.count(), Medallion.objects.count()) == (2, 1, 1)
    assert list(lease.additional_drivers.all()) == [co_driver]
    assert not AuditEvent.objects.filter(action__endswith=".delete").exists()

    services.lease_delete(actor=fleet.actor, lease=lease)
    services.driver_delete(actor=fleet.actor, driver=co_driver)
    assert not Lease.objects.exists()
    assert Driver.objects.count() == 1
    assert AuditEvent.objects.filter(action__endswith=".delete").count() == 2


def test_validate_functions_write_nothing_and_return_the_normalised_values(fleet):
    lease = fleet.lease()
    before = AuditEvent.objects.count()

    assert (
        services.vehicle_validate(
            values={"vin": "1hgcm82633a004352", "plate_number": "x1", "make": "Kia", "model": "Niro", "year": 2024}
        )["vin"]
        == "1HGCM82633A004352"
    )
    with pytest.raises(InvalidInput):
        services.lease_validate(
            values={
                "lease_type": "DOV",
                "driver_id": lease.primary_driver_id,
                "vehicle_id": lease.vehicle_id,
                "medallion_id": lease.medallion_id,
                "start_date": START,
                "weekly_rate": "1.00",
            }
        )
    assert services.lease_validate(lease=lease, values={"weekly_rate": "7"}) == {"weekly_rate": Decimal("7.00")}

    assert AuditEvent.objects.count() == before
    assert (Vehicle.objects.count(), Lease.objects.get().weekly_rate) == (1, Decimal("500.00"))
