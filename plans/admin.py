"""The admin face of the plan mechanism, shared by every plan type (repairs, loans).

Entering a plan saves a DRAFT through the app's service and opens it again with its computed
schedule, to be checked before pressing Confirm. Confirm, hold, resume and cancel (with a reason)
are buttons on a plan and actions on the list; installments are posted from the installments
list. Everything goes through the app's services, so the admin has no rule the API lacks, and a
refused rule becomes an error message, never a server error.

An app's admin sets the attributes below; the services are wrapped in `staticmethod` because
they take keyword arguments only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from batpay.errors import DomainError
from batpay.forms import service_values
from batpay.lists import ExportAdminMixin, ListTotalsMixin
from batpay.money import ZERO, to_money
from plans.lifecycle import PlanStatus
from plans.schedule import CURRENT, NEXT
from plans.selectors import attach_totals
from plans.source import PlanSource

PREVIEW = "_preview"  # the submit button that shows an entry's schedule without saving it
TRANSITIONS = ("confirm", "hold", "resume", "cancel")
STATUS_OF = {"hold": PlanStatus.HOLD, "resume": PlanStatus.OPEN, "cancel": PlanStatus.CANCELLED}
DONE = {"confirm": "Confirmed", "hold": "Put on hold", "resume": "Reopened", "cancel": "Cancelled"}
ASKS_REASON = {"hold": "Put on hold", "cancel": "Cancel"}


SUNDAY = "SUNDAY"
FIRST_SUNDAY = "2000-01-02"  # the first Sunday a person may enter (batpay.periods' range)


class StartWeekWidget(forms.MultiWidget):
    """The start week as Current / Next / a Sunday picked on a calendar.

    It posts `<name>_0` (the choice) and `<name>_1` (the Sunday); a form posting the plain field
    (`start_week=NEXT` or a date, as scripts and the API do) is read as before.
    """

    def __init__(self, attrs=None, *, current_label: str = "The current week", next_label: str = "The next week"):
        choices = [(CURRENT, current_label), (NEXT, next_label), (SUNDAY, "The week starting on the Sunday:")]
        # step 7 from a Sunday: the browser's calendar offers Sundays only; picking one chooses it.
        picker = forms.DateInput(
            attrs={
                "type": "date",
                "step": "7",
                "min": FIRST_SUNDAY,
                "onchange": f"if (this.value) this.previousElementSibling.value = '{SUNDAY}';",
            },
            format="%Y-%m-%d",
        )
        super().__init__([forms.Select(choices=choices), picker], attrs)

    def use_required_attribute(self, initial) -> bool:
        # The calendar is empty for CURRENT and NEXT; the choice always has a value.
        return False

    def decompress(self, value):
        text = str(value or "").strip()
        if text.upper() in (CURRENT, NEXT):
            return [text.upper(), ""]
        return [SUNDAY, text] if text else [None, ""]

    def value_from_datadict(self, data, files, name):
        if name in data:
            return data.get(name)
        choice, sunday = (data.get(f"{name}_{n}") for n in (0, 1))
        return sunday if choice == SUNDAY else choice

    def value_omitted_from_data(self, data, files, name) -> bool:
        return name not in data and super().value_omitted_from_data(data, files, name)


def start_week_field(*, initial: str, help_text: str, **labels: str) -> forms.CharField:
    return forms.CharField(max_length=10, initial=initial, help_text=help_text, widget=StartWeekWidget(**labels))


class PlanEntryFormMixin:
    """For a plan's ModelForm: CURRENT and NEXT are the service's to resolve (against the entry
    date), so the model's own date validation never sees them — before, any other field's error
    left the word in place and the form refused it too ("“NEXT” value has an invalid date format")."""

    def _get_validation_exclusions(self):
        excluded = super()._get_validation_exclusions()
        if self.errors or not isinstance(self.cleaned_data.get("start_week"), dt.date):
            excluded.add("start_week")
        return excluded


def entry_fields(source: PlanSource, renames: Mapping[str, str]) -> tuple[str, ...]:
    """The form fields of a plan's entry: the source's fields, named as the form names them
    (`renames`: form field → service argument, `driver` → `driver_id`)."""
    form_names = {service: form for form, service in renames.items()}
    return tuple(form_names.get(name, name) for name in source.fields)


class PlanAdminMixin(ListTotalsMixin, ExportAdminMixin):
    """Entry, preview-by-saving-a-draft and the lifecycle of one plan type.

    The list shows each plan's paid and outstanding (read from the ledger for the page's plans) and
    a totals row: the plan amounts (`list_totals`), paid and outstanding over every filtered plan.
    """

    plan_source: PlanSource
    entry_fields: tuple[str, ...]
    form_renames: Mapping[str, str] = {"driver": "driver_id", "lease": "lease_id"}
    readonly_always: tuple[str, ...]
    summary_name: str  # the change form template's name for the plan with its totals: "repair"
    plan_noun: str  # "an invoice", "a loan": how the reason page speaks of one
    confirm_permission: str  # "repairs.confirm_repairinvoice"
    reason_template = "admin/plans/reason.html"
    # The app's services (keyword-only), wrapped in staticmethod by the app's admin.
    plan_list: Callable[[], QuerySet]
    create_plan: Callable[..., Any]
    update_plan: Callable[..., Any]
    confirm_plan: Callable[..., Any]
    change_plan_status: Callable[..., Any]

    actions = ["confirm_selected", "hold_selected", "resume_selected", "cancel_selected"]
    ordering = ("-created_at", "-id")
    # Summing paid and outstanding reads every filtered plan's installments and balances; past this
    # many plans the totals row shows the plan amounts only.
    max_plans_totalled = 20000

    def describe_plan(self, plan) -> str:
        """One line naming a plan on the reason page."""
        return str(plan)

    def _plan_id(self, plan) -> dict[str, str]:
        field = self.plan_source.plan_model.plan_id_field
        return {field: getattr(plan, field)}

    # --- layout and permissions ---------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        entry = (None, {"fields": self.entry_fields})
        if obj is None:
            return [entry]
        return [("Plan", {"fields": self.readonly_always}), entry]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if obj.status == PlanStatus.DRAFT:
            return self.readonly_always
        # After confirmation the service refuses every change but the source's editable fields.
        editable = self.plan_source.editable_after_confirmation
        return (*self.readonly_always, *(name for name in self.entry_fields if name not in editable))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a plan is cancelled, never deleted: its audit trail and ids stay

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.confirm_permission)

    def export_rows(self, queryset):
        return self.plan_list().filter(pk__in=queryset.values("pk")).order_by("-created_at", "-pk")

    def export_prepare(self, rows):
        attach_totals(source=self.plan_source, plans=rows)

    # --- the list: paid, outstanding, the lease, totals -------------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = response.context_data.get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            # The page's plans, read once (the result list keeps them for the rendering).
            attach_totals(source=self.plan_source, plans=list(changelist.result_list))
        return response

    def list_totals_of(self, queryset):
        sums = super().list_totals_of(queryset)
        if queryset.count() <= self.max_plans_totalled:
            plans = attach_totals(source=self.plan_source, plans=list(queryset.select_related(None).only("pk")))
            sums["paid"] = to_money(sum((plan.total_paid for plan in plans), ZERO))
            sums["outstanding"] = to_money(sum((plan.outstanding_balance for plan in plans), ZERO))
        return sums

    @admin.display(description="Paid")
    def paid(self, obj) -> str:
        value = getattr(obj, "total_paid", None)
        return "—" if value is None else f"{value:,.2f}"

    @admin.display(description="Outstanding")
    def outstanding(self, obj) -> str:
        value = getattr(obj, "outstanding_balance", None)
        return "—" if value is None else f"{value:,.2f}"

    @admin.display(description="Lease", ordering="lease__lease_number")
    def lease_link(self, obj) -> str:
        url = reverse("admin:leases_lease_change", args=[obj.lease_id])
        return format_html('<a href="{}">{}</a>', url, obj.lease.lease_number)

    @admin.display(description="Driver", ordering="driver__last_name")
    def driver_link(self, obj) -> str:
        url = reverse("admin:leases_driver_change", args=[obj.driver_id])
        return format_html('<a href="{}">{}</a>', url, obj.driver.full_name)

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj) -> str:
        return obj.get_status_display()

    # --- saving through the services ----------------------------------------------------------

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
            plan = self.plan_list().filter(pk=object_id).first()
            if plan is not None:
                attach_totals(source=self.plan_source, plans=[plan])
                context[self.summary_name] = plan
        return context

    def save_model(self, request, obj, form, change: bool) -> None:
        if change:
            changes = service_values(form.cleaned_data, form.changed_data, self.form_renames)
            saved = self.update_plan(**self._plan_id(obj), changes=changes, actor=request.user)
        else:
            values = service_values(form.cleaned_data, self.entry_fields, self.form_renames)
            saved = self.create_plan(actor=request.user, **values)
        # The admin goes on to log and redirect with `obj`; make it the row the service saved.
        for field in self.opts.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        # The schedule is the service's; the read-only inline has no forms, so this writes nothing
        # (form.save_m2m() is skipped: plans have no many-to-many fields).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        plan_id = next(iter(self._plan_id(obj).values()))
        self.message_user(
            request, f"{plan_id} saved as a DRAFT. Check the schedule below, then press Confirm.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse(f"admin:{self._url_prefix}_change", args=[obj.pk]))

    # --- lifecycle: buttons on a plan, actions on the list ------------------------------------

    @property
    def _url_prefix(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}"

    def get_urls(self):
        return [
            path(
                "<int:object_id>/transition/<str:transition>/",
                self.admin_site.admin_view(self.transition_view),
                name=f"{self._url_prefix}_transition",
            ),
            *super().get_urls(),
        ]

    def _apply(self, request, plans, transition: str, reason: str = "") -> None:
        done = []
        for plan in plans:
            ids = self._plan_id(plan)
            try:
                if transition == "confirm":
                    self.confirm_plan(**ids, actor=request.user)
                else:
                    self.change_plan_status(**ids, status=STATUS_OF[transition], reason=reason, actor=request.user)
                done.extend(ids.values())
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        if done:
            self.message_user(request, f"{DONE[transition]}: {', '.join(done)}.", messages.SUCCESS)

    def _reason_page(self, request, plans, transition: str, *, action: str | None = None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{ASKS_REASON[transition]} {self.opts.verbose_name_plural}",
            "plans": [(plan, self.describe_plan(plan)) for plan in plans],
            "plan_noun": self.plan_noun,
            "transition": transition,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.reason_template, context)

    def transition_view(self, request: HttpRequest, object_id: int, transition: str):
        if transition not in TRANSITIONS or not self.has_confirm_permission(request):
            raise PermissionDenied
        plan = self.plan_source.plan_model.objects.filter(pk=object_id).first()
        if plan is None:
            self.message_user(request, f"No such {self.opts.verbose_name}.", messages.ERROR)
            return HttpResponseRedirect(reverse(f"admin:{self._url_prefix}_changelist"))
        back = reverse(f"admin:{self._url_prefix}_change", args=[plan.pk])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        if transition in ASKS_REASON and "apply" not in request.POST:
            return self._reason_page(request, [plan], transition)
        self._apply(request, [plan], transition, request.POST.get("reason", ""))
        return HttpResponseRedirect(back)

    def _with_reason(self, request, queryset, transition: str, action: str):
        plans = list(queryset.order_by("pk"))
        if "apply" not in request.POST:
            return self._reason_page(request, plans, transition, action=action)
        self._apply(request, plans, transition, request.POST.get("reason", ""))
        return None

    @admin.action(description="Confirm selected drafts", permissions=["confirm"])
    def confirm_selected(self, request, queryset):
        self._apply(request, list(queryset.order_by("pk")), "confirm")

    @admin.action(description="Put selected on hold…", permissions=["confirm"])
    def hold_selected(self, request, queryset):
        return self._with_reason(request, queryset, "hold", "hold_selected")

    @admin.action(description="Reopen selected on hold", permissions=["confirm"])
    def resume_selected(self, request, queryset):
        self._apply(request, list(queryset.order_by("pk")), "resume")

    @admin.action(description="Cancel selected…", permissions=["confirm"])
    def cancel_selected(self, request, queryset):
        return self._with_reason(request, queryset, "cancel", "cancel_selected")


class InstallmentAdminMixin(ListTotalsMixin, ExportAdminMixin):
    """A plan type's installments: read-only, exportable, postable now by those allowed."""

    post_permission: str  # "repairs.post_repairinvoice"
    post_installments: Callable[..., Any]  # the app's service, wrapped in staticmethod
    actions = ["post_selected"]
    ordering = ("period_start", "plan_id", "sequence")
    list_totals = ("amount",)

    @admin.display(description="Driver")
    def driver_name(self, obj) -> str:
        return obj.plan.driver.full_name

    @admin.display(description="Plan status", ordering="plan__status")
    def plan_status(self, obj) -> str:
        return obj.plan.get_status_display()

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj) -> str:
        return obj.get_status_display()

    @admin.display(description="Posting", ordering="posting_id")
    def posting_link(self, obj) -> str:
        if obj.posting_id is None:
            return "—"
        url = reverse("admin:ledger_posting_change", args=[obj.posting_id])
        return format_html('<a href="{}">#{}</a>', url, obj.posting_id)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_post_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.post_permission)

    @admin.action(description="Post selected installments to the ledger now", permissions=["post"])
    def post_selected(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("installment_id", flat=True))
        try:
            summary = self.post_installments(installment_ids=ids, actor=request.user)
        except DomainError as exc:
            self.message_user(request, f"Nothing posted: {exc.message}", messages.ERROR)
            return
        self.message_user(request, f"Posted {summary.installments} installment(s), {summary.amount}.", messages.SUCCESS)
