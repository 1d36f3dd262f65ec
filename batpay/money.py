"""Money is Decimal, two places, rounded half-up once where a rule says so.

Money *typed in* — an API body, an admin form, a trips file, a guided-entry step — is read by one
parser, `parse_money`, through `MoneyField` (DRF), `MoneyFormField` (Django forms) or directly; other
decimals typed in (an interest rate) by the same parser with their own places (`parse_decimal`).
A single payment or charge is at most `settings.MAX_TRANSACTION_AMOUNT` (`clean_amount`, and the
two fields): far below what a money column holds, so sums of them fit too (docs/rules.md).
"""

from __future__ import annotations

import re
import string
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from enum import StrEnum

from django import forms
from django.conf import settings
from django.core.validators import DecimalValidator, MaxValueValidator
from django.db import models
from django.utils import formats
from rest_framework import serializers

from batpay.errors import InvalidInput
from batpay.parsers import ExponentNumber

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2): the most a money column holds
MONEY_PLACES = 2

# A minus sign (so a rule can say "must be greater than zero"), ASCII digits, at most one point
# with digits after it. `[0-9]` rather than `\d`, which would also take "٣٠٠" and "３００".
_MONEY_TEXT = re.compile(r"-?[0-9]+(?:\.([0-9]+))?")
# Longer than any amount numeric(12,2) holds with room for leading zeros; refused before parsing.
_MAX_TEXT_LENGTH = 40


def to_money(value: Decimal | int | str) -> Decimal:
    """Round a Decimal (or an int or a decimal string) half-up to the cent.

    Floats are refused: a float near money is a bug, and its binary error would be rounded
    into a wrong cent silently.
    """
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal or a decimal string")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not an amount of money") from exc
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of money")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def max_transaction_amount() -> Decimal:
    """The largest single payment or charge anybody may enter (`settings.MAX_TRANSACTION_AMOUNT`)."""
    return Decimal(settings.MAX_TRANSACTION_AMOUNT)


def money_field(verbose_name: str | None = None, **kwargs) -> models.DecimalField:
    """A money column: numeric(12,2)."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


# --- money typed in -----------------------------------------------------------------------------


class MoneyProblem(StrEnum):
    NOT_AN_AMOUNT = "not_an_amount"
    FRACTION_OF_A_CENT = "fraction_of_a_cent"


class MoneyInputError(ValueError):
    def __init__(self, value: object, problem: MoneyProblem) -> None:
        super().__init__(f"{value!r}: {problem.value}")
        self.problem = problem


def parse_decimal(value: object, *, places: int) -> Decimal:
    """A decimal number as it was typed or sent, exactly, with at most `places` decimals; range and
    sign are the caller's rule. What `parse_money` says of money, for any number of places."""
    if isinstance(value, str):
        text = value.strip(string.whitespace)
        match = _MONEY_TEXT.fullmatch(text) if len(text) <= _MAX_TEXT_LENGTH else None
        if match is None:
            raise MoneyInputError(value, MoneyProblem.NOT_AN_AMOUNT)
        if len(match.group(1) or "") > places:
            raise MoneyInputError(value, MoneyProblem.FRACTION_OF_A_CENT)
        return Decimal(text)
    if isinstance(value, bool | float | ExponentNumber):
        raise MoneyInputError(value, MoneyProblem.NOT_AN_AMOUNT)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyInputError(value, MoneyProblem.NOT_AN_AMOUNT)
        if value.as_tuple().exponent < -places:
            raise MoneyInputError(value, MoneyProblem.FRACTION_OF_A_CENT)
        return value
    raise MoneyInputError(value, MoneyProblem.NOT_AN_AMOUNT)


def parse_money(value: object) -> Decimal:
    """An amount of money as it was typed or sent, exactly; range and sign are the caller's rule.

    Accepted: a string of ASCII digits with an optional minus sign and at most two decimals, ASCII
    spaces around it dropped ("125.50", " 300 ", "-5"); a JSON number with at most two decimals (an
    int, or the Decimal the project's JSON parser makes of `125.5`); a Decimal. Refused with
    `MoneyInputError`: exponents ("3e2" or the JSON number 3e2), other digits ("٣٠٠", "３００"),
    NaN and infinities, floats, booleans, anything else (problem NOT_AN_AMOUNT); more than two
    decimals, even zeros ("1.234", "1.500"), as FRACTION_OF_A_CENT.
    """
    return parse_decimal(value, places=MONEY_PLACES)


