from rest_framework import serializers

from batpay.money import MoneyField
from deposits.models import Deposit, DepositInstallment


class DepositInstallmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = DepositInstallment
        fields = ["installment_id", "sequence", "period_start", "period_end", "amount", "status", "posted_at"]


class DepositSerializer(serializers.ModelSerializer):
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    lease_end_date = serializers.DateField(source="lease.end_date", read_only=True, allow_null=True)
    deposit_held = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    installments = DepositInstallmentSerializer(many=True, read_only=True)

    class Meta:
        model = Deposit
        fields = [
            "deposit_id", "status", "driver_id", "driver_name", "lease_id", "lease_number", "lease_end_date",
            "deposit_amount", "collection", "installment_count", "start_week", "deposit_held", "released_at",
            "release_reason", "released_amount", "applied_amount", "installments", "created_at",
        ]  # fmt: skip


class DepositCreateSerializer(serializers.Serializer):
    driver_id = serializers.IntegerField()
    lease_id = serializers.IntegerField()
    deposit_amount = MoneyField()
    collection = serializers.ChoiceField(choices=Deposit.Collection.choices)
    installment_count = serializers.IntegerField(required=False, min_value=2, max_value=52)
    start_week = serializers.CharField(
        required=False, max_length=10, help_text="CURRENT, NEXT (the default) or a Sunday (YYYY-MM-DD)."
    )


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, help_text="Why it is released before its time (10+ characters).")
