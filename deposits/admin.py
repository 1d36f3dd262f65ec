"""Security deposits in the admin: terms entered by Finance, early release by a Controller, and the
deposit held shown on the deposit and on the driver's page."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied

from batpay.errors import DomainError
from batpay.forms import ServiceErrorsMixin, service_values
from batpay.money import MoneyFormField
from deposits import selectors, services
from deposits.exports import DEPOSIT_COLUMNS
from deposits.models import Deposit, DepositInstallment
from leases.models import Driver
from plans.service_admin import ServiceAdmin, reason_action


class DepositForm(ServiceErrorsMixin, forms.ModelForm):
    service_names = {"driver": "driver_id", "lease": "lease_id"}
    start_week = forms.CharField(
        max_length=10,
        required=False,
        initial="NEXT",
        help_text="For weekly installments: CURRENT, NEXT (default) or a Sunday (YYYY-MM-DD).",
    )

    class Meta:
        model = Deposit
        fields = ("driver", "lease", "deposit_amount", "collection", "installment_count", "start_week")
        field_classes = {"deposit_amount": MoneyFormField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "installment_count" in self.fields:
            self.fields[
                "installment_count"
            ].help_text = "Weekly installments: 2 to 52 (ignored when collected at once)."

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                services.deposit_input_clean(**service_values(cleaned, self.Meta.fields, self.service_names))
            except DomainError as exc:
                self.add_domain_error(exc)
        return cleaned

    def _post_clean(self) -> None:
        """The service checks the terms (and the plan's id and schedule are its to write)."""


class DepositInstallmentInline(admin.TabularInline):
    model = DepositInstallment
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("installment_id", "period_start", "period_end", "amount", "status", "posting", "posted_at")
    readonly_fields = fields
    ordering = ("sequence",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Deposit)
class DepositAdmin(ServiceAdmin):
    form = DepositForm
    entry_fields = DepositForm.Meta.fields
    form_renames = DepositForm.service_names
    shown_fields = (
        "deposit_id", "status", "driver", "lease", "lease_end", "deposit_amount", "collection", "installment_count",
        "start_week", "deposit_held", "released_at", "released_amount", "applied_amount", "release_reason",
        "released_by", "created_by", "created_at",
    )  # fmt: skip
    list_display = ("deposit_id", "driver_name", "lease_number", "deposit_amount", "collection", "deposit_held",
                    "status", "lease_end", "released_at")  # fmt: skip
    list_select_related = ("driver", "lease")
    list_filter = ("status", "collection", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("=deposit_id", "driver__first_name", "driver__last_name", "=driver__tlc_license_number",
                     "=lease__lease_number")  # fmt: skip
    autocomplete_fields = ("driver", "lease")
    actions = ["release_selected", "export_xlsx", "export_csv"]
    export_columns = DEPOSIT_COLUMNS
    export_title = "Security deposits"
    export_basename = "deposits"
    export_permission = "deposits.export_deposit"
    create = staticmethod(services.deposit_create)

    def get_queryset(self, request):
        return selectors.deposit_list()

    def export_prepare(self, rows):
        selectors.attach_held(rows)

    def get_inlines(self, request, obj=None):
        return [DepositInstallmentInline] if obj is not None else []

    def describe(self, obj: Deposit) -> str:
        return f"{obj.deposit_id} — {obj.deposit_amount} on lease {obj.lease.lease_number} ({obj.driver.full_name})"

    @admin.display(description="Deposit held")
    def deposit_held(self, obj: Deposit):
        selectors.attach_held([obj])
        return obj.deposit_held

    @admin.display(description="Lease ends", ordering="lease__end_date")
    def lease_end(self, obj: Deposit):
        return obj.lease.end_date

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("deposits.release_deposit")

    @admin.action(description="Release selected deposits now…", permissions=["release"])
    def release_selected(self, request, queryset):
        if not self.has_release_permission(request):
            raise PermissionDenied
        return reason_action(
            self, request, queryset, action="release_selected", title="Release deposits now",
            explanation="What each deposit holds pays the lease's open balances in payment priority order; the rest "
            "is due to the driver. Installments not yet charged are cancelled.",
            apply=lambda obj, reason: services.deposit_release(deposit_id=obj.deposit_id, reason=reason,
                                                               actor=request.user),
        )  # fmt: skip


# The driver's page shows what deposits hold for them: the driver admin registered now (the leases
# app's, or one another app already extended) is extended, not replaced.
_DriverAdmin = type(admin.site.get_model_admin(Driver))


class DriverWithDepositAdmin(_DriverAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "deposit_held") if obj is not None else fields

    @admin.display(description="Deposit held")
    def deposit_held(self, obj: Driver):
        return selectors.held_for_driver(driver_id=obj.pk)


admin.site.unregister(Driver)
admin.site.register(Driver, DriverWithDepositAdmin)
