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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import Conflict, DomainError, ErrorCode, InvalidInput, NotFound
from batpay.money import ZERO, to_money
from leases.models import Driver, Lease
from loans.interest import check_loan_date, loan_schedule
from loans.models import Loan
from loans.plan import LOANS
from plans import services as plans
from plans.lifecycle import PlanStatus
from plans.matrix import clean_plan_amount, weekly_installment
from plans.schedule import ScheduledInstallment, resolve_start_week

FIELDS = ("driver_id", "lease_id", "loan_amount", "interest_rate", "loan_date", "start_week", "purpose")
EDITABLE_AFTER_CONFIRMATION = frozenset({"purpose"})
PURPOSE_MAX_LENGTH = 4000


@dataclass(frozen=True)
class LoanInput:
    """Entered values after every rule held, with the schedule they make."""

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


def _id(value, field: str, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        errors[field] = "This field is required."
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = "Must be an id (an integer)."
        return None


def _catch(errors: dict[str, str], check: Callable[[], Any]) -> Any:
    try:
        return check()
    except InvalidInput as exc:
        for field, messages in exc.fields.items():
            errors.setdefault(field, messages[0])
        return None


def clean_interest_rate(value, *, field: str = "interest_rate") -> Decimal:
    """An annual rate in percent: 0 … LOAN_MAX_INTEREST_RATE, at most two decimals; None → the default."""
    if value is None or (isinstance(value, str) and not value.strip()):
        value = settings.LOAN_DEFAULT_INTEREST_RATE
    maximum = Decimal(settings.LOAN_MAX_INTEREST_RATE)
    try:
        if isinstance(value, float | bool):
            raise TypeError
        rate = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (ArithmeticError, InvalidOperation, TypeError, ValueError):
        rate = None
    if rate is None or not rate.is_finite():
        raise InvalidInput(f"{field} must be a percentage like 9.5.", fields={field: "Not a percentage."})
    if rate < 0:
        raise InvalidInput(f"{field} cannot be negative.", fields={field: "Must be 0 or more."})
    if rate > maximum:
        raise InvalidInput(
            f"{field} {rate}% is above the maximum of {maximum}%.", fields={field: f"At most {maximum}."}
        )
    if rate != to_money(rate):
        raise InvalidInput(f"{field} has more than two decimals.", fields={field: "At most two decimal places."})
    return to_money(rate)


def _clean_date(value, field: str, errors: dict[str, str], *, today: dt.date) -> dt.date | None:
    if value is None or value == "":
        return today
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            errors[field] = "A date (YYYY-MM-DD)."
            return None
    if not isinstance(value, dt.date):
        errors[field] = "A date (YYYY-MM-DD)."
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

    driver = lease = None
    driver_pk = _id(driver_id, "driver_id", errors)
    if driver_pk is not None:
        driver = Driver.objects.filter(pk=driver_pk).first()
        if driver is None:
            errors["driver_id"] = f"No driver with id {driver_pk}."
    lease_pk = _id(lease_id, "lease_id", errors)
    if lease_pk is not None:
        lease = Lease.objects.filter(pk=lease_pk).first()
        if lease is None:
            errors["lease_id"] = f"No lease with id {lease_pk}."
    if (
        driver
        and lease
        and lease.primary_driver_id != driver.pk
        and not lease.additional_drivers.filter(pk=driver.pk).exists()
    ):
        errors["lease_id"] = f"Lease {lease.lease_number} is not a lease of driver {driver.pk}."

    amount = _catch(errors, lambda: clean_plan_amount(loan_amount, field="loan_amount"))
    rate = _catch(errors, lambda: clean_interest_rate(interest_rate))
    day = _clean_date(loan_date, "loan_date", errors, today=today)
    week = _catch(errors, lambda: resolve_start_week(start_week, entry_date=day or today))

    text = str(purpose or "").strip()
    if len(text) > PURPOSE_MAX_LENGTH:
        errors["purpose"] = f"At most {PURPOSE_MAX_LENGTH} characters."

    if day is not None and week is not None:
        _catch(errors, lambda: check_loan_date(loan_date=day, start_week=week))
    schedule = None
    if amount is not None and rate is not None and day is not None and week is not None and "loan_date" not in errors:
        schedule = _catch(
            errors, lambda: loan_schedule(loan_amount=amount, interest_rate=rate, loan_date=day, start_week=week)
        )

    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"{first}: {errors[first]}", fields=errors)
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
    loan.driver = cleaned.driver
    loan.lease = cleaned.lease
    loan.loan_amount = cleaned.loan_amount
    loan.interest_rate = cleaned.interest_rate
    loan.loan_date = cleaned.loan_date
    loan.start_week = cleaned.start_week
    loan.purpose = cleaned.purpose
    loan.weekly_installment_amount = weekly_installment(cleaned.loan_amount)
    loan.total_interest = cleaned.total_interest


