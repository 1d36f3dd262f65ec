"""Query filters of the ledger lists (SPEC §1, §7).

Every filter validates its value: a bad id, date, period or choice is a 400 naming the
parameter, never an empty page that hides the typo and never a database error. Ordering is the
views' `ordering_fields` (batpay.api).
"""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from batpay.api import DateFilter
from batpay.periods import DateFormField, parse_period
from ledger.models import Category, EntryType, ObligationBalance, Posting, Receipt, Refund

# Ids are bigint: a larger number is a 400 here rather than an overflow in the database.
MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class PeriodField(DateFormField):
    """A payment period, named by its Sunday (`2025-09-28`)."""

    def to_python(self, value):
        day = super().to_python(value)
        if day is None:
            return None
        try:
            return parse_period(day)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="not_a_period") from exc


@extend_schema_field(OpenApiTypes.DATE)
class PeriodFilter(DateFilter):
    field_class = PeriodField


class _FleetFilters(filters.FilterSet):
    driver_id = IdFilter(field_name="driver_id")
    lease_id = IdFilter(field_name="lease_id")
    created_from = DateFilter(field_name="created_at__date", lookup_expr="gte")
    created_to = DateFilter(field_name="created_at__date", lookup_expr="lte")


class PostingFilter(_FleetFilters):
    category = filters.MultipleChoiceFilter(choices=Category.choices)
    entry_type = filters.ChoiceFilter(choices=EntryType.choices)
    status = filters.ChoiceFilter(choices=Posting.Status.choices)
    vehicle_id = IdFilter(field_name="vehicle_id")
    medallion_id = IdFilter(field_name="medallion_id")
    balance_id = IdFilter(field_name="obligation_id")
    receipt_id = IdFilter(field_name="receipt_id")
    period = PeriodFilter(field_name="period")
    effective_from = DateFilter(field_name="effective_date", lookup_expr="gte")
    effective_to = DateFilter(field_name="effective_date", lookup_expr="lte")

    class Meta:
        model = Posting
        fields: list[str] = []


class BalanceFilter(_FleetFilters):
    category = filters.MultipleChoiceFilter(choices=Category.choices)
    status = filters.ChoiceFilter(choices=ObligationBalance.Status.choices)
    vehicle_id = IdFilter(field_name="vehicle_id")
    medallion_id = IdFilter(field_name="medallion_id")
    source_reference = filters.CharFilter(field_name="source_reference")
    period = PeriodFilter(field_name="due_period", label="Due period (its Sunday)")
    due_from = DateFilter(field_name="due_period", lookup_expr="gte")
    due_to = DateFilter(field_name="due_period", lookup_expr="lte")

    class Meta:
        model = ObligationBalance
        fields: list[str] = []


class ReceiptFilter(_FleetFilters):
    kind = filters.ChoiceFilter(choices=Receipt.Kind.choices)
    payment_method = filters.ChoiceFilter(field_name="method", choices=Receipt.Method.choices)
    period = PeriodFilter(field_name="period")
    received_from = DateFilter(field_name="received_on", lookup_expr="gte")
    received_to = DateFilter(field_name="received_on", lookup_expr="lte")
    has_credit = filters.BooleanFilter(
        method="filter_has_credit", label="Credit waiting (interim payments and prepayments with unapplied money)"
    )

    class Meta:
        model = Receipt
        fields: list[str] = []

    def filter_has_credit(self, queryset, name, value):
        credit = queryset.exclude(kind=Receipt.Kind.EARNINGS).filter(unapplied__gt=0)
        return credit if value else queryset.exclude(pk__in=credit.values("pk"))


class RefundFilter(_FleetFilters):
    method = filters.ChoiceFilter(choices=Receipt.Method.choices)
    receipt_id = IdFilter(field_name="receipt_id")
    refunded_from = DateFilter(field_name="refunded_on", lookup_expr="gte")
    refunded_to = DateFilter(field_name="refunded_on", lookup_expr="lte")

    class Meta:
        model = Refund
        fields: list[str] = []
