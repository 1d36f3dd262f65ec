import django_filters

from batpay.api import DateFromToRangeFilter, DecimalRangeFilter
from loans.models import Loan, LoanInstallment
from plans.lifecycle import InstallmentStatus, PlanStatus


class LoanFilter(django_filters.FilterSet):
    driver_id = django_filters.NumberFilter(field_name="driver_id")
    lease_id = django_filters.NumberFilter(field_name="lease_id")
    status = django_filters.MultipleChoiceFilter(choices=PlanStatus.choices)
    loan_date = DateFromToRangeFilter(help_text="loan_date_after / loan_date_before (inclusive).")
    loan_amount = DecimalRangeFilter(help_text="loan_amount_min / loan_amount_max (inclusive).")
    interest_rate = DecimalRangeFilter(
        max_digits=5, decimal_places=2, help_text="interest_rate_min / interest_rate_max (inclusive)."
    )
    search = django_filters.CharFilter(method="filter_search", help_text="The beginning of a loan id (any case).")

    class Meta:
        model = Loan
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        # A prefix match on the unique (indexed) loan id; loan ids are upper case.
        value = value.strip().upper()
        return queryset.filter(loan_id__startswith=value) if value else queryset


class LoanInstallmentFilter(django_filters.FilterSet):
    loan_id = django_filters.CharFilter(field_name="plan__loan_id")
    driver_id = django_filters.NumberFilter(field_name="plan__driver_id")
    lease_id = django_filters.NumberFilter(field_name="plan__lease_id")
    vehicle_id = django_filters.NumberFilter(field_name="plan__lease__vehicle_id", help_text="The lease's vehicle.")
    medallion_id = django_filters.NumberFilter(
        field_name="plan__lease__medallion_id", help_text="The lease's medallion."
    )
    status = django_filters.MultipleChoiceFilter(choices=InstallmentStatus.choices)
    loan_status = django_filters.MultipleChoiceFilter(field_name="plan__status", choices=PlanStatus.choices)
    period = DateFromToRangeFilter(
        field_name="period_start", help_text="period_after / period_before: the installment's week start (inclusive)."
    )

    class Meta:
        model = LoanInstallment
        fields: list[str] = []
