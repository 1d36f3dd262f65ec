from decimal import Decimal

from rest_framework import serializers

from batpay.money import MoneyField
from batpay.periods import DateField
from lease_schedules.models import LeaseInstallment
from plans.lifecycle import InstallmentStatus


class LeaseInstallmentSerializer(serializers.ModelSerializer):
    posting_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="The ledger charge, once posted.")

    class Meta:
        model = LeaseInstallment
        fields = [
            "installment_id",
            "sequence",
            "period_start",
            "period_end",
            "days",
            "weekly_rate",
            "amount",
            "status",
            "posting_id",
            "posted_at",
        ]
        read_only_fields = fields


class LeaseScheduleSerializer(serializers.Serializer):
    """GET /api/leases/{id}/schedule: every installment of the lease, and totals by status."""

    lease_id = serializers.IntegerField()
    lease_number = serializers.CharField()
    schedule_id = serializers.CharField(allow_null=True, help_text="Null for a lease entered already closed.")
    status = serializers.CharField(allow_null=True, help_text="The schedule's plan status (OPEN, CLOSED, CANCELLED).")
    weekly_rate = serializers.DecimalField(max_digits=12, decimal_places=2)
    start_week = serializers.DateField(allow_null=True)
    scheduled_through = serializers.DateField(allow_null=True, help_text="The last period written so far.")
    totals = serializers.DictField(
        child=serializers.DecimalField(max_digits=14, decimal_places=2),
        help_text="Sum of the installments by status: " + ", ".join(InstallmentStatus.values) + ".",
    )
    installments = LeaseInstallmentSerializer(many=True)


class LeaseTerminateSerializer(serializers.Serializer):
    termination_date = DateField(help_text="The lease's last day.")
    reason = serializers.CharField(max_length=500)
    cancellation_fee = MoneyField(
        min_value=Decimal("0.00"),
        required=False,
        allow_null=True,
        help_text="Charged as a CANCELLATION_FEE obligation in the termination week; empty or 0 for none.",
    )
