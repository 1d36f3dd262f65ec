from rest_framework import serializers

from batpay.money import MoneyField
from batpay.periods import DateField
from violations.models import (
    Disposition,
    TlcCharge,
    TlcSummons,
    TlcSummonsEvent,
    TlcViolationType,
    Violation,
    ViolationCharge,
    ViolationImport,
    ViolationImportRow,
    ViolationVersion,
)


class ViolationVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ViolationVersion
        fields = [
            "number",
            "batch_id",
            "line_number",
            "status",
            "judgment_entry_date",
            "fine_amount",
            "penalty_amount",
            "interest_amount",
            "reduction_amount",
            "payment_amount",
            "amount_due",
            "dismissed",
            "driver_total",
            "created_at",
        ]
        read_only_fields = fields


class ChargeFields:
    fields = [
        "sequence",
        "kind",
        "source_reference",
        "amount",
        "driver_id",
        "lease_id",
        "reason",
        "voided_at",
        "void_reason",
        "created_at",
    ]


class ViolationChargeSerializer(serializers.ModelSerializer):
    driver_id = serializers.IntegerField(read_only=True)
    lease_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = ViolationCharge
        fields = ChargeFields.fields
        read_only_fields = fields


class ViolationSerializer(serializers.ModelSerializer):
    driver_id = serializers.IntegerField(read_only=True, allow_null=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True, allow_null=True, default=None)
    lease_id = serializers.IntegerField(read_only=True, allow_null=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True, allow_null=True, default=None)
    vehicle_id = serializers.IntegerField(read_only=True, allow_null=True)
    medallion_id = serializers.IntegerField(read_only=True, allow_null=True)
    attributed_by = serializers.CharField(
        read_only=True, help_text="TRIP, PRIMARY or STAFF; empty while the summons is charged to nobody."
    )

    class Meta:
        model = Violation
        fields = [
            "id",
            "summons_number",
            "plate",
            "state",
            "license_type",
            "issue_date",
            "violation_time",
            "violated_at",
            "violation",
            "precinct",
            "county",
            "issuing_agency",
            "status",
            "fine_amount",
            "amount_due",
            "driver_total",
            "review",
            "review_reason",
            "attributed_by",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "vehicle_id",
            "medallion_id",
            "created_at",
        ]
        read_only_fields = fields


class ViolationDetailSerializer(ViolationSerializer):
    versions = ViolationVersionSerializer(many=True, read_only=True)
    charges = ViolationChargeSerializer(many=True, read_only=True)

    class Meta(ViolationSerializer.Meta):
        fields = [*ViolationSerializer.Meta.fields, "versions", "charges"]
        read_only_fields = fields


class ViolationCreateSerializer(serializers.Serializer):
    """A summons typed in, with the file's columns (amounts as money, dates as YYYY-MM-DD)."""

    summons_number = serializers.CharField(max_length=20)
    plate = serializers.CharField(max_length=16)
    state = serializers.CharField(max_length=4, required=False, allow_blank=True, default="NY")
    license_type = serializers.CharField(max_length=8, required=False, allow_blank=True, default="OMT")
    issue_date = DateField()
    violation_time = serializers.RegexField(r"^[0-9]{2}:[0-9]{2}[AaPp]$", max_length=6, help_text="e.g. 10:05A")
    violation = serializers.CharField(max_length=120)
    judgment_entry_date = DateField(required=False, allow_null=True, default=None)
    fine_amount = MoneyField(min_value=0)
    penalty_amount = MoneyField(min_value=0, required=False, default="0.00")
    interest_amount = MoneyField(min_value=0, required=False, default="0.00")
    reduction_amount = MoneyField(min_value=0, required=False, default="0.00")
    payment_amount = MoneyField(min_value=0, required=False, default="0.00")
    amount_due = MoneyField(min_value=0, required=False, default="0.00")
    precinct = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    county = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    issuing_agency = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    violation_status = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ReassignSerializer(serializers.Serializer):
    driver_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    lease_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.CharField(max_length=2000)


class ViolationReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ViolationImportRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ViolationImportRow
        fields = ["line_number", "kind", "reason", "summons_number", "raw"]
        read_only_fields = fields


class ViolationImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = ViolationImport
        fields = [
            "id",
            "file_name",
            "sha256",
            "rows",
            "new_summonses",
            "new_versions",
            "unchanged",
            "invalid",
            "needs_review",
            "charged",
            "created_at",
        ]
        read_only_fields = fields


class ViolationImportDetailSerializer(ViolationImportSerializer):
    kept_rows = ViolationImportRowSerializer(many=True, read_only=True)

    class Meta(ViolationImportSerializer.Meta):
        fields = [*ViolationImportSerializer.Meta.fields, "kept_rows"]
        read_only_fields = fields


class ViolationImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The Department of Finance's violations CSV.")


# --- TLC -------------------------------------------------------------------------------------------


class TlcViolationTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TlcViolationType
        fields = ["id", "name", "active"]
        read_only_fields = fields


class TlcChargeSerializer(serializers.ModelSerializer):
    driver_id = serializers.IntegerField(read_only=True)
    lease_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = TlcCharge
        fields = ChargeFields.fields
        read_only_fields = fields


class TlcEventSerializer(serializers.ModelSerializer):
    from_disposition = serializers.CharField(read_only=True, help_text="Empty for the summons' entry.")

    class Meta:
        model = TlcSummonsEvent
        fields = ["from_disposition", "to_disposition", "owed_before", "owed_after", "reason", "created_at"]
        read_only_fields = fields


class TlcSummonsSerializer(serializers.ModelSerializer):
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    medallion_id = serializers.IntegerField(read_only=True)
    violation_type_id = serializers.IntegerField(read_only=True)
    violation_type = serializers.CharField(source="violation_type.name", read_only=True)
    document = serializers.SerializerMethodField()

    class Meta:
        model = TlcSummons
        fields = [
            "id",
            "summons_number",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "medallion_id",
            "violation_type_id",
            "violation_type",
            "violation_date",
            "amount",
            "reduced_amount",
            "disposition",
            "owed",
            "document",
            "created_at",
        ]
        read_only_fields = fields

    def get_document(self, summons) -> bool:
        """Whether a scan is on file."""
        return bool(summons.document)


class TlcSummonsDetailSerializer(TlcSummonsSerializer):
    events = TlcEventSerializer(many=True, read_only=True)
    charges = TlcChargeSerializer(many=True, read_only=True)

    class Meta(TlcSummonsSerializer.Meta):
        fields = [*TlcSummonsSerializer.Meta.fields, "events", "charges"]
        read_only_fields = fields


class TlcSummonsCreateSerializer(serializers.Serializer):
    summons_number = serializers.CharField(max_length=20)
    driver_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    lease_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    medallion_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)
    violation_type_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    violation_date = DateField()
    amount = MoneyField()
    disposition = serializers.ChoiceField(choices=Disposition.choices, required=False, default=Disposition.PENDING)
    reduced_amount = MoneyField(required=False, allow_null=True, default=None)
    document = serializers.FileField(required=False, allow_null=True, default=None)


class TlcDispositionSerializer(serializers.Serializer):
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    reduced_amount = MoneyField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=2000)
