"""Lease schedules (SPEC §2): proration, rate changes, termination, the rolling horizon, posting."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from batpay.errors import Conflict, InvalidInput
from batpay.models import AuditEvent
from batpay.periods import WEEK, period_start, periods_between
from lease_schedules import services as schedules
from lease_schedules.models import LeaseInstallment, LeaseSchedule
from lease_schedules.plan import lease_weeks, prorated
from lease_schedules.services import LEASES
from leases import services
from leases.models import Lease
from ledger import services as ledger
from ledger.selectors import balances_as_of, charges, obligation_balances
from operations.jobs import run_posting_job
from plans.services import post_installments

pytestmark = pytest.mark.django_db

WED = dt.date(2025, 10, 1)  # a Wednesday: the lease's first period has 4 of its days (Wed–Sat)
P0 = dt.date(2025, 9, 28)


@pytest.fixture
def today(monkeypatch):
    """Pin "today" (New York) for the services: `today["day"] = …` moves the calendar."""
    box = {"day": dt.date(2025, 10, 15)}
    real = timezone.localdate

    def localdate(value=None, timezone=None):
        return box["day"] if value is None else real(value, timezone)

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)
    return box


def schedule_of(lease: Lease) -> list[tuple]:
    return list(
        LeaseInstallment.objects.filter(plan__lease=lease)
        .order_by("period_start")
        .values_list("period_start", "days", "weekly_rate", "amount", "status")
    )


def ledger_charges(lease: Lease) -> dict[str, Decimal]:
    references = LeaseInstallment.objects.filter(plan__lease=lease).values_list("installment_id", flat=True)
    return {
        ref: view.original_amount
        for ref, view in obligation_balances(category="LEASE", source_references=references).items()
    }


def test_first_and_last_partial_weeks_are_prorated_to_the_cent(fleet, today):
    lease = fleet.lease(start_date=WED, end_date=dt.date(2025, 10, 20), weekly_rate=Decimal("500.00"))

    assert schedule_of(lease) == [
        (P0, 4, Decimal("500.00"), Decimal("285.71"), "SCHEDULED"),  # 500 / 7 × 4 = 285.714…
        (P0 + WEEK, 7, Decimal("500.00"), Decimal("500.00"), "SCHEDULED"),
        (P0 + 2 * WEEK, 7, Decimal("500.00"), Decimal("500.00"), "SCHEDULED"),
        (P0 + 3 * WEEK, 2, Decimal("500.00"), Decimal("142.86"), "SCHEDULED"),  # Sun–Mon: 142.857… half-up
    ]
    schedule = LeaseSchedule.objects.get(lease=lease)
    assert (schedule.schedule_id, schedule.status, schedule.start_week) == (lease.lease_number, "OPEN", P0)
    assert LeaseInstallment.objects.get(plan__lease=lease, period_start=P0).installment_id == (
        f"{lease.lease_number}-2025-09-28"
    )

    run = run_posting_job(source="leases", period=P0 + 3 * WEEK)

    assert (run.status, run.count, run.amount) == ("SUCCEEDED", 4, Decimal("1428.57"))
    assert sorted(ledger_charges(lease).values()) == sorted(
        [Decimal("285.71"), Decimal("500.00"), Decimal("500.00"), Decimal("142.86")]
    )
    assert {status for *_, status in schedule_of(lease)} == {"POSTED"}


def test_proration_is_rate_over_seven_times_days_rounded_half_up_once():
    assert prorated(Decimal("525.50"), 3) == Decimal("225.21")  # 225.214…
    assert prorated(Decimal("600.00"), 1) == Decimal("85.71")  # 85.714…
    assert prorated(Decimal("600.00"), 6) == Decimal("514.29")  # 514.285…
    assert prorated(Decimal("0.03"), 1) == Decimal("0.00")  # nothing to charge: no installment


def test_a_lease_ending_on_the_day_it_starts_is_charged_one_day(fleet, today):
    lease = fleet.lease(start_date=WED, end_date=WED, weekly_rate=Decimal("700.00"))

    assert schedule_of(lease) == [(P0, 1, Decimal("700.00"), Decimal("100.00"), "SCHEDULED")]


def test_an_open_ended_lease_is_scheduled_a_year_ahead_and_the_job_rolls_it_forward(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("450.00"))
    current = dt.date(2025, 10, 12)

    weeks = schedule_of(lease)
    assert weeks[0][0] == P0 and weeks[-1][0] == current + 52 * WEEK
    assert len(weeks) == 55 and {amount for _, _, _, amount, _ in weeks} == {Decimal("450.00")}

    today["day"] = dt.date(2025, 11, 5)  # three weeks later
    assert schedules.lease_schedules_extend() == 3
    assert schedules.lease_schedules_extend() == 0
    assert schedule_of(lease)[-1][0] == current + 55 * WEEK
    assert LeaseSchedule.objects.get(lease=lease).scheduled_through == current + 55 * WEEK


def test_a_rate_change_mid_lease_reprices_the_weeks_not_yet_charged(fleet, today):
    lease = fleet.lease(start_date=WED, end_date=dt.date(2025, 11, 5), weekly_rate=Decimal("500.00"))
    run_posting_job(source="leases", period=P0 + WEEK)  # the first two weeks are charged at 500

    services.lease_update(actor=fleet.actor, lease=lease, changes={"weekly_rate": Decimal("545.00")})

    assert schedule_of(lease) == [
        (P0, 4, Decimal("500.00"), Decimal("285.71"), "POSTED"),
        (P0 + WEEK, 7, Decimal("500.00"), Decimal("500.00"), "POSTED"),
        # Today (Wed 15 Oct) is in the week of 12 Oct: the new rate applies from that week on.
        (P0 + 2 * WEEK, 7, Decimal("545.00"), Decimal("545.00"), "SCHEDULED"),
        (P0 + 3 * WEEK, 7, Decimal("545.00"), Decimal("545.00"), "SCHEDULED"),
        (P0 + 4 * WEEK, 7, Decimal("545.00"), Decimal("545.00"), "SCHEDULED"),
        (P0 + 5 * WEEK, 4, Decimal("545.00"), Decimal("311.43"), "SCHEDULED"),  # Sun–Wed: 311.428…
    ]
    event = AuditEvent.objects.get(action="leases.schedule", payload__changed=4)
    assert event.payload["weekly_rate"] == "545.00"

    run = run_posting_job(source="leases", period=P0 + 5 * WEEK)
    assert (run.count, run.amount) == (4, Decimal("1946.43"))
    assert sum(ledger_charges(lease).values()) == Decimal("2732.14")


def test_a_past_week_not_yet_posted_keeps_the_rate_it_ran_at(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))

    services.lease_update(actor=fleet.actor, lease=lease, changes={"weekly_rate": Decimal("520.00")})

    rates = {period: rate for period, _, rate, _, _ in schedule_of(lease)}
    assert rates[P0] == rates[P0 + WEEK] == Decimal("500.00")  # both weeks are over, unposted
    assert rates[P0 + 2 * WEEK] == Decimal("520.00")


def test_termination_with_a_fee_cancels_later_weeks_prorates_the_last_and_charges_the_fee(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))
    run_posting_job(source="leases", period=P0)

    ended = schedules.lease_terminate(
        actor=fleet.actor,
        lease=lease,
        termination_date=dt.date(2025, 10, 15),  # Wednesday: 4 days (Sun–Wed) of the week of 12 Oct
        reason="Driver returned the vehicle",
        cancellation_fee=Decimal("250.00"),
    )

    assert (ended.status, ended.end_date) == ("TERMINATED", dt.date(2025, 10, 15))
    weeks = schedule_of(lease)
    assert weeks[:3] == [
        (P0, 7, Decimal("500.00"), Decimal("500.00"), "POSTED"),
        (P0 + WEEK, 7, Decimal("500.00"), Decimal("500.00"), "SCHEDULED"),
        (P0 + 2 * WEEK, 4, Decimal("500.00"), Decimal("285.71"), "SCHEDULED"),
    ]
    assert len(weeks) == 55 and {status for *_, status in weeks[3:]} == {"CANCELLED"}
    fee = obligation_balances(category="CANCELLATION_FEE", source_references=[lease.lease_number])[lease.lease_number]
    assert (fee.original_amount, fee.status) == (Decimal("250.00"), "OPEN")
    cancelled = AuditEvent.objects.get(action="leases.cancel_installments")
    assert cancelled.payload == {"from_period": "2025-10-19", "cancelled": 52}

    run = run_posting_job(source="leases", period=dt.date(2026, 3, 1))
    assert (run.count, run.amount) == (2, Decimal("785.71"))
    owed = balances_as_of(as_of=dt.date(2026, 3, 7), lease_id=lease.pk)
    assert sum(row.charged for row in owed if row.category == "LEASE") == Decimal("1285.71")
    assert [row.charged for row in owed if row.category == "CANCELLATION_FEE"] == [Decimal("250.00")]
    # Paid off, the schedule of a terminated lease closes.
    ledger.apply_interim_payment(driver=lease.primary_driver, lease=lease, amount=Decimal("1285.71"), method="CASH")
    assert LeaseSchedule.objects.get(lease=lease).status == "CLOSED"


def test_termination_without_a_fee_charges_nothing_more(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))

    schedules.lease_terminate(
        actor=fleet.actor, lease=lease, termination_date=dt.date(2025, 10, 18), reason="End of shift lease"
    )

    assert obligation_balances(category="CANCELLATION_FEE", source_references=[lease.lease_number]) == {}
    assert schedule_of(lease)[2] == (P0 + 2 * WEEK, 7, Decimal("500.00"), Decimal("500.00"), "SCHEDULED")


def test_termination_refuses_to_undo_a_week_already_charged(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))
    week = LeaseInstallment.objects.get(plan__lease=lease, period_start=P0 + 2 * WEEK)
    post_installments(source=LEASES, installment_ids=[week.installment_id], actor=fleet.actor)  # posted early

    with pytest.raises(Conflict) as refused:
        schedules.lease_terminate(
            actor=fleet.actor, lease=lease, termination_date=dt.date(2025, 10, 14), reason="Too late for that week"
        )

    assert refused.value.code == "invalid_transition" and "termination_date" in refused.value.fields
    lease.refresh_from_db()
    assert (lease.status, lease.end_date) == ("ACTIVE", None)
    assert LeaseInstallment.objects.filter(plan__lease=lease, status="CANCELLED").count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"termination_date": dt.date(2025, 9, 27)}, "termination_date"),  # before the start
        ({"reason": "  "}, "reason"),
        ({"cancellation_fee": "12.345"}, "cancellation_fee"),
        ({"cancellation_fee": "-5"}, "cancellation_fee"),
        ({"termination_date": dt.date(9999, 12, 31)}, "termination_date"),
    ],
)
def test_termination_input_is_checked(fleet, today, changes, field):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))
    values = {"termination_date": dt.date(2025, 10, 15), "reason": "Vehicle returned", **changes}

    with pytest.raises(InvalidInput) as refused:
        schedules.lease_terminate(actor=fleet.actor, lease=lease, **values)

    assert field in refused.value.fields
    assert Lease.objects.get(pk=lease.pk).status == "ACTIVE"


def test_a_status_change_to_terminated_ends_the_schedule_today(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))

    services.lease_update(actor=fleet.actor, lease=lease, changes={"status": Lease.Status.TERMINATED})

    lease.refresh_from_db()
    assert lease.end_date == dt.date(2025, 10, 15)
    assert schedule_of(lease)[2] == (P0 + 2 * WEEK, 4, Decimal("500.00"), Decimal("285.71"), "SCHEDULED")
    assert {status for *_, status in schedule_of(lease)[3:]} == {"CANCELLED"}
    with pytest.raises(Conflict):
        schedules.lease_terminate(actor=fleet.actor, lease=lease, termination_date=dt.date(2025, 10, 15), reason="x")


def test_a_cancelled_lease_cancels_its_schedule(fleet, today):
    lease = fleet.lease(start_date=dt.date(2025, 11, 2), weekly_rate=Decimal("500.00"))

    services.lease_update(actor=fleet.actor, lease=lease, changes={"status": Lease.Status.CANCELLED})

    schedule = LeaseSchedule.objects.get(lease=lease)
    assert schedule.status == "CANCELLED"
    assert {status for *_, status in schedule_of(lease)} == {"CANCELLED"}
    with pytest.raises(InvalidInput):  # a lease that never ran is cancelled, not terminated
        services.lease_update(
            actor=fleet.actor, lease=fleet.lease(start_date=dt.date(2025, 11, 2)), changes={"status": "TERMINATED"}
        )


def test_dates_change_the_unposted_weeks_and_never_a_charged_one(fleet, today):
    lease = fleet.lease(start_date=P0, end_date=dt.date(2025, 11, 1), weekly_rate=Decimal("500.00"))
    run_posting_job(source="leases", period=P0)

    longer = services.lease_update(actor=fleet.actor, lease=lease, changes={"end_date": dt.date(2025, 11, 11)})
    assert schedule_of(longer)[-1] == (dt.date(2025, 11, 9), 3, Decimal("500.00"), Decimal("214.29"), "SCHEDULED")
    shorter = services.lease_update(actor=fleet.actor, lease=lease, changes={"end_date": dt.date(2025, 10, 7)})
    assert [week[1:] for week in schedule_of(shorter)] == [
        (7, Decimal("500.00"), Decimal("500.00"), "POSTED"),
        (3, Decimal("500.00"), Decimal("214.29"), "SCHEDULED"),
        *[(7, Decimal("500.00"), Decimal("500.00"), "CANCELLED")] * 4,
        (3, Decimal("500.00"), Decimal("214.29"), "CANCELLED"),
    ]
    # Lengthened again, a cancelled week that was never charged comes back.
    again = services.lease_update(actor=fleet.actor, lease=lease, changes={"end_date": dt.date(2025, 10, 18)})
    assert [status for *_, status in schedule_of(again)][:3] == ["POSTED", "SCHEDULED", "SCHEDULED"]

    for changes, field in (({"end_date": dt.date(2025, 9, 30)}, "end_date"), ({"start_date": WED}, "start_date")):
        with pytest.raises(Conflict) as refused:
            services.lease_update(actor=fleet.actor, lease=lease, changes=changes)
        assert field in refused.value.fields
    assert ledger_charges(lease) == {f"{lease.lease_number}-2025-09-28": Decimal("500.00")}


def test_a_start_date_moves_the_whole_schedule_until_something_is_charged(fleet, today):
    lease = fleet.lease(start_date=dt.date(2025, 11, 2), weekly_rate=Decimal("500.00"))

    services.lease_update(actor=fleet.actor, lease=lease, changes={"start_date": dt.date(2025, 11, 13)})

    first = schedule_of(lease)[0]
    assert first == (dt.date(2025, 11, 9), 3, Decimal("500.00"), Decimal("214.29"), "SCHEDULED")
    assert LeaseInstallment.objects.get(plan__lease=lease, period_start=dt.date(2025, 11, 9)).sequence == 1
    with pytest.raises(InvalidInput) as refused:
        fleet.lease(start_date=dt.date(2010, 1, 1))
    assert "start_date" in refused.value.fields


def test_a_lease_entered_closed_has_no_schedule_and_a_deleted_lease_takes_its_schedule(fleet, today):
    closed = fleet.lease(status=Lease.Status.EXPIRED, end_date=dt.date(2025, 10, 4))
    mistaken = fleet.lease()

    services.lease_delete(actor=fleet.actor, lease=mistaken)

    assert not LeaseSchedule.objects.filter(lease=closed).exists()
    assert not LeaseSchedule.objects.filter(schedule_id=mistaken.lease_number).exists()
    assert not LeaseInstallment.objects.filter(installment_id__startswith=mistaken.lease_number).exists()


def test_a_new_lease_charge_takes_the_prepayment_and_pays_the_week(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))
    ledger.record_prepayment(driver=lease.primary_driver, lease=lease, amount=Decimal("600.00"), method="CASH")

    run_posting_job(source="leases", period=P0 + WEEK)

    assert [status for *_, status in schedule_of(lease)[:2]] == ["PAID", "POSTED"]


def test_the_job_links_an_installment_the_ledger_already_charged_instead_of_leaving_it_scheduled(fleet, today):
    lease = fleet.lease(start_date=P0, weekly_rate=Decimal("500.00"))
    first = LeaseInstallment.objects.get(plan__lease=lease, period_start=P0)
    charged = ledger.create_obligation(
        category="LEASE",
        amount=Decimal("500.00"),
        source_reference=first.installment_id,
        driver=lease.primary_driver,
        lease=lease,
        period=P0,
    )

    run = run_posting_job(source="leases", period=P0 + WEEK)
    again = run_posting_job(source="leases", period=P0 + WEEK)

    first.refresh_from_db()
    held = charges(category="LEASE", source_references=[first.installment_id])[first.installment_id]
    assert (first.status, first.posting_id) == ("POSTED", held.posting_id)
    assert charged.original_amount == Decimal("500.00")
    assert (run.count, run.amount, again.count) == (1, Decimal("500.00"), 0)
    assert len(ledger_charges(lease)) == 2


def test_adoption_schedules_bulk_loaded_leases_from_the_go_live_week(fleet, today):
    lease = fleet.lease(start_date=dt.date(2025, 6, 4), weekly_rate=Decimal("500.00"))
    LeaseSchedule.objects.filter(lease=lease).delete()  # as if loaded in bulk, without a schedule

    assert schedules.lease_schedules_adopt(billed_from=dt.date(2025, 10, 15)) == 1
    assert schedules.lease_schedules_adopt(billed_from=dt.date(2025, 10, 15)) == 0
    assert schedules.lease_schedules_extend() == 53

    assert schedule_of(lease)[0] == (dt.date(2025, 10, 12), 7, Decimal("500.00"), Decimal("500.00"), "SCHEDULED")


@settings(max_examples=100)
@given(
    start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31)),
    length=st.integers(min_value=0, max_value=400),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000.00"), places=2),
)
def test_the_weeks_cover_every_day_of_the_lease_once(start, length, rate):
    end = start + dt.timedelta(days=length)
    weeks = lease_weeks(start_date=start, end_date=end, first_period=period_start(start), through=period_start(end))

    assert sum(week.days for week in weeks) == length + 1
    assert [week.period for week in weeks] == list(periods_between(start, end))
    assert all(week.days == 7 for week in weeks[1:-1])
    full = [prorated(rate, week.days) for week in weeks if week.days == 7]
    assert all(amount == rate for amount in full)
    assert all(abs(prorated(rate, week.days) - rate * week.days / 7) <= Decimal("0.005") for week in weeks)


@settings(max_examples=15)
@given(
    start=st.dates(min_value=dt.date(2025, 6, 1), max_value=dt.date(2026, 6, 30)),
    length=st.one_of(st.none(), st.integers(min_value=0, max_value=500)),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000.00"), places=2),
)
def test_the_bulk_path_writes_the_schedule_the_lease_service_writes(fleet, today, start, length, rate):
    lease = fleet.lease(
        start_date=start, end_date=None if length is None else start + dt.timedelta(days=length), weekly_rate=rate
    )
    written = schedule_of(lease)
    LeaseSchedule.objects.filter(lease=lease).delete()

    schedules.lease_schedules_adopt(billed_from=dt.date(2000, 1, 2))
    schedules.lease_schedules_extend()

    assert schedule_of(lease) == written


def test_a_lease_without_a_schedule_is_adopted_from_the_current_week_when_it_changes(fleet, today):
    lease = fleet.lease(start_date=dt.date(2025, 6, 4), weekly_rate=Decimal("500.00"))
    LeaseSchedule.objects.filter(lease=lease).delete()  # loaded in bulk, never scheduled

    services.lease_update(actor=fleet.actor, lease=lease, changes={"weekly_rate": Decimal("510.00")})

    weeks = schedule_of(lease)
    assert weeks[0] == (dt.date(2025, 10, 12), 7, Decimal("510.00"), Decimal("510.00"), "SCHEDULED")
    assert len(weeks) == 53
