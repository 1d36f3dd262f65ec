import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from hypothesis import given
from hypothesis import strategies as st

from batpay.money import to_money
from batpay.periods import (
    is_period_start,
    last_closed_period,
    parse_period,
    period_end,
    period_start,
    periods_between,
)
from batpay.roles import ROLE_PERMISSIONS


def test_to_money_rounds_half_up_once():
    assert to_money(Decimal("1.005")) == Decimal("1.01")
    assert to_money(Decimal("1.004")) == Decimal("1.00")
    assert to_money("2.675") == Decimal("2.68")
    assert to_money(Decimal("-1.005")) == Decimal("-1.01")
    assert to_money(7) == Decimal("7.00")


def test_to_money_refuses_floats_and_garbage():
    with pytest.raises(TypeError):
        to_money(1.1)
    with pytest.raises(ValueError):
        to_money("abc")
    with pytest.raises(ValueError):
        to_money("NaN")


def test_periods_are_sunday_to_saturday():
    wednesday = dt.date(2025, 10, 1)
    assert period_start(wednesday) == dt.date(2025, 9, 28)
    assert period_end(dt.date(2025, 9, 28)) == dt.date(2025, 10, 4)
    assert period_start(dt.date(2025, 9, 28)) == dt.date(2025, 9, 28)
    assert period_start(dt.date(2025, 10, 4)) == dt.date(2025, 9, 28)
    assert last_closed_period(dt.date(2025, 10, 5)) == dt.date(2025, 9, 28)
    assert list(periods_between(dt.date(2025, 9, 30), dt.date(2025, 10, 12))) == [
        dt.date(2025, 9, 28),
        dt.date(2025, 10, 5),
        dt.date(2025, 10, 12),
    ]
    assert parse_period("2025-09-28") == dt.date(2025, 9, 28)
    with pytest.raises(ValueError, match="Sunday"):
        parse_period("2025-09-29")


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_every_day_lies_in_exactly_its_period(day):
    start = period_start(day)
    assert is_period_start(start)
    assert start <= day <= period_end(start)
    assert (day - start).days < 7


@pytest.mark.django_db
def test_role_groups_exist_with_their_permissions():
    groups = {g.name: g for g in Group.objects.all()}
    assert set(ROLE_PERMISSIONS) <= set(groups)
    finance = {p.codename for p in groups["Finance"].permissions.all()}
    assert {"add_driver", "change_lease", "view_vehicle"} <= finance
    assert "delete_driver" not in finance
    manager = {p.codename for p in groups["Manager"].permissions.all()}
    assert "view_driver" in manager and "add_driver" not in manager


def test_jobs_refuse_a_week_still_to_come(capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from batpay.periods import WEEK, current_period, not_to_come

    this_week = current_period()
    assert not_to_come(this_week) == this_week
    with pytest.raises(ValueError, match="still to come"):
        not_to_come(this_week + WEEK)
    for command in ("post_due_installments", "weekly_close"):
        args = ["--source", "all"] if command == "post_due_installments" else []
        with pytest.raises(CommandError, match="still to come"):
            call_command(command, *args, "--period", (this_week + WEEK).isoformat())


def test_every_project_app_logs_its_info_lines(settings):
    """A new app's loggers are configured with the rest (its job and import lines reach the logs)."""
    import logging

    for name in settings.PROJECT_APPS:
        logger = logging.getLogger(f"{name}.anything")
        assert logger.isEnabledFor(logging.INFO) == (settings.LOG_LEVEL in ("DEBUG", "INFO")), name
        assert logging.getLogger(name).handlers, name
