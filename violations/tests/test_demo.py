"""seed_demo gives the demo fleet parking violations (through the real import) and TLC summonses."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from ledger.models import ObligationBalance
from violations.models import TlcSummons, Violation, ViolationImport

pytestmark = pytest.mark.django_db


def test_seed_demo_charges_violations_and_summonses():
    call_command("seed_demo", leases=60, as_of=dt.date(2025, 10, 8), stdout=io.StringIO(), stderr=io.StringIO())
    batch = ViolationImport.objects.get()
    assert batch.invalid == 0 and batch.new_summonses == Violation.objects.count() > 0
    charged = Violation.objects.filter(review="ATTRIBUTED")
    assert charged.exists()
    assert ObligationBalance.objects.filter(category="PVB").count() == charged.count()
    paid = TlcSummons.objects.filter(disposition="PAID")
    assert ObligationBalance.objects.filter(category="TLC").count() == paid.count()
    call_command("check_ledger")
