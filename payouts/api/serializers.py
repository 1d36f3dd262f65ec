"""Shapes of the payouts API. A bank account number goes out as its last four digits only."""

from rest_framework import serializers

from batpay.periods import DateField
from ledger.api.filters import MAX_ID
from payouts.models import Payout, PayoutRun


class PayoutRunSerializer(serializers.ModelSerializer):
    prepared_by = serializers.CharField(source="prepared_by.username", read_only=True, allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, allow_null=True)
    paid_by = serializers.CharField(source="paid_by.username", read_only=True, allow_null=True)
    cancelled_by = serializers.CharField(source="cancelled_by.username", read_only=True, allow_null=True)

    class Meta:
        model = PayoutRun
        fields = [
            "id",
            "number",
            "period",
            "status",
            "minimum",
            "settled",
            "payout_count",
            "total",
            "ach_count",
            "ach_total",
            "check_count",
            "check_total",
            "carried_count",
            "carried_total",
            "effective_entry_date",
            "prepared_by",
            "prepared_at",
            "approved_by",
            "approved_at",
            "paid_by",
            "paid_at",
            "cancelled_by",
            "cancelled_at",
            "cancel_reason",
        ]
        read_only_fields = fields


class PrepareRunSerializer(serializers.Serializer):
    period = DateField(help_text="The closed period's Sunday (YYYY-MM-DD).")


class CancelRunSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text="At least 10 characters.")


class PayoutSerializer(serializers.ModelSerializer):
    run_number = serializers.CharField(source="run.number", read_only=True)
    # "" for a check: a choice field would document only CHECKING and SAVINGS.
    account_type = serializers.CharField(read_only=True, allow_blank=True, help_text='CHECKING, SAVINGS, or "".')
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)

    class Meta:
        model = Payout
        fields = [
            "id",
            "run_id",
            "run_number",
            "driver_id",
            "driver_name",
            "method",
            "amount",
            "status",
            "payee",
            "routing_number",
            "account_last4",
            "account_type",
            "trace_number",
            "check_number",
            "dtr_numbers",
            "note",
            "return_code",
            "returned_on",
            "voided_on",
            "void_reason",
        ]
        read_only_fields = fields


class AchReturnSerializer(serializers.Serializer):
    trace_number = serializers.CharField(max_length=15, help_text="The returned entry's 15-digit trace number.")
    return_code = serializers.CharField(max_length=3, help_text="The bank's return code, R01 … R99.")
    returned_on = DateField(required=False, help_text="Default today.")


class CheckVoidSerializer(serializers.Serializer):
    check_number = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text="At least 10 characters.")
