"""The repayment matrix (SPEC §4): how much a plan charges per week, and the split into installments."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from batpay.errors import InvalidInput
from batpay.money import clean_amount, to_money

# A ceiling on schedule length: ten years of weekly installments. It keeps a typo in an amount
# (an extra zero or three) from writing hundreds of thousands of rows, and is far above any real plan.
MAX_INSTALLMENTS = 520


def weekly_installment(amount: Decimal) -> Decimal:
    """The weekly installment for a plan of `amount`, from `settings.REPAYMENT_MATRIX`.

    The matrix is a list of (upper bound inclusive or None, weekly amount or None) in ascending
    order; a weekly amount of None means the whole amount is one installment.
    """
    amount = to_money(amount)
    for upper, weekly in settings.REPAYMENT_MATRIX:
        if upper is None or amount <= upper:
            return amount if weekly is None else min(to_money(weekly), amount)
    raise ValueError("REPAYMENT_MATRIX must end with an unbounded band (upper bound None)")


def split_amount(amount: Decimal, weekly: Decimal | None = None, *, field: str = "amount") -> list[Decimal]:
    """`amount` as weekly installments of `weekly` (the matrix's by default); the last is the remainder.

    1,200.00 → [250, 250, 250, 250, 200]. The parts are all > 0 and sum to `amount` exactly. More
    than MAX_INSTALLMENTS parts is an InvalidInput naming `field`.
    """
    amount = to_money(amount)
    if amount <= 0:
        raise ValueError("a plan amount must be greater than zero")
    weekly = weekly_installment(amount) if weekly is None else to_money(weekly)
    if weekly <= 0:
        raise ValueError("a weekly installment must be greater than zero")
    full, remainder = divmod(amount, weekly)
    count = int(full) + (1 if remainder else 0)
    if count > MAX_INSTALLMENTS:
        raise InvalidInput(
            f"{amount} at {weekly} a week would take {count} weeks; "
            f"a plan has at most {MAX_INSTALLMENTS} installments.",
            fields={field: f"Too large: more than {MAX_INSTALLMENTS} weekly installments."},
        )
    parts = [weekly] * int(full)
    if remainder:
        parts.append(to_money(remainder))
    return parts


def clean_plan_amount(value, *, field: str) -> Decimal:
    """A plan amount as entered: more than 0.00, whole cents, no silent rounding."""
    return clean_amount(value, field=field)
