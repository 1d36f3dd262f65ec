import django_filters

from batpay.api import DateFromToRangeFilter, DecimalRangeFilter
from charges.models import Correction, MiscCharge, MiscCredit


class _MiscFilter(django_filters.FilterSet):
    driver_id = django_filters.NumberFilter(field_name="driver_id")
    lease_id = django_filters.NumberFilter(field_name="lease_id")
    status = django_filters.MultipleChoiceFilter(choices=Correction.choices)
    created = DateFromToRangeFilter(field_name="created_at__date", help_text="created_after / created_before.")
    amount = DecimalRangeFilter(help_text="amount_min / amount_max (inclusive).")


class MiscChargeFilter(_MiscFilter):
    charge_type_id = django_filters.NumberFilter(field_name="charge_type_id")

    class Meta:
        model = MiscCharge
        fields: list[str] = []


class MiscCreditFilter(_MiscFilter):
    class Meta:
        model = MiscCredit
        fields: list[str] = []
