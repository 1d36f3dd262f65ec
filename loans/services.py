"""Writes of driver loans (SPEC §4). The API, the admin, guided entry and the weekly job all call these.

Rules that are ours to choose (written down in docs/rules.md):
- The lease must be the driver's (primary or additional driver).
- The loan date defaults to today (New York) and may not be in the future; CURRENT and NEXT are
  resolved against the loan date, so a loan entered a few days late still starts in its own week.
- The rate is a percentage with at most two decimals, from 0 to settings.LOAN_MAX_INTEREST_RATE;
  left out, it is settings.LOAN_DEFAULT_INTEREST_RATE.
- While DRAFT everything can change and the schedule (with its interest) is rebuilt. After
  confirmation only the purpose can; any other change is a 409 invalid_transition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batpay.errors import InvalidInput
from batpay.money import ZERO, MoneyInputError, MoneyProblem, parse_decimal, to_money
from batpay.periods import date_problem, local_date
from leases.models import Driver, Lease
from loans.interest import check_loan_date, loan_schedule
from loans.models import Loan
from loans.plan import LOANS
from plans import services as plans
from plans.matrix import clean_plan_amount, weekly_installment
from plans.schedule import ScheduledInstallment, resolve_start_week

PURPOSE_MAX_LENGTH = 4000


@dataclass(frozen=True)
class LoanInput:
    """Entered values after every rule held (each field but the schedule is the loan's own), with
    the schedule they make."""

    driver: Driver
    lease: Lease
    loan_amount: Decimal
    interest_rate: Decimal
    loan_date: dt.date
    start_week: dt.date
    purpose: str
    schedule: list[ScheduledInstallment]

    @property
    def total_interest(self) -> Decimal:
        return sum((item.extra["interest_amount"] for item in self.schedule), ZERO)


def clean_interest_rate(value, *, field: str = "interest_rate") -> Decimal:
    """An annual rate in percent: 0 … LOAN_MAX_INTEREST_RATE, at most two decimals; None → the default."""
    if value is None or (isinstance(value, str) and not value.strip()):
        value = settings.LOAN_DEFAULT_INTEREST_RATE
    maximum = Decimal(settings.LOAN_MAX_INTEREST_RATE)
    try:
        rate = parse_decimal(value, places=2)  # as money is typed: no "3e2", no "٣٠٠"
    except MoneyInputError as exc:
        if exc.problem is MoneyProblem.FRACTION_OF_A_CENT:
            raise InvalidInput(
                f"{field} has more than two decimals.", fields={field: "At most two decimal places."}
            ) from exc
        raise InvalidInput(f"{field} must be a percentage like 9.5.", fields={field: "Not a percentage."}) from exc
    if rate < 0:
        raise InvalidInput(f"{field} cannot be negative.", fields={field: "Must be 0 or more."})
    if rate > maximum:
        raise InvalidInput(
            f"{field} {rate}% is above the maximum of {maximum}%.", fields={field: f"At most {maximum}."}
        )
    return to_money(rate)


def _clean_date(value, field: str, errors: dict[str, str], *, today: dt.date) -> dt.date | None:
    if value is None or value == "":
        return today
    if isinstance(value, dt.datetime):
        value = local_date(value)
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            errors[field] = "A date (YYYY-MM-DD)."
            return None
    if not isinstance(value, dt.date):
        errors[field] = "A date (YYYY-MM-DD)."
        return None
    if problem := date_problem(value):
        errors[field] = problem
        return None
    if value > today:
        errors[field] = f"{value.isoformat()} is in the future; a loan is entered when the money is lent."
        return None
    return value


def loan_input_clean(
    *,
    driver_id,
    lease_id,
    loan_amount,
    interest_rate=None,
    loan_date=None,
    start_week,
    purpose: str = "",
) -> LoanInput:
    """Check every rule on entered values and build the schedule (read-only); raise one
    InvalidInput naming every bad field."""
    today = timezone.localdate()
    errors: dict[str, str] = {}

    driver, lease = plans.clean_driver_and_lease(driver_id=driver_id, lease_id=lease_id, errors=errors)
    amount = plans.collect_errors(errors, lambda: clean_plan_amount(loan_amount, field="loan_amount"))
    rate = plans.collect_errors(errors, lambda: clean_interest_rate(interest_rate))
    day = _clean_date(loan_date, "loan_date", errors, today=today)
    week = plans.collect_errors(errors, lambda: resolve_start_week(start_week, entry_date=day or today))

    text = str(purpose or "").strip()
    if len(text) > PURPOSE_MAX_LENGTH:
        errors["purpose"] = f"At most {PURPOSE_MAX_LENGTH} characters."

    if day is not None and week is not None:
        plans.collect_errors(errors, lambda: check_loan_date(loan_date=day, start_week=week))
    schedule = None
    if amount is not None and rate is not None and day is not None and week is not None and "loan_date" not in errors:
        schedule = plans.collect_errors(
            errors, lambda: loan_schedule(loan_amount=amount, interest_rate=rate, loan_date=day, start_week=week)
        )

    plans.raise_if_invalid(errors)
    return LoanInput(
        driver=driver,
        lease=lease,
        loan_amount=amount,
        interest_rate=rate,
        loan_date=day,
        start_week=week,
        purpose=text,
        schedule=schedule,
    )


def _apply(loan: Loan, cleaned: LoanInput) -> None:
    plans.set_entered(loan, cleaned)
    loan.weekly_installment_amount = weekly_installment(cleaned.loan_amount)
    loan.total_interest = cleaned.total_interest


def _create(*, values: Mapping[str, Any], actor, confirm: bool) -> Loan:
    cleaned = loan_input_clean(**values)
    loan = plans.new_plan(source=LOANS, actor=actor)
    _apply(loan, cleaned)
    loan.save(force_insert=True)
    payload = {
        "loan_amount": str(loan.loan_amount),
        "interest_rate": str(loan.interest_rate),
        "loan_date": loan.loan_date.isoformat(),
        "start_week": loan.start_week.isoformat(),
        "installments": len(cleaned.schedule),
        "total_interest": str(loan.total_interest),
    }
    return plans.add_plan(
        source=LOANS, plan=loan, schedule=cleaned.schedule, actor=actor, confirm=confirm, payload=payload
    )


def loan_create(
    *,
    driver_id: int,
    lease_id: int,
    loan_amount: Decimal,
    interest_rate: Decimal | None = None,
    loan_date: dt.date | None = None,
    start_week: str | dt.date,
    purpose: str = "",
    actor,
    confirm: bool = False,
) -> Loan:
    """Enter a loan: a DRAFT with its computed schedule and interest (or OPEN at once with `confirm`).
    Left out, the loan date is today and the rate is settings.LOAN_DEFAULT_INTEREST_RATE."""
    entered = locals()  # the arguments, by name: nothing else is bound yet
    with transaction.atomic(durable=True):
        return _create(values={field: entered[field] for field in LOANS.fields}, actor=actor, confirm=confirm)


def loan_create_from_case(*, data: Mapping[str, Any], actor) -> Loan:
    """Guided entry's step LOAN_ENTER_DETAILS: the loan created and confirmed (OPEN, installments
    SCHEDULED), inside the case submission's transaction so the case and the loan commit together."""
    return _create(values={field: data.get(field) for field in LOANS.fields}, actor=actor, confirm=True)


