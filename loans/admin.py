"""Driver loans in the admin, for finance staff: the same services as the API, so the same rules.

The add form has a *Preview schedule* button: it checks the entry by the service's rules and
shows every installment's week, principal, interest and total due without saving anything.
Saving makes a DRAFT, shown again with its schedule, to be checked before pressing Confirm.
Confirm, hold, resume and cancel (with a reason) are buttons on a loan and actions on the list;
installments are posted from the installments list. A refused rule becomes an error message,
never a server error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from batpay.errors import DomainError
from batpay.plans.exports import FORMATS, render_export
from batpay.plans.lifecycle import PlanStatus
from batpay.plans.selectors import attach_totals
from loans import selectors, services
from loans.exports import INSTALLMENT_COLUMNS, LOAN_COLUMNS
from loans.models import Loan, LoanInstallment
from loans.plan import LOANS

PREVIEW = "_preview"
# Form field → service argument.
SERVICE_NAMES = {"driver": "driver_id", "lease": "lease_id"}
FORM_NAMES = {service: form for form, service in SERVICE_NAMES.items()}
ENTRY_FIELDS = ("driver", "lease", "loan_amount", "interest_rate", "loan_date", "start_week", "purpose")
TRANSITIONS = ("confirm", "hold", "resume", "cancel")
STATUS_OF = {"hold": PlanStatus.HOLD, "resume": PlanStatus.OPEN, "cancel": PlanStatus.CANCELLED}


def service_values(cleaned: dict[str, Any], names) -> dict[str, Any]:
    values = {}
    for name in names:
        if name in cleaned:
            value = cleaned[name]
            values[SERVICE_NAMES.get(name, name)] = value.pk if hasattr(value, "pk") else value
    return values


def preview_rows(checked: services.LoanInput) -> dict[str, Any]:
    """The schedule an entry would make, with the principal each week's interest is charged on."""
    rows, outstanding = [], checked.loan_amount
    for item in checked.schedule:
        rows.append({"item": item, "outstanding": outstanding, **item.extra})
        outstanding -= item.extra["principal_amount"]
    total_interest = checked.total_interest
    return {
        "rows": rows,
        "rate": checked.interest_rate,
        "principal": checked.loan_amount,
        "total_interest": total_interest,
        "total_due": checked.loan_amount + total_interest,
    }


class LoanForm(forms.ModelForm):
    start_week = forms.CharField(
        max_length=10,
        initial="CURRENT",
        help_text="CURRENT or NEXT (the loan date's week or the one after) or a Sunday (YYYY-MM-DD).",
    )

    class Meta:
        model = Loan
        fields = ENTRY_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checked: services.LoanInput | None = None
        if "interest_rate" in self.fields:
            self.fields["interest_rate"].required = False
            self.fields["interest_rate"].help_text = (
                f"Annual simple interest in percent, 0 to {settings.LOAN_MAX_INTEREST_RATE}; "
                f"empty means {settings.LOAN_DEFAULT_INTEREST_RATE}."
            )
        if "loan_date" in self.fields:
            self.fields["loan_date"].required = False
            self.fields["loan_date"].help_text = "The day the money was lent (not in the future); empty means today."
        if not self.instance.pk:
            self.initial.setdefault("interest_rate", settings.LOAN_DEFAULT_INTEREST_RATE)
            self.initial.setdefault("loan_date", timezone.localdate())
        elif "start_week" in self.fields:
            self.initial["start_week"] = self.instance.start_week.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or (self.instance.pk and self.instance.status != PlanStatus.DRAFT):
            return cleaned
        try:
            checked = services.loan_input_clean(**service_values(cleaned, ENTRY_FIELDS))
        except DomainError as exc:
            for name, problems in exc.fields.items():
                field = FORM_NAMES.get(name, name)
                self.add_error(field if field in self.fields else None, problems)
            if not exc.fields:
                self.add_error(None, exc.message)
            return cleaned
        self.checked = checked
        # What the model validation that follows must see: the defaults filled in, the week a Sunday.
        cleaned.update(start_week=checked.start_week, interest_rate=checked.interest_rate, loan_date=checked.loan_date)
        return cleaned

    def is_valid(self) -> bool:
        # A preview checks the entry and shows its schedule but must never save it: the admin saves
        # only a valid form, so a valid preview reports itself as not ready to save (with no errors).
        return super().is_valid() and PREVIEW not in self.data


