"""Query filters of the payouts lists; a bad value is a 400 naming the parameter."""

from django_filters import rest_framework as filters

from ledger.api.filters import IdFilter, PeriodFilter
from payouts.models import Payout, PayoutRun


class PayoutRunFilter(filters.FilterSet):
    period = PeriodFilter(field_name="period")
    status = filters.ChoiceFilter(field_name="status", choices=PayoutRun.Status.choices)

    class Meta:
        model = PayoutRun
        fields = ["period", "status"]


class PayoutFilter(filters.FilterSet):
    run_id = IdFilter(field_name="run_id")
    driver_id = IdFilter(field_name="driver_id")
    method = filters.ChoiceFilter(field_name="method", choices=Payout.Method.choices)
    status = filters.ChoiceFilter(field_name="status", choices=Payout.Status.choices)
    check_number = IdFilter(field_name="check_number")
    trace_number = filters.CharFilter(field_name="trace_number", max_length=15)

    class Meta:
        model = Payout
        fields = ["run_id", "driver_id", "method", "status", "check_number", "trace_number"]
