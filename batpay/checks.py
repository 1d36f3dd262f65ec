"""System checks of the settings the kernel reads (`manage.py check`, and every command that runs it)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.checks import Error, register

from batpay.money import MAX_AMOUNT, MONEY_PLACES


@register()
def max_transaction_amount_check(app_configs=None, **kwargs) -> list[Error]:
    """MAX_TRANSACTION_AMOUNT is an amount of money a money column holds, in whole cents."""
    try:
        largest = Decimal(settings.MAX_TRANSACTION_AMOUNT)
        fits = largest.is_finite() and 0 < largest <= MAX_AMOUNT and largest.as_tuple().exponent >= -MONEY_PLACES
    except (InvalidOperation, TypeError, ValueError):
        fits = False
    if fits:
        return []
    return [
        Error(
            f"MAX_TRANSACTION_AMOUNT={settings.MAX_TRANSACTION_AMOUNT!r} must be an amount in whole cents, more "
            f"than 0 and at most {MAX_AMOUNT} (what a money column holds).",
            id="batpay.E001",
        )
    ]
