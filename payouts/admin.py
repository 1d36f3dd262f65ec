"""The payouts admin: bank details (entered whole, shown by their last four digits), payout runs
(prepare, approve, mark paid, cancel, download the NACHA file and the check register) and payouts
(ACH returns typed in or imported from the bank's return file, voided checks). Every write goes
through payouts.services, the same rules the API has."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ExportActionMixin

from batpay.errors import DomainError
from batpay.periods import DateFormField, last_closed_period
from payouts import services
from payouts.banking import account_problem, routing_problem
from payouts.models import BankAccount, Payout, PayoutRun
from payouts.resources import PayoutResource

FORM_TEMPLATE = "admin/payouts/form.html"


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _page(model_admin, request, *, title, form, submit, intro="", selected=(), action="", outcomes=None):
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        "form": form,
        "submit": submit,
        "intro": intro,
        "selected": list(selected),
        "action": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "outcomes": outcomes,
    }
    return TemplateResponse(request, FORM_TEMPLATE, context)


# --- bank accounts ---------------------------------------------------------------------------------


class BankAccountForm(forms.ModelForm):
    account_number = forms.CharField(
        max_length=17,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="4 to 17 digits, stored encrypted and shown by its last four digits only. "
        "Leave blank to keep the number on file.",
    )

    class Meta:
        model = BankAccount
        fields = ("driver", "routing_number", "account_type")

    def clean_routing_number(self):
        value = self.cleaned_data["routing_number"]
        if problem := routing_problem(value):
            raise forms.ValidationError(problem)
        return value

    def clean_account_number(self):
        value = self.cleaned_data["account_number"].strip()
        if not value and self.instance.pk is None:
            raise forms.ValidationError("Give the account number.")
        if value and (problem := account_problem(value)):
            raise forms.ValidationError(problem)
        return value or None


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    form = BankAccountForm
    list_display = ("driver", "routing_number", "account", "account_type", "updated_by", "updated_at")
    list_filter = ("account_type",)
    search_fields = ("driver__first_name", "driver__last_name", "=driver__tlc_license_number", "=routing_number")
    list_select_related = ("driver", "updated_by")
    autocomplete_fields = ("driver",)
    readonly_fields = ("account", "updated_by", "created_at", "updated_at")

    @admin.display(description="account number")
    def account(self, obj: BankAccount) -> str:
        return f"••••{obj.account_last4}" if obj.account_last4 else "-"

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "driver") if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: BankAccount, form, change: bool) -> None:
        saved = services.set_bank_account(
            driver=obj.driver,
            routing_number=form.cleaned_data["routing_number"],
            account_number=form.cleaned_data.get("account_number"),
            account_type=form.cleaned_data["account_type"],
            actor=request.user,
        )
        obj.pk = saved.pk


# --- payout runs ------------------------------------------------------------------------------------


class PrepareForm(forms.Form):
    period = DateFormField(help_text="The closed period's Sunday (YYYY-MM-DD).")


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="At least 10 characters.")


@admin.register(PayoutRun)
class PayoutRunAdmin(ReadOnly, admin.ModelAdmin):
    change_list_template = "admin/payouts/payoutrun/change_list.html"
    list_display = (
        "number",
        "period",
        "status",
        "payout_count",
        "total",
        "ach_total",
        "check_total",
        "carried_total",
        "prepared_by",
        "approved_by",
    )
    list_filter = ("status", "period")
    search_fields = ("=number",)
    list_select_related = ("prepared_by", "approved_by")
    readonly_fields = [f.name for f in PayoutRun._meta.fields] + ["files"]
    actions = ["approve_selected", "mark_paid_selected", "cancel_selected"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("payouts.view_payoutrun")

    def has_prepare_permission(self, request) -> bool:
        return request.user.has_perm("payouts.prepare_payoutrun")

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("payouts.approve_payoutrun")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("payouts.export_payoutrun")

    @admin.display(description="files")
    def files(self, obj: PayoutRun) -> str:
        if obj.status not in (PayoutRun.Status.APPROVED, PayoutRun.Status.PAID):
            return "Downloads once the run is approved."
        links = [
            (reverse(f"admin:payouts_payoutrun_{kind.replace('-', '_')}", args=[obj.pk]), label)
            for kind, label in (
                ("nacha", "NACHA file"),
                ("checks", "Check register (PDF)"),
                ("positive-pay", "Positive pay (CSV)"),
            )
        ]
        return format_html(" · ".join('<a href="{}">{}</a>' for _ in links), *[part for link in links for part in link])

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("prepare/", wrap(self.prepare_view), name="payouts_payoutrun_prepare"),
            *(
                path(
                    f"<int:pk>/{kind}/",
                    wrap(self.file_view),
                    {"kind": kind},
                    name=f"payouts_payoutrun_{kind.replace('-', '_')}",
                )
                for kind in ("nacha", "checks", "positive-pay")
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_prepare": self.has_prepare_permission(request)}
        return super().changelist_view(request, extra_context)

    def prepare_view(self, request: HttpRequest):
        if not self.has_prepare_permission(request):
            raise PermissionDenied
        form = PrepareForm(request.POST or None, initial={"period": last_closed_period()})
        if request.method == "POST" and form.is_valid():
            try:
                run, created = services.prepare_run(period=form.cleaned_data["period"], actor=request.user)
            except DomainError as exc:
                form.add_error("period" if "period" in exc.fields or not exc.fields else None, exc.message)
            else:
                verb = "prepared" if created else "was already prepared"
                self.message_user(request, f"Payout run {run.number} {verb}: {run.payout_count} payouts, {run.total}.")
                return HttpResponseRedirect(reverse("admin:payouts_payoutrun_change", args=[run.pk]))
        intro = (
            "Money due first pays what each driver owes up to the period; then each driver with money due of at "
            "least the minimum gets one payout. A Controller approves the run."
        )
        return _page(self, request, title="Prepare a payout run", form=form, submit="Prepare", intro=intro)

    def file_view(self, request: HttpRequest, pk: int, kind: str):
        if not self.has_export_permission(request):
            raise PermissionDenied
        run = PayoutRun.objects.filter(pk=pk).first()
        makers = {
            "nacha": (services.nacha_file, "text/plain; charset=us-ascii", ".ach"),
            "checks": (services.check_register_pdf, "application/pdf", "-checks.pdf"),
            "positive-pay": (services.positive_pay_csv, "text/csv; charset=utf-8", "-positive-pay.csv"),
        }
        if run is None or kind not in makers:
            return HttpResponseRedirect(reverse("admin:payouts_payoutrun_changelist"))
        make, content_type, suffix = makers[kind]
        try:
            content = make(run)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:payouts_payoutrun_change", args=[run.pk]))
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{run.number}{suffix}"'
        return response

    def _each(self, request, queryset, service, done: str, **kwargs) -> None:
        for run in queryset.order_by("pk"):
            try:
                service(run_id=run.pk, actor=request.user, **kwargs)
            except DomainError as exc:
                self.message_user(request, f"{run.number}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{run.number} {done}.", messages.SUCCESS)

    @admin.action(description="Approve selected runs (the checker)", permissions=["approve"])
    def approve_selected(self, request, queryset):
        self._each(request, queryset, services.approve_run, "approved")

    @admin.action(description="Mark selected runs paid", permissions=["prepare"])
    def mark_paid_selected(self, request, queryset):
        self._each(request, queryset, services.mark_paid, "marked paid")

    @admin.action(description="Cancel selected runs…", permissions=["approve"])
    def cancel_selected(self, request, queryset):
        form = ReasonForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._each(request, queryset, services.cancel_run, "cancelled", reason=form.cleaned_data["reason"])
            return None
        return _page(
            self,
            request,
            title="Cancel payout runs",
            form=form,
            submit="Cancel the runs",
            selected=queryset.order_by("pk"),
            action="cancel_selected",
        )


# --- payouts ------------------------------------------------------------------------------------------


class ReturnForm(forms.Form):
    return_code = forms.CharField(
        max_length=3,
        help_text="The bank's return code: R01 insufficient funds, "
        "R02 account closed, R03 no account, R04 invalid account number …",
    )
    returned_on = DateFormField(required=False, help_text="Default today.")


class ReturnFileForm(forms.Form):
    file = forms.FileField(help_text="The bank's ACH return file (NACHA format).")


@admin.register(Payout)
class PayoutAdmin(ExportActionMixin, ReadOnly, admin.ModelAdmin):
    resource_classes = [PayoutResource]
    change_list_template = "admin/payouts/payout/change_list.html"
    list_display = (
        "id",
        "run",
        "driver",
        "method",
        "amount",
        "status",
        "account",
        "trace_number",
        "check_number",
        "statements",
    )
    list_filter = ("method", "status", "run__period")
    search_fields = ("payee", "=trace_number", "=check_number", "=driver__tlc_license_number", "=run__number")
    list_select_related = ("run", "driver")
    exclude = ("account_number_encrypted",)
    readonly_fields = [f.name for f in Payout._meta.fields if f.name != "account_number_encrypted"]
    actions = ["return_selected", "void_selected"]

    @admin.display(description="account")
    def account(self, obj: Payout) -> str:
        return f"••••{obj.account_last4}" if obj.account_last4 else "-"

    @admin.display(description="statements paid")
    def statements(self, obj: Payout) -> str:
        return ", ".join(obj.dtr_numbers or []) or "-"

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("payouts.export_payoutrun")

    def has_return_permission(self, request) -> bool:
        return request.user.has_perm("payouts.return_payout")

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("payouts.void_payout")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import-returns/", wrap(self.import_view), name="payouts_payout_import_returns"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_returns": self.has_return_permission(request)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request: HttpRequest):
        if not self.has_return_permission(request):
            raise PermissionDenied
        form = ReturnFileForm(request.POST or None, request.FILES or None)
        outcomes = None
        if request.method == "POST" and form.is_valid():
            text = form.cleaned_data["file"].read().decode("ascii", errors="replace")
            outcomes = services.import_returns(text=text, actor=request.user)
            if not outcomes:
                form.add_error("file", "No returned entries (entry + 99 addenda) in this file.")
        return _page(
            self,
            request,
            title="Import an ACH return file",
            form=form,
            submit="Import",
            outcomes=outcomes,
            intro="Each returned entry reverses its payout (found by trace number): the money is due to the "
            "driver again and the next run pays it. A return already entered is skipped.",
        )

    @admin.action(description="Enter an ACH return for selected payouts…", permissions=["return"])
    def return_selected(self, request, queryset):
        form = ReturnForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            for payout in queryset.order_by("pk"):
                try:
                    services.return_ach(
                        trace_number=payout.trace_number or "",
                        return_code=form.cleaned_data["return_code"],
                        returned_on=form.cleaned_data.get("returned_on"),
                        actor=request.user,
                    )
                except DomainError as exc:
                    self.message_user(request, f"Payout {payout.pk}: {exc.message}", messages.ERROR)
                else:
                    self.message_user(
                        request, f"Payout {payout.pk} returned; its money is due again.", messages.SUCCESS
                    )
            return None
        return _page(
            self,
            request,
            title="Enter an ACH return",
            form=form,
            submit="Enter the return",
            selected=queryset.order_by("pk"),
            action="return_selected",
        )

    @admin.action(description="Void selected checks…", permissions=["void"])
    def void_selected(self, request, queryset):
        form = ReasonForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            for payout in queryset.order_by("pk"):
                try:
                    services.void_check(
                        check_number=payout.check_number, reason=form.cleaned_data["reason"], actor=request.user
                    )
                except DomainError as exc:
                    self.message_user(request, f"Payout {payout.pk}: {exc.message}", messages.ERROR)
                else:
                    self.message_user(
                        request, f"Check #{payout.check_number} voided; its money is due again.", messages.SUCCESS
                    )
            return None
        return _page(
            self,
            request,
            title="Void checks",
            form=form,
            submit="Void the checks",
            selected=queryset.order_by("pk"),
            action="void_selected",
        )
