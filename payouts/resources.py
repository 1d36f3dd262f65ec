"""Exports of the payouts list from the admin (django-import-export). Export only; account numbers
by their last four digits, never whole."""

from import_export import fields, resources

from payouts.models import Payout


class PayoutResource(resources.ModelResource):
    run = fields.Field(attribute="run__number", column_name="run")
    driver = fields.Field(attribute="driver__full_name", column_name="driver")
    tlc_license = fields.Field(attribute="driver__tlc_license_number", column_name="tlc_license")

    class Meta:
        model = Payout
        fields = (
            "id",
            "run",
            "driver",
            "tlc_license",
            "method",
            "amount",
            "status",
            "payee",
            "routing_number",
            "account_last4",
            "account_type",
            "trace_number",
            "check_number",
            "dtr_numbers",
            "return_code",
            "returned_on",
            "voided_on",
        )
        export_order = fields
