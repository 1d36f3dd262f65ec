"""Reads of misc charges and credits, with what a list or an export shows joined in."""

from django.db.models import QuerySet

from charges.models import MiscCharge, MiscChargeType, MiscCredit


def charge_list() -> QuerySet[MiscCharge]:
    return MiscCharge.objects.select_related("driver", "lease", "charge_type", "obligation")


def credit_list() -> QuerySet[MiscCredit]:
    return MiscCredit.objects.select_related("driver", "lease", "receipt", "reversal_charge")


def charge_types(*, active_only: bool = False) -> QuerySet[MiscChargeType]:
    types = MiscChargeType.objects.all()
    return types.filter(active=True) if active_only else types
