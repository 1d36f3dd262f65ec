"""Shapes of the ledger API. Money goes out as decimal strings ("500.00") and comes in as a string
or a JSON number, read by `batpay.money.MoneyField` (the project's parser reads numbers as
Decimal, never float).

Input serializers only check types and shapes; the business rules (positive amounts, what may be
allocated, void reasons) live in ledger.services, which the views call.
"""

from rest_framework import serializers

from batpay.money import MoneyField
from batpay.periods import DateField
from leases.models import Driver, Lease
from ledger.api.filters import MAX_ID
from ledger.models import ObligationBalance, Posting, Receipt, Refund


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class PostingSerializer(serializers.ModelSerializer):
    balance_id = serializers.IntegerField(source="obligation_id", read_only=True, allow_null=True)
    source_reference = serializers.CharField(source="obligation.source_reference", read_only=True, allow_null=True)
    receipt_id = serializers.IntegerField(read_only=True, allow_null=True)
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    vehicle_id = serializers.IntegerField(read_only=True, allow_null=True)
    medallion_id = serializers.IntegerField(read_only=True, allow_null=True)
    medallion_number = serializers.CharField(source="medallion.number", read_only=True, allow_null=True)
    reverses_id = serializers.IntegerField(read_only=True, allow_null=True)
    reversal_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The posting that voided this one, if any."
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Posting
        fields = [
            "id",
            "entry_type",
            "category",
            "amount",
            "status",
            "balance_id",
            "source_reference",
            "receipt_id",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "vehicle_id",
            "medallion_id",
            "medallion_number",
            "period",
            "effective_date",
            "reverses_id",
            "reversal_id",
            "idempotency_key",
            "description",
            "reason",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ObligationBalanceSerializer(serializers.ModelSerializer):
    paid = MoneyField(read_only=True)
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    vehicle_id = serializers.IntegerField(read_only=True, allow_null=True)
    medallion_id = serializers.IntegerField(read_only=True, allow_null=True)
    medallion_number = serializers.CharField(source="medallion.number", read_only=True, allow_null=True)

    class Meta:
        model = ObligationBalance
        fields = [
            "id",
            "category",
            "priority",
            "source_reference",
            "description",
            "original_amount",
            "paid",
            "outstanding",
            "status",
            "due_period",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "vehicle_id",
            "medallion_id",
            "medallion_number",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class _DriverLeaseAuthor(serializers.ModelSerializer):
    """Whose money a receipt or refund is (driver and lease, by id and by name) and who wrote it."""

    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)


class ReceiptSerializer(_DriverLeaseAuthor):
    payment_method = serializers.CharField(source="method", read_only=True, help_text="CASH, CHECK, ACH or blank.")

    class Meta:
        model = Receipt
        fields = [
            "id",
            "kind",
            "payment_method",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "period",
            "received_on",
            "amount",
            "unapplied",
            "idempotency_key",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ReceiptDetailSerializer(ReceiptSerializer):
    postings = PostingSerializer(many=True, read_only=True)

    class Meta(ReceiptSerializer.Meta):
        fields = [*ReceiptSerializer.Meta.fields, "postings"]
        read_only_fields = fields


class PostingVoidSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, allow_blank=True, help_text="Why the posting is wrong; at least 10 characters."
    )


class AllocationSerializer(serializers.Serializer):
    balance_id = IdField()
    amount = MoneyField()


class InterimPaymentSerializer(serializers.Serializer):
    driver_id = IdField()
    lease_id = IdField()
    amount = MoneyField()
    payment_method = serializers.ChoiceField(choices=Receipt.Method.choices)
    allocations = AllocationSerializer(
        many=True,
        required=False,
        help_text="Balances the cashier pays first; the rest pays the lease's open LEASE balances, oldest "
        "first, and what is left stays as the lease's prepayment credit.",
    )
    received_on = DateField(required=False, help_text="Defaults to today; not in the future.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate(self, attrs):
        """Resolve the ids; whether the lease is the driver's is the service's rule."""
        driver = Driver.objects.filter(pk=attrs["driver_id"]).first()
        if driver is None:
            raise serializers.ValidationError({"driver_id": f"No driver with id {attrs['driver_id']}."})
        lease = Lease.objects.filter(pk=attrs["lease_id"]).first()
        if lease is None:
            raise serializers.ValidationError({"lease_id": f"No lease with id {attrs['lease_id']}."})
        return {**attrs, "driver": driver, "lease": lease}


class InterimPaymentResultSerializer(serializers.Serializer):
    receipt = ReceiptSerializer()
    postings = PostingSerializer(many=True, help_text="The CREDIT postings this payment made.")
    prepayment_credit = MoneyField(help_text="The lease's prepayment credit now waiting for its next LEASE charges.")


class AsOfQuerySerializer(serializers.Serializer):
    as_of = DateField(required=False, help_text="End of this day; defaults to today.")


class BalanceAsOfSerializer(serializers.Serializer):
    balance_id = serializers.IntegerField()
    source_reference = serializers.CharField()
    due_period = serializers.DateField()
    charged = MoneyField()
    paid = MoneyField()
    outstanding = MoneyField()


class CategoryPositionSerializer(serializers.Serializer):
    category = serializers.CharField()
    charged = MoneyField()
    paid = MoneyField()
    outstanding = MoneyField()
    balances = BalanceAsOfSerializer(many=True)


class LeasePositionSerializer(serializers.Serializer):
    lease_id = serializers.IntegerField()
    lease_number = serializers.CharField()
    outstanding = MoneyField()
    categories = CategoryPositionSerializer(many=True)


class DriverPositionSerializer(serializers.Serializer):
    driver_id = serializers.IntegerField()
    driver_name = serializers.CharField()
    as_of = serializers.DateField()
    outstanding = MoneyField()
    leases = LeasePositionSerializer(many=True)


class ApplyCreditSerializer(serializers.Serializer):
    balance_id = IdField(help_text="An open balance of the receipt's driver, on any lease; not TAXES.")
    amount = MoneyField(required=False, help_text="Defaults to the credit, or the balance's outstanding if less.")
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text="At least 10 characters.")


class RefundCreditSerializer(serializers.Serializer):
    amount = MoneyField(required=False, help_text="Defaults to all the receipt's credit.")
    method = serializers.ChoiceField(choices=Receipt.Method.choices)
    reference = serializers.CharField(max_length=64, help_text="Check number, ACH trace or cash voucher.")
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text="At least 10 characters.")
    refunded_on = DateField(required=False, help_text="Defaults to today; not in the future.")


class RefundSerializer(_DriverLeaseAuthor):
    receipt_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "receipt_id",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "amount",
            "method",
            "reference",
            "reason",
            "refunded_on",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields
