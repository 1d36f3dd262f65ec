"""The shared installment-plan mechanism: matrix, start week, schedule, lifecycle table."""

import datetime as dt
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from batpay.errors import Conflict, ErrorCode, InvalidInput
from ledger.invariants import violations
from ledger.services import apply_earnings
from plans import lifecycle
from plans.lifecycle import PlanStatus, Transition
from plans.matrix import MAX_INSTALLMENTS, clean_plan_amount, split_amount, weekly_installment
from plans.schedule import build_schedule, resolve_start_week
from plans.services import cancel_scheduled_installments, post_due_installments
from repairs.plan import REPAIRS
from repairs.services import repair_create

WEDNESDAY = dt.date(2025, 10, 1)
SUNDAY = dt.date(2025, 9, 28)


@pytest.mark.parametrize(
    ("amount", "weekly", "parts"),
    [
        ("0.01", "0.01", ["0.01"]),
        ("200.00", "200.00", ["200.00"]),
        ("200.01", "100.00", ["100.00", "100.00", "0.01"]),
        ("500.00", "100.00", ["100.00"] * 5),
        ("500.01", "200.00", ["200.00", "200.00", "100.01"]),
        ("1000.00", "200.00", ["200.00"] * 5),
        ("1000.01", "250.00", ["250.00"] * 4 + ["0.01"]),
        ("1200.00", "250.00", ["250.00"] * 4 + ["200.00"]),
        ("3000.00", "250.00", ["250.00"] * 12),
        ("3000.01", "300.00", ["300.00"] * 10 + ["0.01"]),
    ],
)
def test_repayment_matrix_at_every_band_edge(amount, weekly, parts):
    assert weekly_installment(D(amount)) == D(weekly)
    assert split_amount(D(amount)) == [D(p) for p in parts]


@given(st.decimals(min_value=D("0.01"), max_value=D("150000.00"), places=2))
def test_installments_always_sum_to_the_amount(amount):
    parts = split_amount(amount)
    weekly = weekly_installment(amount)
    assert sum(parts) == amount
    assert all(D("0") < part <= weekly for part in parts)
    assert all(part == weekly for part in parts[:-1])
    assert all(part == part.quantize(D("0.01")) for part in parts)


@override_settings(REPAYMENT_MATRIX=[(D("100.00"), None), (None, D("50.00"))])
def test_the_matrix_comes_from_settings():
    assert split_amount(D("100.00")) == [D("100.00")]
    assert split_amount(D("120.00")) == [D("50.00"), D("50.00"), D("20.00")]


def test_an_absurd_amount_is_refused_before_building_anything():
    with pytest.raises(InvalidInput) as caught:
        split_amount(D("9999999999.99"), field="repair_amount")
    assert "repair_amount" in caught.value.fields
    assert len(split_amount(D(300 * MAX_INSTALLMENTS))) == MAX_INSTALLMENTS


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.001", "NaN", None, "1e20"])
def test_plan_amounts_must_be_positive_cents(value):
    with pytest.raises(InvalidInput) as caught:
        clean_plan_amount(value, field="repair_amount")
    assert list(caught.value.fields) == ["repair_amount"]


def test_start_week_current_next_or_a_sunday():
    assert resolve_start_week("CURRENT", entry_date=WEDNESDAY) == SUNDAY
    assert resolve_start_week("next", entry_date=WEDNESDAY) == dt.date(2025, 10, 5)
    assert resolve_start_week("CURRENT", entry_date=SUNDAY) == SUNDAY
    assert resolve_start_week("2025-10-12", entry_date=WEDNESDAY) == dt.date(2025, 10, 12)
    assert resolve_start_week(dt.date(2025, 10, 12), entry_date=WEDNESDAY) == dt.date(2025, 10, 12)


@pytest.mark.parametrize("value", ["2025-10-01", "LAST", "", None, "2025-13-01", dt.date(2025, 10, 4)])
def test_any_other_start_week_names_the_field(value):
    with pytest.raises(InvalidInput) as caught:
        resolve_start_week(value, entry_date=WEDNESDAY)
    assert list(caught.value.fields) == ["start_week"]


def test_installment_k_covers_its_own_week():
    schedule = build_schedule(split_amount(D("1200.00")), start=SUNDAY)
    assert [(s.sequence, s.period_start, s.period_end, s.amount) for s in schedule] == [
        (1, dt.date(2025, 9, 28), dt.date(2025, 10, 4), D("250.00")),
        (2, dt.date(2025, 10, 5), dt.date(2025, 10, 11), D("250.00")),
        (3, dt.date(2025, 10, 12), dt.date(2025, 10, 18), D("250.00")),
        (4, dt.date(2025, 10, 19), dt.date(2025, 10, 25), D("250.00")),
        (5, dt.date(2025, 10, 26), dt.date(2025, 11, 1), D("200.00")),
    ]


