import django_filters

from batpay.api import DateFromToRangeFilter, DecimalRangeFilter
from violations.models import Disposition, TlcSummons, Violation


class ViolationFilter(django_filters.FilterSet):
    driver_id = django_filters.NumberFilter(field_name="driver_id")
    lease_id = django_filters.NumberFilter(field_name="lease_id")
    vehicle_id = django_filters.NumberFilter(field_name="vehicle_id")
    medallion_id = django_filters.NumberFilter(field_name="medallion_id")
    review = django_filters.ChoiceFilter(choices=Violation.Review.choices)
    summons_number = django_filters.CharFilter(field_name="summons_number")
    plate = django_filters.CharFilter(method="filter_plate")
    issue_date = DateFromToRangeFilter(help_text="issue_date_after / issue_date_before (inclusive).")
    driver_total = DecimalRangeFilter(help_text="driver_total_min / driver_total_max (inclusive).")

    class Meta:
        model = Violation
        fields: list[str] = []

    def filter_plate(self, queryset, name, value):
        return queryset.filter(plate=value.strip().upper())


class TlcSummonsFilter(django_filters.FilterSet):
    driver_id = django_filters.NumberFilter(field_name="driver_id")
    lease_id = django_filters.NumberFilter(field_name="lease_id")
    medallion_id = django_filters.NumberFilter(field_name="medallion_id")
    violation_type_id = django_filters.NumberFilter(field_name="violation_type_id")
    disposition = django_filters.MultipleChoiceFilter(choices=Disposition.choices)
    summons_number = django_filters.CharFilter(field_name="summons_number")
    violation_date = DateFromToRangeFilter(help_text="violation_date_after / violation_date_before (inclusive).")
    amount = DecimalRangeFilter(help_text="amount_min / amount_max (inclusive).")

    class Meta:
        model = TlcSummons
        fields: list[str] = []
