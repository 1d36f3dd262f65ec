"""Shapes of the toll API. Money goes out as decimal strings, like the rest of the API."""

from rest_framework import serializers

from batpay.money import MoneyField
from tolls.models import Toll, TollImport, TollImportRow


class TollSerializer(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)
    post_txn_balance = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, allow_null=True)
    # Wall time in New York as the export prints it (HH:MM:SS); `occurred_at` is the instant.
    toll_time = serializers.CharField(read_only=True, help_text="HH:MM:SS, New York time, as the export prints it.")
    attribution = serializers.CharField(
        read_only=True, help_text="TRIP, PRIMARY, TOLL (a refund follows its toll) or STAFF; empty without a lease."
    )
    lease_id = serializers.IntegerField(read_only=True, allow_null=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True, allow_null=True)
    driver_id = serializers.IntegerField(read_only=True, allow_null=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True, allow_null=True)
    vehicle_id = serializers.IntegerField(read_only=True, allow_null=True)
    trip_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="The trip that showed the driver.")
    refund_of = serializers.CharField(source="refund_of.lane_txn_id", read_only=True, allow_null=True)
    receipt_id = serializers.IntegerField(read_only=True, allow_null=True)
    batch_id = serializers.IntegerField(read_only=True)
    source_reference = serializers.CharField(read_only=True, help_text="The ledger's key of its EZPASS charge.")
    description = serializers.CharField(read_only=True, help_text="Its line on the DTR.")

    class Meta:
        model = Toll
        fields = [
            "id",
            "lane_txn_id",
            "kind",
            "status",
            "tag_or_plate",
            "posted_date",
            "agency",
            "entry_plaza",
            "exit_plaza",
            "vehicle_class",
            "toll_date",
            "toll_time",
            "occurred_at",
            "period",
            "amount",
            "post_txn_balance",
            "vehicle_id",
            "lease_id",
            "lease_number",
            "driver_id",
            "driver_name",
            "attribution",
            "trip_id",
            "reason",
            "assignment",
            "source_reference",
            "description",
            "refund_of",
            "receipt_id",
            "batch_id",
            "line_number",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TollReassignSerializer(serializers.Serializer):
    lease_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    driver_id = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        help_text="Default: the lease's primary driver.",
    )
    reason = serializers.CharField(max_length=2000)


class TollReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class TollImportSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    charged_amount = MoneyField(read_only=True)
    refunded_amount = MoneyField(read_only=True)
    excluded_amount = MoneyField(read_only=True)
    kept_for_review = serializers.IntegerField(read_only=True)

    class Meta:
        model = TollImport
        fields = [
            "id",
            "file_name",
            "sha256",
            "rows",
            "imported",
            "charges",
            "charged_amount",
            "refunds",
            "refunded_amount",
            "excluded",
            "excluded_amount",
            "unmatched",
            "already_imported",
            "invalid",
            "kept_for_review",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class TollFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The E-ZPass account's transaction export (CSV).")


class TollImportRowSerializer(serializers.ModelSerializer):
    batch_id = serializers.IntegerField(read_only=True)
    raw = serializers.JSONField(read_only=True, help_text="The row as read from the file, column by column.")

    class Meta:
        model = TollImportRow
        fields = ["id", "batch_id", "line_number", "reason", "lane_txn_id", "raw"]
        read_only_fields = fields
