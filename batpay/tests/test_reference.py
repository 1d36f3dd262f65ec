"""Reference rows come back after a flush (a test truncating every table, `manage.py flush`)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from batpay.roles import CASHIER, CONTROLLER, FINANCE, MANAGER
from charges.models import MISC_CHARGE_TYPES, MiscChargeType
from violations.models import TLC_VIOLATION_TYPES, TlcViolationType


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_the_standard_types_and_roles_in_place():
    MiscChargeType.objects.create(name="Towing", description="Added by staff")
    call_command("flush", interactive=False, verbosity=0)
    assert sorted(TlcViolationType.objects.values_list("name", flat=True)) == sorted(TLC_VIOLATION_TYPES)
    assert sorted(MiscChargeType.objects.values_list("name", "description")) == sorted(MISC_CHARGE_TYPES)
    assert set(Group.objects.values_list("name", flat=True)) >= {FINANCE, CASHIER, MANAGER, CONTROLLER}


@pytest.mark.django_db
def test_an_edited_or_added_type_is_left_alone():
    from django.apps import apps

    from batpay.reference import reference_rows

    MiscChargeType.objects.filter(name="Cleaning").update(description="Edited by staff")
    MiscChargeType.objects.create(name="Towing", description="Added by staff")
    reference_rows("charges", "MiscChargeType", [{"name": n, "description": d} for n, d in MISC_CHARGE_TYPES])(
        using="default", apps=apps
    )
    assert MiscChargeType.objects.get(name="Cleaning").description == "Edited by staff"
    assert MiscChargeType.objects.filter(name="Towing").exists()
    assert MiscChargeType.objects.count() == len(MISC_CHARGE_TYPES) + 1
