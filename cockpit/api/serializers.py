"""The driver account over the API (`GET /api/drivers/{id}/account`): the admin page's figures."""

from rest_framework import serializers

from batpay.money import MoneyField


class AgedCategorySerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    days_0_7 = MoneyField(help_text="Due in a week that began 0–7 days ago (or later).")
    days_8_30 = MoneyField()
    days_31_60 = MoneyField()
    days_61_90 = MoneyField()
    days_90_plus = MoneyField(help_text="Due in a week that began more than 90 days ago.")
    outstanding = MoneyField()


class PlanLineSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The plan source: repairs, loans, leases…")
    plan_id = serializers.CharField()
    lease_number = serializers.CharField()
    status = serializers.CharField()
    total = MoneyField(help_text="Σ the plan's installments, cancelled ones left out.")
    paid = MoneyField(help_text="What receipts paid on its posted installments, net of voided payments.")
    outstanding = MoneyField(help_text="total − paid: posted and still open, plus what is not posted yet.")


class AccountReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    method = serializers.CharField(allow_blank=True)
    lease_number = serializers.CharField(source="lease.lease_number")
    period = serializers.DateField()
    received_on = serializers.DateField()
    amount = MoneyField()
    unapplied = MoneyField()


class AccountDtrSerializer(serializers.Serializer):
    dtr_number = serializers.CharField()
    lease_number = serializers.CharField(source="lease.lease_number")
    period = serializers.DateField()
    status = serializers.CharField()
    card_earnings = MoneyField()
    subtotal_of_deductions = MoneyField()
    total_due_to_driver = MoneyField()
    balance_carried_forward = MoneyField()


class HoldingSerializer(serializers.Serializer):
    label = serializers.CharField()
    amount = MoneyField()


class AccountLeaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lease_number = serializers.CharField()
    status = serializers.CharField()


class DriverAccountSerializer(serializers.Serializer):
    driver_id = serializers.IntegerField()
    driver_name = serializers.CharField()
    tlc_license_number = serializers.CharField()
    as_of = serializers.DateField(help_text="Today (New York): the account as it stands.")
    outstanding = MoneyField(help_text="Σ the open balances.")
    credit_waiting = MoneyField(help_text="Interim payments and prepayments not applied yet.")
    leases = AccountLeaseSerializer(many=True)
    ageing = AgedCategorySerializer(many=True, help_text="Open balances per category, in payment priority order.")
    plans = PlanLineSerializer(many=True)
    receipts = AccountReceiptSerializer(many=True, help_text="The latest 20.")
    dtrs = AccountDtrSerializer(many=True, help_text="The latest 20.")
    held = HoldingSerializer(many=True, help_text="Money held for the driver (deposits, once recorded).")
