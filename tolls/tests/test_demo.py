"""seed_demo gives the demo fleet a week of E-ZPass tolls through the real import."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from ledger.models import ObligationBalance
from tolls.models import Toll, TollImport

pytestmark = pytest.mark.django_db


def test_seed_demo_imports_a_week_of_tolls_for_the_fleet():
    out = io.StringIO()
    call_command("seed_demo", leases=40, seed=3, as_of=dt.date(2025, 10, 8), verbosity=0, stdout=out)

    batch = TollImport.objects.get()
    assert batch.file_name == "demo-ezpass.csv" and batch.invalid == 0
    assert batch.excluded >= 1 and batch.refunds >= 1 and batch.unmatched >= 1
    assert f"{batch.charges} E-ZPass tolls for the week before" in out.getvalue()
    # The 7 days before 10-08: those of the week closed on 10-04 are charged as the Sunday task would;
    # those of the week under way wait for it.
    charged = Toll.objects.filter(status="POSTED")
    assert set(charged.values_list("period", flat=True)) == {dt.date(2025, 9, 28)}
    assert set(Toll.objects.filter(kind="CHARGE", status="PENDING").values_list("period", flat=True)) == {
        dt.date(2025, 10, 5)
    }
    assert ObligationBalance.objects.filter(category="EZPASS").count() == charged.count()
    call_command("check_ledger", stdout=io.StringIO())
