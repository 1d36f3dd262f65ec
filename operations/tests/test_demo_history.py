"""The demo fleet's history (operations/demo_history.py): eight weeks by default, lived through the
real services, deterministic for a seed — here three weeks of a small fleet, to stay quick."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from leases.models import Lease
from ledger.models import Posting, Receipt
from loans.models import Loan
from operations import demo_history
from operations.models import JobRun
from repairs.models import RepairInvoice
from statements.models import DriverTransactionReport, Trip

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2025, 11, 19)  # a Wednesday: the last closed week is that of 2025-11-09
PERIODS = [dt.date(2025, 10, 26), dt.date(2025, 11, 2), dt.date(2025, 11, 9)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", leases=12, seed=5, as_of=AS_OF, verbosity=0, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_the_history_plan_is_the_same_for_the_same_seed_and_differs_for_another():
    seed(history_weeks=0)
    leases = list(Lease.objects.select_related("primary_driver", "medallion").order_by("pk"))

    first = demo_history.plan_history(leases=leases, seed=5, as_of=AS_OF, weeks=8)
    again = demo_history.plan_history(leases=leases, seed=5, as_of=AS_OF, weeks=8)
    other = demo_history.plan_history(leases=leases, seed=6, as_of=AS_OF, weeks=8)

    assert first == again and first != other
    assert first.periods == demo_history.history_periods(as_of=AS_OF, weeks=8)
    assert first.periods[-1] == PERIODS[-1] and len(first.periods) == 8


def test_the_history_closes_every_week_with_its_trips_payments_plans_dtrs_and_a_void():
    output = seed(history_weeks=3)

    running = {period: Lease.objects.filter(start_date__lte=period).count() for period in PERIODS}
    closes = JobRun.objects.filter(job="ledger.weekly_close", status="SUCCEEDED")
    assert sorted(closes.values_list("period", flat=True)) == PERIODS
    issued = dict(DriverTransactionReport.objects.filter(status="ISSUED").values_list("period").annotate(n=Count("pk")))
    assert issued == running  # one DTR per lease running that week
    assert all(Trip.objects.filter(period=period).exists() for period in PERIODS)
    # Every lease that ran in the first week was billed from it: three weeks of lease charges.
    lease_charges = Posting.objects.filter(category="LEASE", entry_type="DEBIT", reverses__isnull=True)
    assert {p.period for p in lease_charges} == set(PERIODS)
    # Repairs and loans entered in the first week have three installments posted each.
    for model in (RepairInvoice, Loan):
        plans = list(model.objects.all())
        assert plans and all(plan.status in ("OPEN", "CLOSED") for plan in plans)  # CLOSED: paid in full
        for plan in plans:
            posted = plan.installments.filter(posting__isnull=False).count()
            assert posted == min(3, plan.installments.count()), plan
    assert Receipt.objects.filter(kind="EARNINGS").exists() and Receipt.objects.filter(kind="INTERIM_PAYMENT").exists()
    voided = Posting.objects.get(reverses__isnull=False)
    assert voided.reason == "Entered twice at the window: the driver paid once."
    assert "History: 3 weeks closed (2025-10-26 to 2025-11-09)" in output
    call_command("check_ledger")


def test_history_cannot_be_lived_in_the_future():
    with pytest.raises(Exception, match="cannot be in the future"):
        call_command("seed_demo", leases=2, as_of=dt.date(2099, 1, 1), stdout=io.StringIO(), stderr=io.StringIO())
