from rest_framework import serializers

from batpay.money import MoneyField
from charges.models import MiscCharge, MiscChargeType, MiscCredit


class MiscChargeTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = MiscChargeType
        fields = ["id", "name", "active", "description"]


class MiscChargeSerializer(serializers.ModelSerializer):
    charge_type_id = serializers.IntegerField(read_only=True)
    charge_type = serializers.CharField(source="charge_type.name", read_only=True)
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    balance_id = serializers.IntegerField(source="obligation_id", read_only=True)
    outstanding = serializers.DecimalField(
        source="obligation.outstanding", max_digits=12, decimal_places=2, read_only=True
    )
    due_period = serializers.DateField(source="obligation.due_period", read_only=True)
    has_receipt_file = serializers.SerializerMethodField()

    class Meta:
        model = MiscCharge
        fields = [
            "misc_id", "status", "charge_type_id", "charge_type", "driver_id", "driver_name", "lease_id",
            "lease_number", "amount", "note", "has_receipt_file", "balance_id", "outstanding", "due_period",
            "reversal_reason", "reversed_at", "created_at",
        ]  # fmt: skip

    def get_has_receipt_file(self, charge) -> bool:
        return bool(charge.receipt_file)


class MiscChargeCreateSerializer(serializers.Serializer):
    driver_id = serializers.IntegerField()
    lease_id = serializers.IntegerField()
    charge_type_id = serializers.IntegerField()
    amount = MoneyField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)
    receipt_file = serializers.FileField(required=False, allow_null=True, help_text="A PDF, PNG or JPEG scan.")


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, help_text="Why (at least 10 characters).")


class MiscCreditSerializer(serializers.ModelSerializer):
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    receipt_id = serializers.IntegerField(read_only=True)
    applied = serializers.SerializerMethodField()
    due_to_driver = serializers.DecimalField(
        source="receipt.unapplied", max_digits=12, decimal_places=2, read_only=True
    )
    reversal_balance_id = serializers.IntegerField(source="reversal_charge_id", read_only=True, allow_null=True)

    class Meta:
        model = MiscCredit
        fields = [
            "credit_id", "status", "driver_id", "driver_name", "lease_id", "lease_number", "amount", "note",
            "receipt_id", "applied", "due_to_driver", "reversal_reason", "reversal_balance_id", "reversed_at",
            "created_at",
        ]  # fmt: skip

    def get_applied(self, credit) -> str:
        receipt = credit.receipt
        refunded = sum((refund.amount for refund in receipt.refunds.all()), 0)
        return f"{receipt.amount - receipt.unapplied - refunded:.2f}"


class MiscCreditCreateSerializer(serializers.Serializer):
    driver_id = serializers.IntegerField()
    lease_id = serializers.IntegerField()
    amount = MoneyField()
    note = serializers.CharField(max_length=255, help_text="Why the driver is credited.")
