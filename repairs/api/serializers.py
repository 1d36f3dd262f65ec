from rest_framework import serializers

from batpay.money import MoneyField
from batpay.periods import DateField
from repairs.models import RepairInstallment, RepairInvoice


class RepairInstallmentSerializer(serializers.ModelSerializer):
    repair_id = serializers.CharField(source="plan.repair_id", read_only=True)
    posting_reference = serializers.IntegerField(source="posting_id", read_only=True, allow_null=True)

    class Meta:
        model = RepairInstallment
        fields = [
            "installment_id",
            "repair_id",
            "sequence",
            "period_start",
            "period_end",
            "amount",
            "status",
            "posting_reference",
            "posted_at",
        ]
        read_only_fields = fields


class RepairListedInstallmentSerializer(RepairInstallmentSerializer):
    """An installment in the all-installments lists: with whom it is charged to."""

    driver_id = serializers.IntegerField(source="plan.driver_id", read_only=True)
    lease_id = serializers.IntegerField(source="plan.lease_id", read_only=True)
    vehicle_id = serializers.IntegerField(source="plan.vehicle_id", read_only=True)
    medallion_id = serializers.IntegerField(source="plan.medallion_id", read_only=True)
    repair_status = serializers.CharField(source="plan.status", read_only=True)

    class Meta(RepairInstallmentSerializer.Meta):
        fields = [
            *RepairInstallmentSerializer.Meta.fields,
            "repair_status",
            "driver_id",
            "lease_id",
            "vehicle_id",
            "medallion_id",
        ]
        read_only_fields = fields


class RepairListSerializer(serializers.ModelSerializer):
    """A repair in a list: everything but its installments (GET /api/repairs/{id}/installments has them)."""

    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    vehicle_id = serializers.IntegerField(read_only=True)
    vin = serializers.CharField(source="vehicle.vin", read_only=True)
    medallion_id = serializers.IntegerField(read_only=True)
    medallion_number = serializers.CharField(source="medallion.number", read_only=True)
    installment_count = serializers.IntegerField(read_only=True)
    total_paid = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    outstanding_balance = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = RepairInvoice
        fields = [
            "repair_id",
            "status",
            "status_reason",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "vehicle_id",
            "vin",
            "medallion_id",
            "medallion_number",
            "invoice_number",
            "invoice_date",
            "workshop_type",
            "repair_description",
            "repair_amount",
            "weekly_installment_amount",
            "start_week",
            "installment_count",
            "total_paid",
            "outstanding_balance",
            "confirmed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RepairSerializer(RepairListSerializer):
    """A repair with its schedule: what create, retrieve, update and the lifecycle actions return."""

    installments = RepairInstallmentSerializer(many=True, read_only=True)

    class Meta(RepairListSerializer.Meta):
        fields = [*RepairListSerializer.Meta.fields, "installments"]
        read_only_fields = fields


class RepairCreateSerializer(serializers.Serializer):
    """The create body of SPEC §7. Types only: the rules (lease of the driver, dates, duplicates) are the service's."""

    driver_id = serializers.IntegerField()
    lease_id = serializers.IntegerField()
    vehicle_id = serializers.IntegerField(required=False, allow_null=True, help_text="Defaults to the lease's vehicle.")
    medallion_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="Defaults to the lease's medallion."
    )
    invoice_number = serializers.CharField(max_length=64)
    invoice_date = DateField(help_text="Not in the future.")
    workshop_type = serializers.ChoiceField(choices=RepairInvoice.WorkshopType.choices)
    repair_description = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    repair_amount = MoneyField(help_text="Greater than zero.")
    start_week = serializers.CharField(max_length=10, help_text="CURRENT, NEXT or a Sunday (YYYY-MM-DD).")


class RepairUpdateSerializer(RepairCreateSerializer):
    """PATCH: any create field while DRAFT (the schedule is rebuilt); only the description afterwards."""