def clean_amount(value: object, *, field: str, noun: str | None = None, allow_zero: bool = False) -> Decimal:
    """An amount a service is given, in whole cents: read by `parse_money`, then more than 0.00
    (or at least 0.00, `allow_zero`) and at most MAX_TRANSACTION_AMOUNT. Each refusal is an
    InvalidInput naming `field`; `noun` is how its message names the amount (the field by default)."""
    noun = noun or field
    try:
        amount = parse_money(value)
    except MoneyInputError as exc:
        if exc.problem is MoneyProblem.FRACTION_OF_A_CENT:
            raise InvalidInput(
                f"{noun} has fractions of a cent.", fields={field: "At most two decimal places."}
            ) from exc
        raise InvalidInput(f"{noun} is not an amount like 125.50.", fields={field: "Not an amount."}) from exc
    if amount < ZERO and allow_zero:
        raise InvalidInput(f"{noun} cannot be negative.", fields={field: "Cannot be negative."})
    if amount <= ZERO and not allow_zero:
        raise InvalidInput(f"{noun} must be greater than zero.", fields={field: "Must be greater than zero."})
    largest = max_transaction_amount()
    if amount > largest:
        raise InvalidInput(
            f"{noun} {amount} is more than the largest payment or charge, {largest}.",
            fields={field: f"At most {largest}."},
        )
    return to_money(amount)


# Quantizing what goes out only fixes the places: a sum (a prepayment credit, a total) may have more
# digits than any one amount typed in, and must never fail to be shown.
_OUTPUT = Context(prec=100)


class DecimalInputField(serializers.DecimalField):
    """A decimal in the API, in through `parse_decimal` with the field's places (an interest rate).

    A refused input is DRF's own 400 on the field: "A valid number is required." or "Ensure that
    there are no more than N decimal places."; size and bounds are DecimalField's.
    """

    def to_internal_value(self, data: object) -> Decimal:
        try:
            value = parse_decimal(data, places=self.decimal_places)
        except MoneyInputError as exc:
            if exc.problem is MoneyProblem.FRACTION_OF_A_CENT:
                self.fail("max_decimal_places", max_decimal_places=self.decimal_places)
            self.fail("invalid")
        return self.quantize(self.validate_precision(value))

    def quantize(self, value: Decimal) -> Decimal:
        return value.quantize(Decimal(1).scaleb(-self.decimal_places), rounding=self.rounding, context=_OUTPUT)


class MoneyField(DecimalInputField):
    """Money in the API: out as a decimal string ("500.00"), in through `parse_money` and at most
    MAX_TRANSACTION_AMOUNT (every amount the API takes is one payment or charge)."""

    def __init__(self, *, max_digits: int = 12, decimal_places: int = MONEY_PLACES, **kwargs) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        if self.max_value is None:
            self.max_value = max_transaction_amount()  # what the schema shows; the check reads the setting
        self.validators.append(MaxValueValidator(max_transaction_amount))


class DecimalFormField(forms.DecimalField):
    """A decimal in a Django form (the admin, the API's filters): the API's parser, Django's messages."""

    def to_python(self, value: object) -> Decimal | None:
        if value in self.empty_values:
            return None
        if self.localize:
            value = formats.sanitize_separators(value)
        try:
            return parse_decimal(value, places=self.decimal_places)
        except MoneyInputError as exc:
            if exc.problem is MoneyProblem.FRACTION_OF_A_CENT:
                raise forms.ValidationError(
                    DecimalValidator.messages["max_decimal_places"],
                    code="max_decimal_places",
                    params={"max": self.decimal_places, "value": value},
                ) from exc
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class MoneyFormField(DecimalFormField):
    """Money in a Django form (the admin): the same parser and the same largest amount as the API."""

    def __init__(self, *, max_digits: int = 12, decimal_places: int = MONEY_PLACES, **kwargs) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        self.validators.append(MaxValueValidator(max_transaction_amount))
