"""Query filters of the toll lists; a bad value is a 400 naming it."""

from django_filters import rest_framework as filters

from batpay.api import DateFromToRangeFilter, DecimalRangeFilter
from ledger.api.filters import IdFilter, PeriodFilter
from tolls.models import Toll, TollImportRow


class TollFilter(filters.FilterSet):
    period = PeriodFilter(field_name="period")
    lease_id = IdFilter(field_name="lease_id")
    driver_id = IdFilter(field_name="driver_id")
    vehicle_id = IdFilter(field_name="vehicle_id")
    batch_id = IdFilter(field_name="batch_id")
    kind = filters.ChoiceFilter(choices=Toll.Kind.choices)
    status = filters.MultipleChoiceFilter(choices=Toll.Status.choices)
    attribution = filters.ChoiceFilter(choices=Toll.Attribution.choices)
    lane_txn_id = filters.CharFilter(field_name="lane_txn_id")
    tag_or_plate = filters.CharFilter(field_name="tag_or_plate", lookup_expr="iexact")
    agency = filters.CharFilter(field_name="agency", lookup_expr="iexact")
    toll_date = DateFromToRangeFilter(help_text="toll_date_after / toll_date_before (inclusive).")
    amount = DecimalRangeFilter(help_text="amount_min / amount_max (inclusive).")

    class Meta:
        model = Toll
        fields: list[str] = []


class TollImportRowFilter(filters.FilterSet):
    batch_id = IdFilter(field_name="batch_id")
    lane_txn_id = filters.CharFilter(field_name="lane_txn_id")

    class Meta:
        model = TollImportRow
        fields: list[str] = []
