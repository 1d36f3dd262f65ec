from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from batpay.api import DateFromToRangeFilter
from leases import selectors
from leases.models import Driver, Lease, Medallion, Vehicle

MAX_ID = 2**63 - 1  # bigint: a larger id cannot exist, and is refused rather than sent to the database
SEARCH_MAX_LENGTH = 100


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class IdFilter(IntegerFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class SearchFilter(filters.CharFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", SEARCH_MAX_LENGTH)
        super().__init__(*args, **kwargs)


class DriverFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Driver.Status.choices)
    pay_to_mode = filters.ChoiceFilter(choices=Driver.PayTo.choices)
    search = SearchFilter(method="filter_search", help_text="Words matching the name or the start of the TLC license.")

    class Meta:
        model = Driver
        fields = ["status", "pay_to_mode"]

    def filter_search(self, queryset: QuerySet[Driver], name: str, value: str) -> QuerySet[Driver]:
        return selectors.driver_search(queryset, value)


class VehicleFilter(filters.FilterSet):
    make = filters.CharFilter(lookup_expr="iexact", max_length=40)
    year = IntegerFilter(min_value=1900, max_value=2100)
    search = SearchFilter(method="filter_search", help_text="Words occurring in the VIN or the plate.")

    class Meta:
        model = Vehicle
        fields = ["make", "year"]

    def filter_search(self, queryset: QuerySet[Vehicle], name: str, value: str) -> QuerySet[Vehicle]:
        return selectors.vehicle_search(queryset, value)


class MedallionFilter(filters.FilterSet):
    medallion_type = filters.ChoiceFilter(choices=Medallion.Type.choices)
    search = SearchFilter(method="filter_search", help_text="Part of the medallion number.")

    class Meta:
        model = Medallion
        fields = ["medallion_type"]

    def filter_search(self, queryset: QuerySet[Medallion], name: str, value: str) -> QuerySet[Medallion]:
        return selectors.medallion_search(queryset, value)


class LeaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Lease.Status.choices)
    lease_type = filters.ChoiceFilter(choices=Lease.Type.choices)
    driver_id = IdFilter(field_name="primary_driver_id", help_text="The primary driver.")
    vehicle_id = IdFilter(field_name="vehicle_id")
    medallion_id = IdFilter(field_name="medallion_id")
    start_date = DateFromToRangeFilter(help_text="start_date_after / start_date_before, both inclusive.")
    search = SearchFilter(method="filter_search", help_text="Part of the lease number, or a medallion number.")

    class Meta:
        model = Lease
        fields = ["status", "lease_type", "driver_id", "vehicle_id", "medallion_id", "start_date"]

    def filter_search(self, queryset: QuerySet[Lease], name: str, value: str) -> QuerySet[Lease]:
        return selectors.lease_search(queryset, value)
