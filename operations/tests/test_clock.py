"""The Sunday jobs, and the bench's trips, on the Sundays the clock changes (docs/rules.md, "Clock")."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.conf import settings

from batpay.testing import FALL_BACK, SPRING_FORWARD, set_clock
from lease_schedules.models import LeaseInstallment
from operations import jobs
from operations.bench.weekly import write_trips
from operations.models import JobRun
from operations.tasks import post_lease_installments as lease_task
from statements.models import Trip
from statements.trips import import_trips


@pytest.mark.parametrize(
    ("first_run", "retry", "week"),
    [
        ("2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00", SPRING_FORWARD - dt.timedelta(days=7)),
        ("2025-11-02T01:30:00-04:00", "2025-11-02T01:30:00-05:00", FALL_BACK - dt.timedelta(days=7)),
        ("2025-11-02T01:30:00-05:00", "2025-11-02T03:30:00-05:00", FALL_BACK - dt.timedelta(days=7)),
    ],
)
def test_a_job_without_a_period_on_a_change_sunday_works_on_the_week_that_just_ended(
    fleet, monkeypatch, first_run, retry, week
):
    set_clock(monkeypatch, first_run)
    lease = fleet.lease(start_date=week - dt.timedelta(days=7), weekly_rate=Decimal("700.00"))

    first = lease_task.apply().get()
    set_clock(monkeypatch, retry)  # the same Sunday an hour (of the wall, or of time) later
    again = lease_task.apply().get()

    assert first == {"source": "leases", "period": week.isoformat(), "installments": 2, "amount": "1400.00"}
    assert again == {"source": "leases", "period": week.isoformat(), "installments": 0, "amount": "0.00"}
    posted = LeaseInstallment.objects.filter(plan__lease=lease, status="POSTED")
    assert sorted(posted.values_list("period_start", flat=True)) == [week - dt.timedelta(days=7), week]
    assert set(JobRun.objects.values_list("period", flat=True)) == {week}


def test_the_sunday_schedule_keeps_out_of_the_hours_a_change_skips_or_repeats():
    """01:00–02:59 on a change Sunday happens twice (November) or partly never (March): a job set
    then would run twice or not at all. The schedule's clock is the business's."""
    assert jobs.SCHEDULE_TIME_ZONE == settings.TIME_ZONE
    assert all(hour not in (1, 2) for _, hour, _, _ in jobs.SUNDAY_SCHEDULE)


@pytest.mark.parametrize("week", [SPRING_FORWARD, FALL_BACK])
def test_the_benchs_trips_of_a_change_week_all_go_in(fleet, tmp_path, week):
    lease = fleet.lease(start_date=week - dt.timedelta(days=7))
    path = tmp_path / "trips.csv"
    written = write_trips(path, [(lease, [lease.primary_driver.tlc_license_number])], week, 400, random.Random(3))

    with path.open("rb") as stream:
        batch = import_trips(stream=stream, file_name=path.name)

    assert (batch.rows, batch.imported, batch.kept_for_review) == (written, written, 0)
    assert set(Trip.objects.values_list("period", flat=True)) == {week}
