import django_filters
from django.db.models import Q
from django.db.models.functions import Upper

from batpay.api import DateFromToRangeFilter, DecimalRangeFilter
from plans.lifecycle import InstallmentStatus, PlanStatus
from repairs.models import RepairInstallment, RepairInvoice


class RepairFilter(django_filters.FilterSet):
    driver_id = django_filters.NumberFilter(field_name="driver_id")
    lease_id = django_filters.NumberFilter(field_name="lease_id")
    vehicle_id = django_filters.NumberFilter(field_name="vehicle_id")
    medallion_id = django_filters.NumberFilter(field_name="medallion_id")
    status = django_filters.MultipleChoiceFilter(choices=PlanStatus.choices)
    workshop_type = django_filters.ChoiceFilter(choices=RepairInvoice.WorkshopType.choices)
    invoice_date = DateFromToRangeFilter(help_text="invoice_date_after / invoice_date_before (inclusive).")
    repair_amount = DecimalRangeFilter(help_text="repair_amount_min / repair_amount_max (inclusive).")
    search = django_filters.CharFilter(
        method="filter_search", help_text="The beginning of a repair id or of an invoice number (any case)."
    )

    class Meta:
        model = RepairInvoice
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        # Prefix matches, so both sides use an index (repair ids are upper case; invoice numbers
        # have an index on their upper-cased text): a substring search would read every invoice.
        value = value.strip().upper()
        if not value:
            return queryset
        return queryset.alias(invoice_number_upper=Upper("invoice_number")).filter(
            Q(repair_id__startswith=value) | Q(invoice_number_upper__startswith=value)
        )


class RepairInstallmentFilter(django_filters.FilterSet):
    repair_id = django_filters.CharFilter(field_name="plan__repair_id")
    driver_id = django_filters.NumberFilter(field_name="plan__driver_id")
    lease_id = django_filters.NumberFilter(field_name="plan__lease_id")
    vehicle_id = django_filters.NumberFilter(field_name="plan__vehicle_id")
    medallion_id = django_filters.NumberFilter(field_name="plan__medallion_id")
    status = django_filters.MultipleChoiceFilter(choices=InstallmentStatus.choices)
    repair_status = django_filters.MultipleChoiceFilter(field_name="plan__status", choices=PlanStatus.choices)
    period = DateFromToRangeFilter(
        field_name="period_start", help_text="period_after / period_before: the installment's period start (inclusive)."
    )

    class Meta:
        model = RepairInstallment
        fields: list[str] = []