class LoanInstallmentInline(admin.TabularInline):
    model = LoanInstallment
    extra = 0
    max_num = 0
    can_delete = False
    fields = (
        "installment_id",
        "period_start",
        "period_end",
        "interest_days",
        "principal_amount",
        "interest_amount",
        "amount",
        "status",
        "posting",
        "posted_at",
    )
    readonly_fields = fields
    ordering = ("sequence",)
    verbose_name_plural = "Schedule (amount = total due: principal + interest)"

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
        return request.user.has_perm("loans.export_loan")


@admin.register(Loan)
class LoanAdmin(ExportMixin, admin.ModelAdmin):
    form = LoanForm
    change_form_template = "loans/admin/change_form.html"
    list_display = (
        "loan_id",
        "driver_name",
        "lease_number",
        "loan_amount",
        "interest_rate",
        "total_interest",
        "weekly_installment_amount",
        "status",
        "loan_date",
        "start_week",
    )
    list_select_related = ("driver", "lease")
    list_filter = ("status", "loan_date", "start_week")
    search_fields = (
        "=loan_id",
        "driver__first_name",
        "driver__last_name",
        "=driver__tlc_license_number",
        "=lease__lease_number",
    )
    autocomplete_fields = ("driver", "lease")
    date_hierarchy = "loan_date"
    ordering = ("-created_at", "-id")
    actions = ["confirm_selected", "hold_selected", "resume_selected", "cancel_selected", "export_xlsx", "export_csv"]
    export_columns = LOAN_COLUMNS
    export_title = "Driver loans"
    export_basename = "loans"
    readonly_always = (
        "loan_id",
        "status",
        "status_reason",
        "weekly_installment_amount",
        "total_interest",
        "created_by",
        "confirmed_at",
        "created_at",
    )

    # --- display ------------------------------------------------------------------------------

    @admin.display(description="Driver", ordering="driver__last_name")
    def driver_name(self, obj: Loan) -> str:
        return obj.driver.full_name

    @admin.display(description="Lease", ordering="lease__lease_number")
    def lease_number(self, obj: Loan) -> str:
        return obj.lease.lease_number

    def get_inlines(self, request, obj=None):
        return [LoanInstallmentInline] if obj is not None else []

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
        # After confirmation only the purpose can change (the service refuses anything else).
        return (*self.readonly_always, *(name for name in ENTRY_FIELDS if name != "purpose"))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a loan is cancelled, never deleted: its audit trail and ids stay

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("loans.confirm_loan")

    def export_rows(self, queryset):
        rows = list(selectors.loan_list().filter(pk__in=queryset.values("pk")).order_by("-created_at", "-pk"))
        return attach_totals(source=LOANS, plans=rows)

    # --- saving through the services, previewing without saving -------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The services open their own durable transaction; the admin's usual wrapping atomic
        # block would nest them. A refusal that slips past the form comes back as a message.
        try:
            return self._changeform_view(request, object_id, form_url, self._summary(object_id, extra_context))
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def _summary(self, object_id, extra_context):
        context = dict(extra_context or {})
        if object_id:
            loan = selectors.loan_list().filter(pk=object_id).first()
            if loan is not None:
                attach_totals(source=LOANS, plans=[loan])
                context["loan"] = loan
        return context

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        editable = obj is None or obj.status == PlanStatus.DRAFT
        context["can_preview"] = editable and (add or self.has_change_permission(request, obj))
        if request.method == "POST" and PREVIEW in request.POST and form.checked is not None:
            context["preview"] = preview_rows(form.checked)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj: Loan, form, change: bool) -> None:
        if change:
            changes = service_values(form.cleaned_data, form.changed_data)
            saved = services.loan_update(loan_id=obj.loan_id, changes=changes, actor=request.user)
        else:
            saved = services.loan_create(actor=request.user, **service_values(form.cleaned_data, ENTRY_FIELDS))
        # The admin goes on to log and redirect with `obj`; make it the row the service saved.
        for field in self.opts.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        # The schedule is the service's; the read-only inline has no forms, so this writes nothing
        # (form.save_m2m() is skipped: a loan has no many-to-many fields).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"{obj.loan_id} saved as a DRAFT. Check the schedule below, then press Confirm.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:loans_loan_change", args=[obj.pk]))

    # --- lifecycle: buttons on a loan, actions on the list ------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:object_id>/transition/<str:transition>/",
                self.admin_site.admin_view(self.transition_view),
                name="loans_loan_transition",
            ),
            *super().get_urls(),
        ]

    def _apply(self, request, loans, transition: str, reason: str = "") -> None:
        done = []
        for loan in loans:
            try:
                if transition == "confirm":
                    services.loan_confirm(loan_id=loan.loan_id, actor=request.user)
                else:
                    services.loan_change_status(
                        loan_id=loan.loan_id, status=STATUS_OF[transition], reason=reason, actor=request.user
                    )
                done.append(loan.loan_id)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        if done:
            past = {"confirm": "Confirmed", "hold": "Put on hold", "resume": "Reopened", "cancel": "Cancelled"}
            self.message_user(request, f"{past[transition]}: {', '.join(done)}.", messages.SUCCESS)

    def _reason_page(self, request, loans, transition: str, *, action: str | None = None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": {"hold": "Put on hold", "cancel": "Cancel"}[transition] + " driver loans",
            "loans": loans,
            "transition": transition,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "loans/admin/reason.html", context)

    def transition_view(self, request: HttpRequest, object_id: int, transition: str):
        if transition not in TRANSITIONS or not self.has_confirm_permission(request):
            raise PermissionDenied
        loan = Loan.objects.filter(pk=object_id).first()
        if loan is None:
            self.message_user(request, "No such loan.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:loans_loan_changelist"))
        back = reverse("admin:loans_loan_change", args=[loan.pk])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        if transition in ("hold", "cancel") and "apply" not in request.POST:
            return self._reason_page(request, [loan], transition)
        self._apply(request, [loan], transition, request.POST.get("reason", ""))
        return HttpResponseRedirect(back)

    @admin.action(description="Confirm selected draft loans", permissions=["confirm"])
    def confirm_selected(self, request, queryset):
        self._apply(request, list(queryset.order_by("pk")), "confirm")

    @admin.action(description="Put selected loans on hold…", permissions=["confirm"])
    def hold_selected(self, request, queryset):
        if "apply" not in request.POST:
            return self._reason_page(request, list(queryset.order_by("pk")), "hold", action="hold_selected")
        self._apply(request, list(queryset.order_by("pk")), "hold", request.POST.get("reason", ""))
        return None

    @admin.action(description="Reopen selected loans on hold", permissions=["confirm"])
    def resume_selected(self, request, queryset):
        self._apply(request, list(queryset.order_by("pk")), "resume")

    @admin.action(description="Cancel selected loans…", permissions=["confirm"])
    def cancel_selected(self, request, queryset):
        if "apply" not in request.POST:
            return self._reason_page(request, list(queryset.order_by("pk")), "cancel", action="cancel_selected")
        self._apply(request, list(queryset.order_by("pk")), "cancel", request.POST.get("reason", ""))
        return None


