"""Query filters of the DTR and trip lists; like the ledger's, a bad value is a 400 naming it."""

from django.db.models import Q
from django_filters import rest_framework as filters

from batpay.api import DateFilter
from ledger.api.filters import IdFilter, PeriodFilter
from statements.models import DriverTransactionReport, Trip, TripImportRow

# A search box gets a few words; more only make the query slower without narrowing it.
MAX_SEARCH_TERMS = 5


class DtrFilter(filters.FilterSet):
    period = PeriodFilter(field_name="period")
    lease_id = IdFilter(field_name="lease_id")
    driver_id = IdFilter(field_name="driver_id")
    status = filters.ChoiceFilter(choices=DriverTransactionReport.Status.choices)
    search = filters.CharFilter(
        method="filter_search",
        help_text="Each word must start a DTR number, lease number, TLC license or the driver's first or last name.",
    )

    class Meta:
        model = DriverTransactionReport
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        for term in value.split()[:MAX_SEARCH_TERMS]:
            queryset = queryset.filter(
                Q(dtr_number__startswith=term.upper())
                | Q(lease__lease_number__istartswith=term)
                | Q(driver__tlc_license_number__startswith=term)
                | Q(driver__last_name__istartswith=term)
                | Q(driver__first_name__istartswith=term)
            )
        return queryset


class TripFilter(filters.FilterSet):
    period = PeriodFilter(field_name="period")
    lease_id = IdFilter(field_name="lease_id")
    driver_id = IdFilter(field_name="driver_id")
    medallion_id = IdFilter(field_name="medallion_id")
    batch_id = IdFilter(field_name="batch_id")
    payment_type = filters.ChoiceFilter(choices=Trip.PaymentType.choices)
    trip_id = filters.CharFilter(field_name="trip_id")
    started_from = DateFilter(field_name="start_time__date", lookup_expr="gte")
    started_to = DateFilter(field_name="start_time__date", lookup_expr="lte")

    class Meta:
        model = Trip
        fields: list[str] = []


class TripImportRowFilter(filters.FilterSet):
    batch_id = IdFilter(field_name="batch_id")
    kind = filters.ChoiceFilter(choices=TripImportRow.Kind.choices)
    trip_id = filters.CharFilter(field_name="trip_id")

    class Meta:
        model = TripImportRow
        fields: list[str] = []
