"""Repair invoices in the admin, for finance staff: the plan admin of batpay/plans/admin.py with
the invoice's own fields, the same services as the API and so the same rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from batpay.errors import DomainError
from batpay.forms import ServiceErrorsMixin, service_values
from batpay.money import MoneyFormField
from plans.admin import (
    PREVIEW,
    InstallmentAdminMixin,
    PlanAdminMixin,
    PlanEntryFormMixin,
    entry_fields,
    start_week_field,
)
from plans.lifecycle import PlanStatus
from repairs import selectors, services
from repairs.exports import INSTALLMENT_COLUMNS, REPAIR_COLUMNS
from repairs.models import RepairInstallment, RepairInvoice
from repairs.plan import REPAIRS

# Form field → service argument.
SERVICE_NAMES = {"driver": "driver_id", "lease": "lease_id", "vehicle": "vehicle_id", "medallion": "medallion_id"}
ENTRY_FIELDS = entry_fields(REPAIRS, SERVICE_NAMES)


def preview_rows(checked: services.RepairInput) -> dict[str, Any]:
    """The schedule an entry would make, week by week, with what is left after each installment."""
    rows, left = [], checked.repair_amount
    for item in services.repair_schedule(checked):
        left -= item.amount
        rows.append({"item": item, "left": left})
    return {"rows": rows, "total": checked.repair_amount, "start_week": checked.start_week}


class RepairInvoiceForm(PlanEntryFormMixin, ServiceErrorsMixin, forms.ModelForm):
    service_names = SERVICE_NAMES

    start_week = start_week_field(
        initial="NEXT",
        help_text="The first installment's week: the week the invoice is entered, the one after, or a Sunday.",
    )

    class Meta:
        model = RepairInvoice
        fields = ENTRY_FIELDS
        field_classes = {"repair_amount": MoneyFormField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checked: services.RepairInput | None = None
        for name in ("vehicle", "medallion"):
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = f"Leave empty for the lease's {name}; if chosen it must be the lease's."
        if self.instance.pk and "start_week" in self.fields:
            self.initial["start_week"] = self.instance.start_week.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or (self.instance.pk and self.instance.status != PlanStatus.DRAFT):
            return cleaned
        try:
            checked = services.repair_input_clean(**service_values(cleaned, ENTRY_FIELDS, SERVICE_NAMES))
            services.check_not_duplicate(
                vehicle_id=checked.vehicle_id, invoice_number=checked.invoice_number, exclude_pk=self.instance.pk
            )
        except DomainError as exc:
            self.add_domain_error(exc)
            return cleaned
        self.checked = checked
        # What the model validation that follows must see: the week resolved to its Sunday.
        cleaned["start_week"] = checked.start_week
        return cleaned

    def is_valid(self) -> bool:
        # A preview checks the entry and shows its schedule but never saves it (as the loans' does).
        return super().is_valid() and PREVIEW not in self.data


class RepairInstallmentInline(admin.TabularInline):
    model = RepairInstallment
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("installment_id", "period_start", "period_end", "amount", "status", "posting", "posted_at")
    readonly_fields = fields
    ordering = ("sequence",)
    verbose_name_plural = "Schedule"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RepairInvoice)
class RepairInvoiceAdmin(PlanAdminMixin, admin.ModelAdmin):
    form = RepairInvoiceForm
    change_form_template = "repairs/admin/change_form.html"
    inlines = [RepairInstallmentInline]
    list_display = (
        "repair_id",
        "invoice_number",
        "driver_link",
        "lease_link",
        "vin",
        "medallion_number",
        "repair_amount",
        "weekly_installment_amount",
        "paid",
        "outstanding",
        "status_label",
        "invoice_date",
        "start_week",
    )
    list_totals = ("repair_amount",)
    list_select_related = ("driver", "lease", "vehicle", "medallion")
    list_filter = ("status", "workshop_type", "invoice_date", "start_week")
    search_fields = (
        "=repair_id",
        "invoice_number",
        "vehicle__vin",
        "driver__first_name",
        "driver__last_name",
        "=driver__tlc_license_number",
        "=medallion__number",
    )
    autocomplete_fields = ("driver", "lease", "vehicle", "medallion")
    date_hierarchy = "invoice_date"
    export_columns = REPAIR_COLUMNS
    export_title = "Repair invoices"
    export_basename = "repairs"
    export_permission = "repairs.export_repairinvoice"
    readonly_always = (
        "repair_id",
        "status",
        "status_reason",
        "weekly_installment_amount",
        "created_by",
        "confirmed_at",
        "created_at",
    )
    plan_source = REPAIRS
    entry_fields = ENTRY_FIELDS
    form_renames = SERVICE_NAMES
    summary_name = "repair"
    plan_noun = "an invoice"
    confirm_permission = "repairs.confirm_repairinvoice"
    plan_list = staticmethod(selectors.repair_list)
    create_plan = staticmethod(services.repair_create)
    update_plan = staticmethod(services.repair_update)
    confirm_plan = staticmethod(services.repair_confirm)
    change_plan_status = staticmethod(services.repair_change_status)

    def describe_plan(self, plan: RepairInvoice) -> str:
        return f"{plan.repair_id} — invoice {plan.invoice_number}, {plan.repair_amount} ({plan.get_status_display()})"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        editable = obj is None or obj.status == PlanStatus.DRAFT
        context["can_preview"] = editable and (add or self.has_change_permission(request, obj))
        if request.method == "POST" and PREVIEW in request.POST and form.checked is not None:
            context["preview"] = preview_rows(form.checked)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.display(description="VIN", ordering="vehicle__vin")
    def vin(self, obj: RepairInvoice) -> str:
        return obj.vehicle.vin

    @admin.display(description="Medallion", ordering="medallion__number")
    def medallion_number(self, obj: RepairInvoice) -> str:
        return obj.medallion.number


@admin.register(RepairInstallment)
class RepairInstallmentAdmin(InstallmentAdminMixin, admin.ModelAdmin):
    list_display = (
        "installment_id",
        "repair_link",
        "driver_name",
        "period_start",
        "period_end",
        "amount",
        "status_label",
        "plan_status",
        "posting_link",
        "posted_at",
    )
    list_select_related = ("plan", "plan__driver", "plan__vehicle", "plan__medallion")
    list_filter = ("status", "plan__status", "period_start")
    search_fields = (
        "=installment_id",
        "=plan__repair_id",
        "plan__invoice_number",
        "plan__vehicle__vin",
        "plan__driver__first_name",
        "plan__driver__last_name",
        "=plan__medallion__number",
    )
    export_columns = INSTALLMENT_COLUMNS
    export_title = "Repair installments"
    export_basename = "repair-installments"
    export_permission = "repairs.export_repairinvoice"
    post_permission = "repairs.post_repairinvoice"
    post_installments = staticmethod(services.repair_installments_post)

    @admin.display(description="Repair", ordering="plan__repair_id")
    def repair_link(self, obj: RepairInstallment):
        url = reverse("admin:repairs_repairinvoice_change", args=[obj.plan_id])
        return format_html('<a href="{}">{}</a>', url, obj.plan.repair_id)