@admin.register(LoanInstallment)
class LoanInstallmentAdmin(ExportMixin, admin.ModelAdmin):
    list_display = (
        "installment_id",
        "loan_link",
        "driver_name",
        "period_start",
        "period_end",
        "principal_amount",
        "interest_amount",
        "amount",
        "status",
        "plan_status",
        "posting_id",
        "posted_at",
    )
    list_select_related = ("plan", "plan__driver")
    list_filter = ("status", "plan__status", "period_start")
    search_fields = (
        "=installment_id",
        "=plan__loan_id",
        "plan__driver__first_name",
        "plan__driver__last_name",
        "=plan__driver__tlc_license_number",
    )
    ordering = ("period_start", "plan_id", "sequence")
    actions = ["post_selected", "export_xlsx", "export_csv"]
    export_columns = INSTALLMENT_COLUMNS
    export_title = "Loan installments"
    export_basename = "loan-installments"

    def export_rows(self, queryset):
        return list(selectors.installment_list().filter(pk__in=queryset.values("pk")))

    @admin.display(description="Loan", ordering="plan__loan_id")
    def loan_link(self, obj: LoanInstallment):
        url = reverse("admin:loans_loan_change", args=[obj.plan_id])
        return format_html('<a href="{}">{}</a>', url, obj.plan.loan_id)

    @admin.display(description="Driver")
    def driver_name(self, obj: LoanInstallment) -> str:
        return obj.plan.driver.full_name

    @admin.display(description="Loan status", ordering="plan__status")
    def plan_status(self, obj: LoanInstallment) -> str:
        return obj.plan.status

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_post_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("loans.post_loan")

    @admin.action(description="Post selected installments to the ledger now", permissions=["post"])
    def post_selected(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("installment_id", flat=True))
        try:
            summary = services.loan_installments_post(installment_ids=ids, actor=request.user)
        except DomainError as exc:
            self.message_user(request, f"Nothing posted: {exc.message}", messages.ERROR)
            return
        self.message_user(request, f"Posted {summary.installments} installment(s), {summary.amount}.", messages.SUCCESS)
