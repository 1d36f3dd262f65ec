"""Misc charges and credits in the admin: the same services as the API, so the same rules.

Finance enters a charge or a credit on the add page (a refusal comes back on the form's fields);
once saved it is read-only. A Controller reverses selected ones with a reason (a list action).
Charge types are a list Finance keeps here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html

from batpay.errors import DomainError
from batpay.forms import ServiceErrorsMixin, service_values
from batpay.money import MoneyFormField
from charges import selectors, services
from charges.exports import CHARGE_COLUMNS, CREDIT_COLUMNS
from charges.models import MiscCharge, MiscChargeType, MiscCredit
from plans.service_admin import ServiceAdmin, reason_action

CHARGE_FORM_NAMES = {"driver": "driver_id", "lease": "lease_id", "charge_type": "charge_type_id"}


class MiscChargeForm(ServiceErrorsMixin, forms.ModelForm):
    service_names = CHARGE_FORM_NAMES

    class Meta:
        model = MiscCharge
        fields = ("driver", "lease", "charge_type", "amount", "note", "receipt_file")
        field_classes = {"amount": MoneyFormField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "charge_type" in self.fields:
            self.fields["charge_type"].queryset = selectors.charge_types(active_only=True)
        if "receipt_file" in self.fields:
            self.fields["receipt_file"].help_text = "Optional: a PDF, PNG or JPEG scan of the receipt."

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                services.charge_input_clean(**service_values(cleaned, self.Meta.fields, self.service_names))
            except DomainError as exc:
                self.add_domain_error(exc)
        return cleaned

    def _post_clean(self) -> None:
        """The service checks the entry; the model's own validation would see no ledger balance yet."""


@admin.register(MiscCharge)
class MiscChargeAdmin(ServiceAdmin):
    form = MiscChargeForm
    form_renames = CHARGE_FORM_NAMES
    entry_fields = MiscChargeForm.Meta.fields
    shown_fields = (
        "misc_id", "status", "driver", "lease", "charge_type", "amount", "note", "receipt_file", "balance_link",
        "outstanding", "reversal_reason", "reversed_at", "reversed_by", "created_by", "created_at",
    )  # fmt: skip
    list_display = ("misc_id", "driver_name", "lease_number", "charge_type", "amount", "outstanding", "status",
                    "created_at")  # fmt: skip
    list_select_related = ("driver", "lease", "charge_type", "obligation")
    list_filter = ("status", "charge_type", "created_at")
    search_fields = ("=misc_id", "driver__first_name", "driver__last_name", "=driver__tlc_license_number",
                     "=lease__lease_number")  # fmt: skip
    autocomplete_fields = ("driver", "lease")
    date_hierarchy = "created_at"
    actions = ["reverse_selected", "export_xlsx", "export_csv"]
    export_columns = CHARGE_COLUMNS
    export_title = "Misc charges"
    export_basename = "misc-charges"
    export_permission = "charges.export_misccharge"
    create = staticmethod(services.misc_charge_create)

    def get_queryset(self, request):
        return selectors.charge_list()

    def describe(self, obj: MiscCharge) -> str:
        return f"{obj.misc_id} — {obj.charge_type} {obj.amount} to {obj.driver.full_name} ({obj.get_status_display()})"

    @admin.display(description="Outstanding")
    def outstanding(self, obj: MiscCharge):
        return obj.obligation.outstanding

    @admin.display(description="Ledger balance")
    def balance_link(self, obj: MiscCharge):
        url = reverse("admin:ledger_obligationbalance_change", args=[obj.obligation_id])
        return format_html('<a href="{}">{}</a>', url, obj.obligation)

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("charges.void_misccharge")

    @admin.action(description="Reverse selected charges…", permissions=["void"])
    def reverse_selected(self, request, queryset):
        if not self.has_void_permission(request):
            raise PermissionDenied
        return reason_action(
            self, request, queryset, action="reverse_selected", title="Reverse misc charges",
            explanation="Each charge's ledger charge is voided; payments on it go back to their receipts.",
            apply=lambda obj, reason: services.misc_charge_reverse(misc_id=obj.misc_id, reason=reason,
                                                                   actor=request.user),
        )  # fmt: skip


class MiscCreditForm(ServiceErrorsMixin, forms.ModelForm):
    service_names = CHARGE_FORM_NAMES

    class Meta:
        model = MiscCredit
        fields = ("driver", "lease", "amount", "note")
        field_classes = {"amount": MoneyFormField}

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                services.credit_input_clean(**service_values(cleaned, self.Meta.fields, self.service_names))
            except DomainError as exc:
                self.add_domain_error(exc)
        return cleaned

    def _post_clean(self) -> None:
        """The service checks the entry; the model's own validation would see no receipt yet."""


@admin.register(MiscCredit)
class MiscCreditAdmin(ServiceAdmin):
    form = MiscCreditForm
    form_renames = CHARGE_FORM_NAMES
    entry_fields = MiscCreditForm.Meta.fields
    shown_fields = (
        "credit_id", "status", "driver", "lease", "amount", "note", "receipt_link", "due_to_driver",
        "reversal_reason", "reversal_charge", "reversed_at", "reversed_by", "created_by", "created_at",
    )  # fmt: skip
    list_display = ("credit_id", "driver_name", "lease_number", "amount", "due_to_driver", "status", "created_at")
    list_select_related = ("driver", "lease", "receipt")
    list_filter = ("status", "created_at")
    search_fields = ("=credit_id", "driver__first_name", "driver__last_name", "=driver__tlc_license_number",
                     "=lease__lease_number")  # fmt: skip
    autocomplete_fields = ("driver", "lease")
    date_hierarchy = "created_at"
    actions = ["reverse_selected", "export_xlsx", "export_csv"]
    export_columns = CREDIT_COLUMNS
    export_title = "Misc credits"
    export_basename = "misc-credits"
    export_permission = "charges.export_misccredit"
    create = staticmethod(services.misc_credit_create)

    def get_queryset(self, request):
        return selectors.credit_list()

    def describe(self, obj: MiscCredit) -> str:
        return f"{obj.credit_id} — {obj.amount} for {obj.driver.full_name} ({obj.get_status_display()})"

    @admin.display(description="Due to driver (unapplied)")
    def due_to_driver(self, obj: MiscCredit):
        return obj.receipt.unapplied

    @admin.display(description="Ledger receipt")
    def receipt_link(self, obj: MiscCredit):
        url = reverse("admin:ledger_receipt_change", args=[obj.receipt_id])
        return format_html('<a href="{}">{}</a>', url, obj.receipt)

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("charges.void_misccredit")

    @admin.action(description="Reverse selected credits…", permissions=["void"])
    def reverse_selected(self, request, queryset):
        if not self.has_void_permission(request):
            raise PermissionDenied
        return reason_action(
            self, request, queryset, action="reverse_selected", title="Reverse misc credits",
            explanation="What each credit paid is owed again, and a charge of its amount takes the credit back "
            "(any part already paid out to the driver stays owed on that charge).",
            apply=lambda obj, reason: services.misc_credit_reverse(credit_id=obj.credit_id, reason=reason,
                                                                   actor=request.user),
        )  # fmt: skip


@admin.register(MiscChargeType)
class MiscChargeTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "description")
    list_editable = ("active",)
    list_filter = ("active",)
    search_fields = ("name",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A type in use stays (PROTECT); retire it by unticking "active".
        return False