def _loan_date_after(changes: Mapping[str, Any], loan: Loan) -> dt.date:
    """The loan date an edit leaves in place: what CURRENT and NEXT are read against."""
    value = changes.get("loan_date")
    if isinstance(value, str) and value.strip():
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return loan.loan_date  # the bad date itself is refused by the rules, naming loan_date
    return value if isinstance(value, dt.date) else loan.loan_date


def _purpose(value) -> str:
    """The purpose as stored; the one field a confirmed loan may still change."""
    text = str(value or "").strip()
    if len(text) > PURPOSE_MAX_LENGTH:
        raise InvalidInput("purpose is too long.", fields={"purpose": f"At most {PURPOSE_MAX_LENGTH} characters."})
    return text


def _readers(loan: Loan, changes: Mapping[str, Any]) -> dict[str, Any]:
    """How an edit's values read as stored; an empty loan date keeps the one on file."""
    basis = _loan_date_after(changes, loan)
    return {
        "driver_id": plans.stored_id,
        "lease_id": plans.stored_id,
        "loan_amount": lambda value: clean_plan_amount(value, field="loan_amount"),
        "interest_rate": clean_interest_rate,
        "loan_date": lambda value: plans.UNCHANGED if value in (None, "") else plans.stored_date(value),
        "start_week": lambda value: resolve_start_week(value, entry_date=basis),
        "purpose": _purpose,
    }


def _rebuild(loan: Loan, values: dict[str, Any]) -> list[ScheduledInstallment]:
    cleaned = loan_input_clean(**values)
    _apply(loan, cleaned)
    loan.save()
    return cleaned.schedule


def loan_update(*, loan_id: str, changes: Mapping[str, Any], actor) -> Loan:
    """Change a loan. A DRAFT takes any change and its schedule and interest are rebuilt; after
    confirmation only the purpose may change (any other changed field → 409 invalid_transition)."""
    return plans.plan_update(
        source=LOANS, plan_id=loan_id, changes=changes, actor=actor, readers=_readers, rebuild=_rebuild
    )


def loan_confirm(*, loan_id: str, actor) -> Loan:
    """DRAFT → OPEN: the schedule and its interest are final; the weekly job posts installments as
    they fall due. From then on only the purpose can change."""
    return plans.plan_confirm(source=LOANS, plan_id=loan_id, actor=actor)


def loan_change_status(*, loan_id: str, status: str, reason: str = "", actor) -> Loan:
    """HOLD, OPEN (resume) or CANCELLED with a reason, by the lifecycle table. A loan on hold is
    skipped by the weekly job; its schedule, interest included, stays as it was computed."""
    return plans.plan_change_status(source=LOANS, plan_id=loan_id, status=status, reason=reason, actor=actor)


def loan_installments_post(*, installment_ids: Sequence[str], actor) -> plans.PostingSummary:
    """Post the chosen installments' totals due now (all or none); 409 for one already posted.
    A loan's charges carry no vehicle or medallion: it is the driver's and the lease's."""
    return plans.plan_installments_post(source=LOANS, installment_ids=installment_ids, actor=actor)


def loan_installments_post_due(
    *, period: dt.date, actor=None, dry_run: bool = False, progress=None
) -> plans.PostingSummary:
    """The Sunday job for loans: every due installment of every OPEN loan, batch by batch."""
    return plans.post_due_installments(source=LOANS, period=period, actor=actor, dry_run=dry_run, progress=progress)
