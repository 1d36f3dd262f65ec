import django_filters

from batpay.api import DecimalRangeFilter
from deposits.models import Deposit
from plans.lifecycle import PlanStatus


class DepositFilter(django_filters.FilterSet):
    driver_id = django_filters.NumberFilter(field_name="driver_id")
    lease_id = django_filters.NumberFilter(field_name="lease_id")
    status = django_filters.MultipleChoiceFilter(choices=PlanStatus.choices)
    collection = django_filters.ChoiceFilter(choices=Deposit.Collection.choices)
    released = django_filters.BooleanFilter(
        field_name="released_at", lookup_expr="isnull", exclude=True, help_text="true: released; false: held."
    )
    deposit_amount = DecimalRangeFilter(help_text="deposit_amount_min / deposit_amount_max (inclusive).")

    class Meta:
        model = Deposit
        fields: list[str] = []
