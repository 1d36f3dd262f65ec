"""Exports of the fleet lists (CSV, XLSX, JSON…) from the admin, via django-import-export.

Export only: rows enter through `leases.services`, whose rules an import would bypass.
Related rows are named by what people read on paper (TLC license, VIN, medallion number), not
by database ids.
"""

from import_export import fields, resources

from leases.models import Driver, Lease, Medallion, Vehicle


class DriverResource(resources.ModelResource):
    class Meta:
        model = Driver
        fields = ("id", "first_name", "last_name", "tlc_license_number", "phone", "email", "status", "pay_to_mode")
        export_order = fields


class VehicleResource(resources.ModelResource):
    class Meta:
        model = Vehicle
        fields = ("id", "vin", "plate_number", "make", "model", "year")
        export_order = fields


class MedallionResource(resources.ModelResource):
    class Meta:
        model = Medallion
        fields = ("id", "number", "medallion_type")
        export_order = fields


class LeaseResource(resources.ModelResource):
    driver_tlc_license_number = fields.Field(
        attribute="primary_driver__tlc_license_number", column_name="driver_tlc_license_number"
    )
    driver_name = fields.Field(attribute="primary_driver__full_name", column_name="driver_name")
    additional_driver_tlc_license_numbers = fields.Field(column_name="additional_driver_tlc_license_numbers")
    vehicle_vin = fields.Field(attribute="vehicle__vin", column_name="vehicle_vin")
    vehicle_plate_number = fields.Field(attribute="vehicle__plate_number", column_name="vehicle_plate_number")
    medallion_number = fields.Field(attribute="medallion__number", column_name="medallion_number")

    class Meta:
        model = Lease
        fields = (
            "id",
            "lease_number",
            "lease_type",
            "status",
            "driver_tlc_license_number",
            "driver_name",
            "additional_driver_tlc_license_numbers",
            "vehicle_vin",
            "vehicle_plate_number",
            "medallion_number",
            "start_date",
            "end_date",
            "weekly_rate",
        )
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("primary_driver", "vehicle", "medallion").prefetch_related("additional_drivers")

    def dehydrate_additional_driver_tlc_license_numbers(self, lease: Lease) -> str:
        return " ".join(sorted(driver.tlc_license_number for driver in lease.additional_drivers.all()))
