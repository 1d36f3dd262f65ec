"""Money is Decimal, two places, rounded half-up once where a rule says so."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2)


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


def is_cents(value: Decimal) -> bool:
    """True when the amount has no fraction of a cent."""
    return value == value.quantize(CENT)


def money_field(verbose_name: str | None = None, **kwargs) -> models.DecimalField:
    """A money column: numeric(12,2)."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)