def _create(*, values: Mapping[str, Any], actor, confirm: bool) -> Loan:
    cleaned = loan_input_clean(**values)
    loan = Loan(
        loan_id=LOANS.new_plan_id(year=timezone.localdate().year),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _apply(loan, cleaned)
    loan.save(force_insert=True)
    plans.replace_schedule(source=LOANS, plan=loan, schedule=cleaned.schedule)
    audit(
        action="loans.create",
        actor=actor,
        obj=loan,
        object_id=loan.loan_id,
        payload={
            "loan_amount": str(loan.loan_amount),
            "interest_rate": str(loan.interest_rate),
            "loan_date": loan.loan_date.isoformat(),
            "start_week": loan.start_week.isoformat(),
            "installments": len(cleaned.schedule),
            "total_interest": str(loan.total_interest),
        },
    )
    if confirm:
        loan = plans.confirm_plan(source=LOANS, plan=loan, actor=actor)
    return loan


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
    """Enter a loan: a DRAFT with its computed schedule and interest (or OPEN at once with `confirm`)."""
    values = {
        "driver_id": driver_id,
        "lease_id": lease_id,
        "loan_amount": loan_amount,
        "interest_rate": interest_rate,
        "loan_date": loan_date,
        "start_week": start_week,
        "purpose": purpose,
    }
    with transaction.atomic(durable=True):
        return _create(values=values, actor=actor, confirm=confirm)


def loan_create_from_case(*, data: Mapping[str, Any], actor) -> Loan:
    """Guided entry's step LOAN_ENTER_DETAILS: the loan created and confirmed (OPEN, installments
    SCHEDULED), inside the case submission's transaction so the case and the loan commit together."""
    values = {field: data.get(field) for field in FIELDS}
    values["purpose"] = values["purpose"] or ""
    return _create(values=values, actor=actor, confirm=True)


def _lock(loan_id: str) -> Loan:
    loan = Loan.objects.select_for_update().filter(loan_id=loan_id).first()
    if loan is None:
        raise NotFound(f"No loan {loan_id}.")
    return loan


def _current_values(loan: Loan) -> dict[str, Any]:
    return {
        "driver_id": loan.driver_id,
        "lease_id": loan.lease_id,
        "loan_amount": loan.loan_amount,
        "interest_rate": loan.interest_rate,
        "loan_date": loan.loan_date,
        "start_week": loan.start_week,
        "purpose": loan.purpose,
    }


def _differs(field: str, current: Any, new: Any, *, loan_date: dt.date) -> bool:
    """Whether a submitted value changes the stored one (a client may send back what it read)."""
    try:
        if field == "start_week":
            return resolve_start_week(new, entry_date=loan_date) != current
        if field == "loan_amount":
            return clean_plan_amount(new, field=field) != current
        if field == "interest_rate":
            return clean_interest_rate(new) != current
        if field in ("driver_id", "lease_id"):
            return new is not None and new != "" and int(new) != current
        if field == "loan_date":
            return new not in (None, "") and (dt.date.fromisoformat(new) if isinstance(new, str) else new) != current
        if field == "purpose":
            return str(new or "").strip() != current
    except (DomainError, TypeError, ValueError):
        return True
    return new != current


def _loan_date_after(changes: Mapping[str, Any], loan: Loan) -> dt.date:
    """The loan date an edit leaves in place: what CURRENT and NEXT are read against."""
    value = changes.get("loan_date")
    if isinstance(value, str) and value.strip():
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return loan.loan_date  # the bad date itself is refused by the rules, naming loan_date
    return value if isinstance(value, dt.date) else loan.loan_date


def loan_update(*, loan_id: str, changes: Mapping[str, Any], actor) -> Loan:
    """Change a loan. A DRAFT takes any change and its schedule and interest are rebuilt; after
    confirmation only the purpose may change (any other changed field → 409 invalid_transition)."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"Unknown field(s): {', '.join(unknown)}.", fields={field: "Not a loan field." for field in unknown}
        )
    with transaction.atomic(durable=True):
        loan = _lock(loan_id)
        current = _current_values(loan)
        basis = _loan_date_after(changes, loan)
        changed = {
            field: value for field, value in changes.items() if _differs(field, current[field], value, loan_date=basis)
        }
        if not changed:
            return loan
        if loan.status != PlanStatus.DRAFT:
            frozen = sorted(set(changed) - EDITABLE_AFTER_CONFIRMATION)
            if frozen:
                raise Conflict(
                    f"{loan.loan_id} is {loan.status}: after confirmation only the purpose can change.",
                    code=ErrorCode.INVALID_TRANSITION,
                    fields={field: f"Cannot change once the loan is {loan.status}." for field in frozen},
                )
            text = str(changed["purpose"] or "").strip()
            if len(text) > PURPOSE_MAX_LENGTH:
                raise InvalidInput(
                    "purpose is too long.", fields={"purpose": f"At most {PURPOSE_MAX_LENGTH} characters."}
                )
            loan.purpose = text
            loan.save(update_fields=["purpose", "updated_at"])
        else:
            cleaned = loan_input_clean(**(current | changed))
            _apply(loan, cleaned)
            loan.save()
            plans.replace_schedule(source=LOANS, plan=loan, schedule=cleaned.schedule)
        audit(
            action="loans.update",
            actor=actor,
            obj=loan,
            object_id=loan.loan_id,
            payload={field: str(value) for field, value in changed.items()},
        )
        return loan


def loan_confirm(*, loan_id: str, actor) -> Loan:
    """DRAFT → OPEN: the schedule and its interest are final; the weekly job posts installments as they fall due."""
    with transaction.atomic(durable=True):
        return plans.confirm_plan(source=LOANS, plan=_lock(loan_id), actor=actor)


def loan_change_status(*, loan_id: str, status: str, reason: str = "", actor) -> Loan:
    """HOLD, OPEN (resume) or CANCELLED with a reason, by the lifecycle table."""
    with transaction.atomic(durable=True):
        loan = Loan.objects.filter(loan_id=loan_id).first()
        if loan is None:
            raise NotFound(f"No loan {loan_id}.")
        return plans.change_plan_status(source=LOANS, plan=loan, status=status, reason=reason, actor=actor)


def loan_installments_post(*, installment_ids: Sequence[str], actor) -> plans.PostingSummary:
    """Post the chosen installments' totals due now (all or none); 409 for one already posted."""
    with transaction.atomic(durable=True):
        return plans.post_installments(source=LOANS, installment_ids=installment_ids, actor=actor)


def loan_installments_post_due(
    *, period: dt.date, actor=None, dry_run: bool = False, progress=None
) -> plans.PostingSummary:
    """The Sunday job for loans: every due installment of every OPEN loan, batch by batch."""
    return plans.post_due_installments(source=LOANS, period=period, actor=actor, dry_run=dry_run, progress=progress)