# --- the lifecycle table ----------------------------------------------------------------------

ALLOWED = {
    (Transition.CONFIRM, PlanStatus.DRAFT): PlanStatus.OPEN,
    (Transition.HOLD, PlanStatus.OPEN): PlanStatus.HOLD,
    (Transition.RESUME, PlanStatus.HOLD): PlanStatus.OPEN,
    (Transition.CANCEL, PlanStatus.DRAFT): PlanStatus.CANCELLED,
    (Transition.CANCEL, PlanStatus.OPEN): PlanStatus.CANCELLED,
    (Transition.CANCEL, PlanStatus.HOLD): PlanStatus.CANCELLED,
    (Transition.CLOSE, PlanStatus.OPEN): PlanStatus.CLOSED,
    (Transition.CLOSE, PlanStatus.HOLD): PlanStatus.CLOSED,
    (Transition.REOPEN, PlanStatus.CLOSED): PlanStatus.OPEN,
}
FUNCTIONS = {
    Transition.CONFIRM: lifecycle.confirm,
    Transition.HOLD: lifecycle.hold,
    Transition.RESUME: lifecycle.resume,
    Transition.CANCEL: lambda plan: lifecycle.cancel(plan, posted_count=0),
    Transition.CLOSE: lifecycle.close,
    Transition.REOPEN: lifecycle.reopen,
}


@pytest.mark.parametrize("transition", list(Transition))
@pytest.mark.parametrize("status", PlanStatus.values)
def test_every_transition_allowed_or_refused_by_the_table(transition, status):
    plan = SimpleNamespace(plan_id="RPR-2025-001", status=status)
    target = ALLOWED.get((transition, status))
    if target is None:
        with pytest.raises(Conflict) as caught:
            FUNCTIONS[transition](plan)
        assert caught.value.code == ErrorCode.INVALID_TRANSITION
        assert plan.status == status
    else:
        FUNCTIONS[transition](plan)
        assert plan.status == target


@pytest.mark.parametrize("status", [PlanStatus.OPEN, PlanStatus.HOLD])
def test_cancel_is_refused_once_something_is_posted(status):
    plan = SimpleNamespace(plan_id="RPR-2025-001", status=status)
    with pytest.raises(Conflict) as caught:
        lifecycle.cancel(plan, posted_count=1)
    assert caught.value.code == ErrorCode.INVALID_TRANSITION
    assert plan.status == status


def test_closed_and_cancelled_are_final_for_requests():
    assert all(PlanStatus.CLOSED not in lifecycle.sources_of(t) for t in lifecycle.REQUESTABLE.values())
    assert all(PlanStatus.CANCELLED not in lifecycle.sources_of(t) for t in Transition)


# --- the generic services, shown on the repairs source ------------------------------------------


@pytest.fixture
def repair_plan(fleet):
    """A confirmed 450.00 repair (100 ×4 + 50 from 2025-09-28) entered through the repairs service."""
    lease = fleet.lease(start_date=dt.date(2025, 9, 1), weekly_rate=D("400.00"))
    driver = lease.primary_driver
    return repair_create(
        driver_id=driver.pk,
        lease_id=lease.pk,
        invoice_number="PLAN-1",
        invoice_date=dt.date(2025, 9, 27),
        workshop_type="BIG_APPLE",
        repair_amount=D("450.00"),
        start_week=SUNDAY,
        actor=fleet.actor,
        confirm=True,
    )


def test_cancelling_the_rest_of_a_schedule_settles_the_plan(repair_plan):
    post_due_installments(source=REPAIRS, period=dt.date(2025, 10, 5))
    apply_earnings(driver=repair_plan.driver, lease=repair_plan.lease, period=dt.date(2025, 10, 5), amount=D("200.00"))
    with transaction.atomic():
        cancelled = cancel_scheduled_installments(
            source=REPAIRS, plan=repair_plan, from_period=dt.date(2025, 10, 12), actor=None, reason="lease ended"
        )
    repair_plan.refresh_from_db()
    statuses = list(repair_plan.installments.order_by("sequence").values_list("status", flat=True))
    assert cancelled == 3
    assert statuses == ["PAID", "PAID", "CANCELLED", "CANCELLED", "CANCELLED"]
    assert repair_plan.status == "CLOSED"
    assert violations() == []
