"""Repair invoices in the admin, for finance staff: the same services as the API, so the same rules.

Entering an invoice saves a DRAFT and opens it again with its computed schedule, to be checked
before pressing Confirm. Confirm, hold, resume and cancel (with a reason) are buttons on an
invoice and actions on the list; installments are posted from the installments list. A refused
rule becomes an error message, never a server error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from batpay.errors import DomainError
from batpay.plans.exports import FORMATS, render_export
from batpay.plans.lifecycle import PlanStatus
from batpay.plans.selectors import attach_totals
from repairs import selectors, services
from repairs.exports import INSTALLMENT_COLUMNS, REPAIR_COLUMNS
from repairs.models import RepairInstallment, RepairInvoice
from repairs.plan import REPAIRS

# Form field → service argument.
SERVICE_NAMES = {"driver": "driver_id", "lease": "lease_id", "vehicle": "vehicle_id", "medallion": "medallion_id"}
FORM_NAMES = {service: form for form, service in SERVICE_NAMES.items()}
ENTRY_FIELDS = (
    "driver",
    "lease",
    "vehicle",
    "medallion",
    "invoice_number",
    "invoice_date",
    "workshop_type",
    "repair_description",
    "repair_amount",
    "start_week",
)


def service_values(cleaned: dict[str, Any], names) -> dict[str, Any]:
    values = {}
    for name in names:
        if name in cleaned:
            value = cleaned[name]
            values[SERVICE_NAMES.get(name, name)] = value.pk if hasattr(value, "pk") else value
    return values


class RepairInvoiceForm(forms.ModelForm):
    start_week = forms.CharField(
        max_length=10, initial="NEXT", help_text="CURRENT, NEXT or a Sunday (YYYY-MM-DD): the first installment's week."
    )

    class Meta:
        model = RepairInvoice
        fields = ENTRY_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
            checked = services.repair_input_clean(**service_values(cleaned, ENTRY_FIELDS))
            services.check_not_duplicate(
                vehicle_id=checked.vehicle_id, invoice_number=checked.invoice_number, exclude_pk=self.instance.pk
            )
        except DomainError as exc:
            for name, problems in exc.fields.items():
                field = FORM_NAMES.get(name, name)
                self.add_error(field if field in self.fields else None, problems)
            if not exc.fields:
                self.add_error(None, exc.message)
            return cleaned
        # What the model validation that follows must see: the week resolved to its Sunday.
        cleaned["start_week"] = checked.start_week
        return cleaned


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


class ExportMixin:
    """An admin action writing the selected rows with the API's export columns."""

    export_columns: list
    export_title: str
    export_basename: str

    def export_rows(self, queryset: QuerySet) -> list:
        return list(queryset)

    def _export(self, request: HttpRequest, queryset: QuerySet, fmt: str) -> HttpResponse:
        body = render_export(
            fmt=fmt, columns=self.export_columns, rows=self.export_rows(queryset), title=self.export_title
        )
        response = HttpResponse(body, content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{self.export_basename}.{fmt}"'
        return response

    @admin.action(description="Export selected to Excel (xlsx)", permissions=["export"])
    def export_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    @admin.action(description="Export selected to CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("repairs.export_repairinvoice")


@admin.register(RepairInvoice)
class RepairInvoiceAdmin(ExportMixin, admin.ModelAdmin):
    form = RepairInvoiceForm
    change_form_template = "repairs/admin/change_form.html"
    inlines = [RepairInstallmentInline]
    list_display = (
        "repair_id",
        "invoice_number",
        "driver_name",
        "vin",
        "medallion_number",
        "repair_amount",
        "weekly_installment_amount",
        "status",
        "invoice_date",
        "start_week",
    )
    list_select_related = ("driver", "vehicle", "medallion")
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
    ordering = ("-created_at", "-id")
    actions = ["confirm_selected", "hold_selected", "resume_selected", "cancel_selected", "export_xlsx", "export_csv"]
    export_columns = REPAIR_COLUMNS
    export_title = "Repair invoices"
    export_basename = "repairs"
    readonly_always = (
        "repair_id",
        "status",
        "status_reason",
        "weekly_installment_amount",
        "created_by",
        "confirmed_at",
        "created_at",
    )

    # --- display ------------------------------------------------------------------------------

    @admin.display(description="Driver", ordering="driver__last_name")
    def driver_name(self, obj: RepairInvoice) -> str:
        return obj.driver.full_name

    @admin.display(description="VIN", ordering="vehicle__vin")
    def vin(self, obj: RepairInvoice) -> str:
        return obj.vehicle.vin

    @admin.display(description="Medallion", ordering="medallion__number")
    def medallion_number(self, obj: RepairInvoice) -> str:
        return obj.medallion.number

    def get_fieldsets(self, request, obj=None):
        entry = (None, {"fields": ENTRY_FIELDS})
        if obj is None:
            return [entry]
        return [("Plan", {"fields": self.readonly_always}), entry]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if obj.status == PlanStatus.DRAFT:
            return self.readonly_always
        # After confirmation only the description can change (the service refuses anything else).
        return (*self.readonly_always, *(name for name in ENTRY_FIELDS if name != "repair_description"))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an invoice is cancelled, never deleted: its audit trail and ids stay

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("repairs.confirm_repairinvoice")

    def export_rows(self, queryset):
        rows = list(selectors.repair_list().filter(pk__in=queryset.values("pk")).order_by("-created_at", "-pk"))
        return attach_totals(source=REPAIRS, plans=rows)

    # --- saving through the services ---------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The services open their own durable transaction; the admin's usual wrapping atomic
        # block would nest them. A refusal that slips past the form (a concurrent duplicate)
        # comes back as a message.
        try:
            return self._changeform_view(request, object_id, form_url, self._summary(object_id, extra_context))
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def _summary(self, object_id, extra_context):
        context = dict(extra_context or {})
        if object_id:
            invoice = selectors.repair_list().filter(pk=object_id).first()
            if invoice is not None:
                attach_totals(source=REPAIRS, plans=[invoice])
                context["repair"] = invoice
                context["can_transition"] = True
        return context

    def save_model(self, request, obj: RepairInvoice, form, change: bool) -> None:
        if change:
            changes = service_values(form.cleaned_data, form.changed_data)
            saved = services.repair_update(repair_id=obj.repair_id, changes=changes, actor=request.user)
        else:
            saved = services.repair_create(actor=request.user, **service_values(form.cleaned_data, ENTRY_FIELDS))
        # The admin goes on to log and redirect with `obj`; make it the row the service saved.
        for field in self.opts.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        # The schedule is the service's; the read-only inline has no forms, so this writes nothing
        # (form.save_m2m() is skipped: the invoice has no many-to-many fields).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"{obj.repair_id} saved as a DRAFT. Check the schedule below, then press Confirm.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:repairs_repairinvoice_change", args=[obj.pk]))

    # --- lifecycle: buttons on an invoice, actions on the list --------------------------------

    def get_urls(self):
        return [
            path(
                "<int:object_id>/transition/<str:transition>/",
                self.admin_site.admin_view(self.transition_view),
                name="repairs_repairinvoice_transition",
            ),
            *super().get_urls(),
        ]

    def _apply(self, request, invoices, transition: str, reason: str = "") -> None:
        done = []
        for invoice in invoices:
            try:
                if transition == "confirm":
                    services.repair_confirm(repair_id=invoice.repair_id, actor=request.user)
                else:
                    status = {"hold": PlanStatus.HOLD, "resume": PlanStatus.OPEN, "cancel": PlanStatus.CANCELLED}
                    services.repair_change_status(
                        repair_id=invoice.repair_id, status=status[transition], reason=reason, actor=request.user
                    )
                done.append(invoice.repair_id)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        if done:
            past = {"confirm": "Confirmed", "hold": "Put on hold", "resume": "Reopened", "cancel": "Cancelled"}
            self.message_user(request, f"{past[transition]}: {', '.join(done)}.", messages.SUCCESS)

    def _reason_page(self, request, invoices, transition: str, *, action: str | None = None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": {"hold": "Put on hold", "cancel": "Cancel"}[transition] + " repair invoices",
            "invoices": invoices,
            "transition": transition,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "repairs/admin/reason.html", context)

    def transition_view(self, request: HttpRequest, object_id: int, transition: str):
        if transition not in ("confirm", "hold", "resume", "cancel"):
            raise PermissionDenied
        if not self.has_confirm_permission(request):
            raise PermissionDenied
        invoice = RepairInvoice.objects.filter(pk=object_id).first()
        back = reverse("admin:repairs_repairinvoice_changelist")
        if invoice is None:
            self.message_user(request, "No such repair invoice.", messages.ERROR)
            return HttpResponseRedirect(back)
        back = reverse("admin:repairs_repairinvoice_change", args=[invoice.pk])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        if transition in ("hold", "cancel") and "apply" not in request.POST:
            return self._reason_page(request, [invoice], transition)
        self._apply(request, [invoice], transition, request.POST.get("reason", ""))
        return HttpResponseRedirect(back)

    @admin.action(description="Confirm selected draft invoices", permissions=["confirm"])
    def confirm_selected(self, request, queryset):
        self._apply(request, list(queryset.order_by("pk")), "confirm")

    @admin.action(description="Put selected invoices on hold…", permissions=["confirm"])
    def hold_selected(self, request, queryset):
        if "apply" not in request.POST:
            return self._reason_page(request, list(queryset.order_by("pk")), "hold", action="hold_selected")
        self._apply(request, list(queryset.order_by("pk")), "hold", request.POST.get("reason", ""))
        return None

    @admin.action(description="Reopen selected invoices on hold", permissions=["confirm"])
    def resume_selected(self, request, queryset):
        self._apply(request, list(queryset.order_by("pk")), "resume")

    @admin.action(description="Cancel selected invoices…", permissions=["confirm"])
    def cancel_selected(self, request, queryset):
        if "apply" not in request.POST:
            return self._reason_page(request, list(queryset.order_by("pk")), "cancel", action="cancel_selected")
        self._apply(request, list(queryset.order_by("pk")), "cancel", request.POST.get("reason", ""))
        return None


@admin.register(RepairInstallment)
class RepairInstallmentAdmin(ExportMixin, admin.ModelAdmin):
    list_display = (
        "installment_id",
        "repair_link",
        "driver_name",
        "period_start",
        "period_end",
        "amount",
        "status",
        "plan_status",
        "posting_id",
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
    ordering = ("period_start", "plan_id", "sequence")
    actions = ["post_selected", "export_xlsx", "export_csv"]
    export_columns = INSTALLMENT_COLUMNS
    export_title = "Repair installments"
    export_basename = "repair-installments"

    @admin.display(description="Repair", ordering="plan__repair_id")
    def repair_link(self, obj: RepairInstallment):
        url = reverse("admin:repairs_repairinvoice_change", args=[obj.plan_id])
        return format_html('<a href="{}">{}</a>', url, obj.plan.repair_id)

    @admin.display(description="Driver")
    def driver_name(self, obj: RepairInstallment) -> str:
        return obj.plan.driver.full_name

    @admin.display(description="Repair status", ordering="plan__status")
    def plan_status(self, obj: RepairInstallment) -> str:
        return obj.plan.status

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_post_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("repairs.post_repairinvoice")

    @admin.action(description="Post selected installments to the ledger now", permissions=["post"])
    def post_selected(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("installment_id", flat=True))
        try:
            summary = services.repair_installments_post(installment_ids=ids, actor=request.user)
        except DomainError as exc:
            self.message_user(request, f"Nothing posted: {exc.message}", messages.ERROR)
            return
        self.message_user(request, f"Posted {summary.installments} installment(s), {summary.amount}.", messages.SUCCESS)
