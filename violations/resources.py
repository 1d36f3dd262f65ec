"""Admin exports (django-import-export) of violations and TLC summonses. Export only: rows enter
through `violations.services`, whose rules an import would bypass."""

from import_export import fields, resources

from violations.models import TlcSummons, Violation


class ViolationResource(resources.ModelResource):
    driver_tlc_license_number = fields.Field(attribute="driver__tlc_license_number", column_name="driver_tlc_license")
    lease_number = fields.Field(attribute="lease__lease_number", column_name="lease_number")

    class Meta:
        model = Violation
        fields = (
            "summons_number",
            "plate",
            "state",
            "issue_date",
            "violation_time",
            "violation",
            "status",
            "fine_amount",
            "amount_due",
            "driver_total",
            "review",
            "review_reason",
            "driver_tlc_license_number",
            "lease_number",
        )
        export_order = fields


class TlcSummonsResource(resources.ModelResource):
    driver_tlc_license_number = fields.Field(attribute="driver__tlc_license_number", column_name="driver_tlc_license")
    lease_number = fields.Field(attribute="lease__lease_number", column_name="lease_number")
    violation_type_name = fields.Field(attribute="violation_type__name", column_name="violation_type")

    class Meta:
        model = TlcSummons
        fields = (
            "summons_number",
            "violation_type_name",
            "violation_date",
            "amount",
            "reduced_amount",
            "disposition",
            "owed",
            "driver_tlc_license_number",
            "lease_number",
        )
        export_order = fields
