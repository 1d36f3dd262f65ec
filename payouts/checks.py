"""System checks of the payout settings: production refuses to start without its own encryption key."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from payouts import crypto
from payouts.banking import routing_problem


@register()
def payout_settings_check(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    if settings.PRODUCTION and not crypto.configured_keys():
        errors.append(
            Error(
                "BATPAY_PRODUCTION=1 needs PAYOUT_ENCRYPTION_KEYS (Fernet keys, comma separated, current first): "
                "bank account numbers are encrypted with them.",
                id="payouts.E001",
            )
        )
    if problem := crypto.keys_problem():
        errors.append(Error(problem, id="payouts.E002"))
    for name in ("origin_routing", "destination_routing"):
        if problem := routing_problem(settings.PAYOUT_ACH[name]):
            errors.append(Error(f"PAYOUT_ACH[{name!r}]: {problem}", id="payouts.E003"))
    return errors
