"""Shapes of the DTR and trip API. Money goes out as decimal strings, like the rest of the API."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from batpay.money import MoneyField
from batpay.periods import period_end
from statements.models import TAX_COLUMNS, DriverTransactionReport, Trip, TripImport, TripImportRow
from statements.trips import MONEY_COLUMNS


class DtrSerializer(serializers.ModelSerializer):
    period_end = serializers.SerializerMethodField()
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    tlc_license = serializers.CharField(source="driver.tlc_license_number", read_only=True)
    medallion_number = serializers.CharField(source="lease.medallion.number", read_only=True)
    card_earnings = MoneyField(read_only=True)
    subtotal_of_deductions = MoneyField(read_only=True)
    prior_balance = MoneyField(read_only=True)
    balance_carried_forward = MoneyField(read_only=True)
    total_due_to_driver = MoneyField(read_only=True)
    supersedes = serializers.CharField(
        source="supersedes.dtr_number", read_only=True, allow_null=True, help_text="The voided DTR this one replaces."
    )
    superseded_by = serializers.SerializerMethodField(help_text="The DTR that replaced this one when it was voided.")
    voided_by = serializers.CharField(source="voided_by.username", read_only=True, allow_null=True)
    generated_by = serializers.CharField(source="generated_by.username", read_only=True, allow_null=True)
    pdf_url = serializers.SerializerMethodField()
    pdf_stored = serializers.SerializerMethodField(help_text="Whether the PDF has been rendered and stored yet.")

    class Meta:
        model = DriverTransactionReport
        fields = [
            "dtr_number",
            "version",
            "status",
            "period",
            "period_end",
            "lease_id",
            "lease_number",
            "driver_id",
            "driver_name",
            "tlc_license",
            "medallion_number",
            "card_earnings",
            "subtotal_of_deductions",
            "prior_balance",
            "balance_carried_forward",
            "total_due_to_driver",
            "supersedes",
            "superseded_by",
            "generated_by",
            "generated_at",
            "voided_by",
            "voided_at",
            "void_reason",
            "pdf_url",
            "pdf_stored",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATE)
    def get_period_end(self, obj: DriverTransactionReport):
        return period_end(obj.period)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_superseded_by(self, obj: DriverTransactionReport) -> str | None:
        replacement = getattr(obj, "superseded_by", None)
        return replacement.dtr_number if replacement else None

    def get_pdf_url(self, obj: DriverTransactionReport) -> str:
        return reverse("dtr-pdf", args=[obj.dtr_number])

    def get_pdf_stored(self, obj: DriverTransactionReport) -> bool:
        return bool(obj.pdf)


class DtrDetailSerializer(DtrSerializer):
    snapshot = serializers.JSONField(
        read_only=True,
        help_text="The report as issued: header, trips, card earnings, per category (payment priority order) "
        "prior balance, charges, paid and balance carried forward with their detail lines, the totals, the "
        "subtotal of deductions, net and total due to the driver. Money as decimal strings.",
    )

    class Meta(DtrSerializer.Meta):
        fields = [*DtrSerializer.Meta.fields, "snapshot"]
        read_only_fields = fields


class DtrVoidSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, allow_blank=True, help_text="Why the DTR is wrong; at least 10 characters."
    )


class DtrVoidResultSerializer(serializers.Serializer):
    voided = DtrSerializer()
    replacement = DtrSerializer(help_text="The new version, issued from the ledger as of the period's end.")


class TripSerializer(serializers.ModelSerializer):
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    tlc_license = serializers.CharField(source="driver.tlc_license_number", read_only=True)
    medallion_number = serializers.CharField(source="medallion.number", read_only=True)
    batch_id = serializers.IntegerField(read_only=True)
    taxes_and_fees = serializers.SerializerMethodField(
        help_text="What the trip adds to the week's TAXES charge: " + " + ".join(TAX_COLUMNS) + "."
    )

    class Meta:
        model = Trip
        fields = [
            "id",
            "trip_id",
            "lease_id",
            "lease_number",
            "driver_id",
            "driver_name",
            "tlc_license",
            "medallion_number",
            "period",
            "start_time",
            "end_time",
            "payment_type",
            *MONEY_COLUMNS,
            "taxes_and_fees",
            "batch_id",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(MoneyField())
    def get_taxes_and_fees(self, obj: Trip) -> str:
        return f"{sum(getattr(obj, column) for column in TAX_COLUMNS):.2f}"


class TripImportSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = TripImport
        fields = [
            "id",
            "file_name",
            "sha256",
            "rows",
            "imported",
            "already_imported",
            "invalid",
            "unmatched",
            "late",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class TripImportRowSerializer(serializers.ModelSerializer):
    batch_id = serializers.IntegerField(read_only=True)
    raw = serializers.JSONField(read_only=True, help_text="The row as read from the file, column by column.")

    class Meta:
        model = TripImportRow
        fields = ["id", "batch_id", "line_number", "kind", "reason", "trip_id", "raw"]
        read_only_fields = fields
