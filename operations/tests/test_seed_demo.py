import datetime as dt
import io
import re
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from charges.models import MiscCharge, MiscCredit
from deposits.models import Deposit
from leases.models import MEDALLION_RE, TLC_LICENSE_RE, VIN_RE, Driver, Lease, Medallion, Vehicle
from operations import demo

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2025, 10, 1)


def seed(leases: int = 40, seed: int = 7, **options) -> str:
    out = io.StringIO()
    options.setdefault("history_weeks", 0)
    call_command("seed_demo", leases=leases, seed=seed, as_of=AS_OF, verbosity=0, stdout=out, **options)
    return out.getvalue()


def fleet_contents() -> list[tuple]:
    """The seeded fleet without database ids and the sequence-assigned lease numbers."""
    return [
        (
            lease.lease_type,
            lease.status,
            lease.start_date,
            lease.end_date,
            lease.weekly_rate,
            _driver(lease.primary_driver),
            sorted(_driver(d) for d in lease.additional_drivers.all()),
            (
                lease.vehicle.vin,
                lease.vehicle.plate_number,
                lease.vehicle.make,
                lease.vehicle.model,
                lease.vehicle.year,
            ),
            (lease.medallion.number, lease.medallion.medallion_type),
        )
        for lease in Lease.objects.select_related("primary_driver", "vehicle", "medallion")
        .prefetch_related("additional_drivers")
        .order_by("lease_number")
    ]


def _driver(driver: Driver) -> tuple:
    return (driver.first_name, driver.last_name, driver.tlc_license_number, driver.phone, driver.email,
            driver.status, driver.pay_to_mode)  # fmt: skip


def test_seed_demo_builds_a_valid_fleet_with_one_active_lease_per_medallion():
    output = seed(leases=40)

    assert "Seeded 40 leases" in output and re.search(r"finished in \d+\.\d\d s", output)
    leases = list(Lease.objects.select_related("vehicle", "medallion"))
    assert len(leases) == Medallion.objects.count() == Vehicle.objects.count() == 40
    assert {lease.status for lease in leases} == {Lease.Status.ACTIVE}
    assert len({lease.medallion_id for lease in leases}) == 40
    assert all(re.fullmatch(r"LS-\d{6}", lease.lease_number) for lease in leases)
    assert Driver.objects.count() > 40  # some leases have additional drivers
    for number in Driver.objects.values_list("tlc_license_number", flat=True):
        assert re.fullmatch(TLC_LICENSE_RE, number)
    for lease in leases:
        vin = lease.vehicle.vin
        assert re.fullmatch(VIN_RE, vin) and vin[8] == demo.vin_check_digit(vin)
        assert re.fullmatch(r"T\d{6}C", lease.vehicle.plate_number)
        assert re.fullmatch(MEDALLION_RE, lease.medallion.number)
        low, high = demo.LEASE_TERMS[lease.lease_type].weekly_rate
        assert low <= lease.weekly_rate <= high and lease.weekly_rate % 5 == 0
        assert lease.start_date <= AS_OF and (lease.end_date is None or lease.end_date >= AS_OF)
        wav_model = (lease.vehicle.make, lease.vehicle.model) in {(m.make, m.model) for m in demo.WAV_MODELS}
        assert wav_model == (lease.medallion.medallion_type == Medallion.Type.WAV)
    assert len(Counter(lease.lease_type for lease in leases)) >= 3


def test_the_vin_check_digit_matches_a_published_vin():
    assert demo.vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert demo.vin_check_digit("11111111111111111") == "1"


def test_the_same_seed_gives_the_same_fleet():
    # Without demo tolls and violations, whose ledger charges would keep the fleet from being deleted between runs.
    seed(seed=11, no_tolls=True, violations=False, charges=False)
    first = fleet_contents()
    Lease.objects.all().delete()
    for model in (Driver, Vehicle, Medallion):
        model.objects.all().delete()

    seed(seed=11, no_tolls=True, violations=False, charges=False)
    again = fleet_contents()
    Lease.objects.all().delete()
    for model in (Driver, Vehicle, Medallion):
        model.objects.all().delete()
    seed(seed=12, no_tolls=True, violations=False, charges=False)

    assert again == first
    assert fleet_contents() != first


def test_seed_demo_refuses_a_fleet_that_has_data():
    seed(leases=3)

    with pytest.raises(CommandError, match="already has data"):
        seed(leases=3, seed=99)
    with pytest.raises(CommandError, match="between 0 and"):
        seed(leases=demo.MEDALLION_CAPACITY + 1)

    assert Lease.objects.count() == 3


def test_with_users_adds_one_user_per_role_once(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    seed(leases=0, with_users=True)
    output = seed(leases=0, with_users=True)

    users = get_user_model().objects.filter(username__in=["finance", "cashier", "manager", "controller"])
    assert {(user.username, user.groups.get().name) for user in users} == {
        ("finance", "Finance"),
        ("cashier", "Cashier"),
        ("manager", "Manager"),
        ("controller", "Controller"),
    }
    assert all(user.check_password("demo-pass-1") and user.is_staff for user in users)
    assert output.count("left as it is") == 4
    assert not Lease.objects.exists()


def test_the_demo_agrees_deposits_and_enters_misc_charges_and_credits():
    output = seed(leases=12)

    assert "12 security deposits and 12 misc charges and credits" in output
    assert Deposit.objects.count() == 12 and Deposit.objects.filter(collection="AT_ONCE").count() == 4
    assert (MiscCharge.objects.count(), MiscCredit.objects.count()) == (10, 2)
    call_command("check_ledger")
