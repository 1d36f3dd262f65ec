"""What the fleet API reads and writes.

Input serializers only clean types and sizes; the rules (formats, uniqueness, one ACTIVE lease
per medallion) live in `leases.services`, shared with the admin. The same input serializer,
made partial, cleans a PATCH.
"""

from decimal import Decimal

from rest_framework import serializers

from batpay.money import MoneyField
from batpay.periods import DateField
from leases.api.filters import MAX_ID
from leases.models import Driver, Lease, Medallion, Vehicle

MAX_ADDITIONAL_DRIVERS = 20
# Room for spaces around a code (services remove them) while keeping bodies small.
CODE_MAX_LENGTH = 40


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class DriverSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = Driver
        fields = [
            "id",
            "first_name",
            "last_name",
            "full_name",
            "tlc_license_number",
            "phone",
            "email",
            "status",
            "pay_to_mode",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DriverInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=80)
    last_name = serializers.CharField(max_length=80)
    tlc_license_number = serializers.CharField(max_length=CODE_MAX_LENGTH, help_text="7 digits.")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Driver.Status.choices, required=False)
    pay_to_mode = serializers.ChoiceField(choices=Driver.PayTo.choices, required=False)


class VehicleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = ["id", "vin", "plate_number", "make", "model", "year", "created_at", "updated_at"]
        read_only_fields = fields


class VehicleInputSerializer(serializers.Serializer):
    vin = serializers.CharField(max_length=CODE_MAX_LENGTH, help_text="17 characters, without I, O or Q.")
    plate_number = serializers.CharField(max_length=16)
    make = serializers.CharField(max_length=40)
    model = serializers.CharField(max_length=40)
    year = serializers.IntegerField(min_value=1990, max_value=2100)


class MedallionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Medallion
        fields = ["id", "number", "medallion_type", "created_at", "updated_at"]
        read_only_fields = fields


class MedallionInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=CODE_MAX_LENGTH, help_text="A digit, a letter and two digits: 2Y47.")
    medallion_type = serializers.ChoiceField(choices=Medallion.Type.choices, required=False)


class LeaseSerializer(serializers.ModelSerializer):
    driver_id = serializers.IntegerField(source="primary_driver_id", read_only=True, help_text="The primary driver.")
    driver_name = serializers.CharField(source="primary_driver.full_name", read_only=True)
    additional_driver_ids = serializers.PrimaryKeyRelatedField(source="additional_drivers", many=True, read_only=True)
    vehicle_id = serializers.IntegerField(read_only=True)
    medallion_id = serializers.IntegerField(read_only=True)
    medallion_number = serializers.CharField(source="medallion.number", read_only=True)

    class Meta:
        model = Lease
        fields = [
            "id",
            "lease_number",
            "lease_type",
            "status",
            "driver_id",
            "driver_name",
            "additional_driver_ids",
            "vehicle_id",
            "medallion_id",
            "medallion_number",
            "start_date",
            "end_date",
            "weekly_rate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeaseInputSerializer(serializers.Serializer):
    lease_type = serializers.ChoiceField(choices=Lease.Type.choices)
    driver_id = _id_field(help_text="The primary driver.")
    additional_driver_ids = serializers.ListField(
        child=_id_field(), required=False, max_length=MAX_ADDITIONAL_DRIVERS, help_text="Replaces the whole list."
    )
    vehicle_id = _id_field()
    medallion_id = _id_field()
    start_date = DateField()
    end_date = DateField(required=False, allow_null=True)
    weekly_rate = MoneyField(min_value=Decimal("0.01"))
    status = serializers.ChoiceField(choices=Lease.Status.choices, required=False)
