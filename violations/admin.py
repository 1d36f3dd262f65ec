"""Parking violations and TLC summonses in the admin: lists with filters, search and exports, the file
upload, entry, reassignment and disposition changes — each through `violations.services`, so the admin
and the API keep the same rules."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ExportActionMixin

from batpay.errors import DomainError
from violations import imports, resources, services
from violations.forms import (
    DispositionForm,
    ReassignForm,
    ReverseForm,
    TlcSummonsEntryForm,
    ViolationEntryForm,
    ViolationFileForm,
)
from violations.models import (
    TlcCharge,
    TlcSummons,
    TlcSummonsEvent,
    TlcViolationType,
    Violation,
    ViolationCharge,
    ViolationImport,
    ViolationImportRow,
    ViolationVersion,
)


def _form_page(admin_view, request, form, *, title: str, intro: str = "", submit: str = "Save"):
    context = {
        **admin_view.admin_site.each_context(request),
        "title": title,
        "opts": admin_view.opts,
        "form": form,
        "intro": intro,
        "submit_label": submit,
    }
    return TemplateResponse(request, "admin/violations/form_page.html", context)


def _domain_error(form: forms.Form, exc: DomainError, renames: dict[str, str] | None = None) -> None:
    renames = renames or {}
    for name, problem in exc.fields.items():
        field = renames.get(name, name)
        form.add_error(field if field in form.fields else None, problem)
    if not exc.fields:
        form.add_error(None, exc.message)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ViolationVersionInline(ReadOnlyInline):
    model = ViolationVersion
    fields = (
        "number",
        "status",
        "fine_amount",
        "penalty_amount",
        "interest_amount",
        "reduction_amount",
        "payment_amount",
        "amount_due",
        "dismissed",
        "driver_total",
        "batch",
        "line_number",
        "created_at",
    )
    readonly_fields = fields


class ViolationChargeInline(ReadOnlyInline):
    model = ViolationCharge
    fields = ("sequence", "kind", "source_reference", "amount", "driver", "lease", "reason", "voided_at", "void_reason")
    readonly_fields = fields


class ExportsMixin(ExportActionMixin):
    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('export', self.opts)}")


@admin.register(Violation)
class ViolationAdmin(ExportsMixin, admin.ModelAdmin):
    resource_classes = [resources.ViolationResource]
    list_display = (
        "summons_number",
        "issue_date",
        "violation_time",
        "plate",
        "violation",
        "status",
        "fine_amount",
        "driver_total",
        "review",
        "driver",
        "lease",
    )
    list_filter = ("review", "attributed_by", "issue_date", "county")
    search_fields = ("=summons_number", "=plate", "driver__last_name", "driver__tlc_license_number")
    list_select_related = ("driver", "lease")
    date_hierarchy = "issue_date"
    inlines = [ViolationVersionInline, ViolationChargeInline]
    change_form_template = "admin/violations/change_form.html"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.opts.concrete_fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<path:object_id>/reassign/",
                self.admin_site.admin_view(self.reassign_view),
                name="violations_violation_reassign",
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change) -> None:
        """Nothing on the summons' page is edited in place: entry, reassignment and new figures have their own ways."""

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ViolationEntryForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                violation = services.violation_create(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                _domain_error(form, exc)
            else:
                self.message_user(
                    request, f"Summons {violation.summons_number} entered: {violation.get_review_display()}."
                )
                return HttpResponseRedirect(reverse("admin:violations_violation_change", args=[violation.pk]))
        return _form_page(
            self,
            request,
            form,
            title="Enter a parking violation",
            intro="Charged like a row of a file: to the driver on the lease in force on the plate's "
            "vehicle at that time (a trip within two hours, else the primary driver).",
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if request.user.has_perm("violations.change_violation"):
            extra_context.update(
                action_url=reverse("admin:violations_violation_reassign", args=[object_id]), action_label="Reassign"
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def reassign_view(self, request: HttpRequest, object_id: str):
        if not request.user.has_perm("violations.change_violation"):
            raise PermissionDenied
        violation = get_object_or_404(Violation, pk=object_id) if object_id.isdigit() else None
        if violation is None:
            raise PermissionDenied
        form = ReassignForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.violation_reassign(
                    violation_id=violation.pk,
                    driver_id=form.cleaned_data["driver"].pk,
                    lease_id=form.cleaned_data["lease"].pk,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except DomainError as exc:
                _domain_error(form, exc, {"driver_id": "driver", "lease_id": "lease"})
            else:
                self.message_user(request, f"Summons {violation.summons_number} reassigned.")
                return HttpResponseRedirect(reverse("admin:violations_violation_change", args=[violation.pk]))
        return _form_page(
            self,
            request,
            form,
            title=f"Reassign summons {violation.summons_number}",
            intro="A charge of what the summons owes is posted to the driver and lease chosen, then "
            "the charges before are voided with the reason.",
            submit="Reassign",
        )

    def reverse_view(self, request: HttpRequest, object_id: str):
        if not request.user.has_perm("violations.void_violation"):
            raise PermissionDenied
        violation = get_object_or_404(Violation, pk=object_id) if object_id.isdigit() else None
        if violation is None:
            raise PermissionDenied
        form = ReverseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.violation_reverse(
                    violation_id=violation.pk, reason=form.cleaned_data["reason"], actor=request.user
                )
            except DomainError as exc:
                _domain_error(form, exc)
            else:
                self.message_user(
                    request, f"Summons {violation.summons_number}: charges reversed; it waits for review."
                )
                return HttpResponseRedirect(reverse("admin:violations_violation_change", args=[violation.pk]))
        return _form_page(
            self,
            request,
            form,
            title=f"Reverse the charges of summons {violation.summons_number}",
            intro="Every live charge is voided with the reason (payments go back to their receipts); "
            "the summons then waits for review.",
            submit="Reverse",
        )


@admin.register(ViolationImport)
class ViolationImportAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "file_name",
        "rows",
        "new_summonses",
        "new_versions",
        "unchanged",
        "invalid",
        "needs_review",
        "charged",
        "created_by",
        "kept_rows_link",
    )
    list_select_related = ("created_by",)
    search_fields = ("file_name", "=sha256")
    readonly_fields = ("kept_rows_link",)
    change_list_template = "admin/violations/import_change_list.html"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="kept for review")
    def kept_rows_link(self, obj: ViolationImport) -> str:
        url = reverse("admin:violations_violationimportrow_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{} row(s)</a>', url, obj.invalid)

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="violations_violationimport_upload"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        can = request.user.has_perm("violations.import_violations")
        return super().changelist_view(request, {**(extra_context or {}), "can_import_violations": can})

    def upload_view(self, request: HttpRequest):
        if not request.user.has_perm("violations.import_violations"):
            raise PermissionDenied
        form = ViolationFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = imports.import_violations(
                    stream=upload, file_name=upload.name, actor=request.user, size=upload.size
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(
                    request,
                    f"{batch.file_name}: {batch.rows} row(s) read, {batch.new_summonses} new summons(es), "
                    f"{batch.new_versions} with new figures, {batch.unchanged} unchanged, {batch.invalid} kept for "
                    f"review, {batch.needs_review} waiting to be assigned; {batch.charged} charged.",
                    messages.WARNING if batch.invalid or batch.needs_review else messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:violations_violationimport_change", args=[batch.pk]))
        return _form_page(
            self,
            request,
            form,
            title="Import parking violations",
            submit="Import",
            intro="New summonses are charged to the driver who had the vehicle; a summons that comes "
            "back with other figures gets a new version and its charge follows. Importing the same file "
            "again changes nothing. Bad rows are kept with their line number and reason.",
        )


@admin.register(ViolationImportRow)
class ViolationImportRowAdmin(admin.ModelAdmin):
    list_display = ("batch", "line_number", "summons_number", "reason")
    list_filter = ("kind",)
    search_fields = ("=summons_number",)
    readonly_fields = ("batch", "line_number", "kind", "reason", "summons_number", "raw")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TlcViolationType)
class TlcViolationTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "active")
    list_filter = ("active",)
    search_fields = ("name",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A type in use stays (PROTECT); retire it with `active` instead.
        return False


class TlcEventInline(ReadOnlyInline):
    model = TlcSummonsEvent
    fields = ("created_at", "from_disposition", "to_disposition", "owed_before", "owed_after", "reason", "actor")
    readonly_fields = fields


class TlcChargeInline(ReadOnlyInline):
    model = TlcCharge
    fields = ("sequence", "kind", "source_reference", "amount", "reason", "voided_at", "void_reason")
    readonly_fields = fields


@admin.register(TlcSummons)
class TlcSummonsAdmin(ExportsMixin, admin.ModelAdmin):
    resource_classes = [resources.TlcSummonsResource]
    list_display = (
        "summons_number",
        "violation_date",
        "violation_type",
        "amount",
        "reduced_amount",
        "disposition",
        "owed",
        "driver",
        "lease",
    )
    list_filter = ("disposition", "violation_type", "violation_date")
    search_fields = ("=summons_number", "driver__last_name", "driver__tlc_license_number")
    list_select_related = ("driver", "lease", "violation_type")
    inlines = [TlcEventInline, TlcChargeInline]
    change_form_template = "admin/violations/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.opts.concrete_fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        """A summons changes only by its disposition (its own page), through the service."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/disposition/",
                self.admin_site.admin_view(self.disposition_view),
                name="violations_tlcsummons_disposition",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TlcSummonsEntryForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            values = dict(form.cleaned_data)
            values["driver_id"] = values.pop("driver").pk
            values["lease_id"] = values.pop("lease").pk
            values["violation_type_id"] = values.pop("violation_type").pk
            try:
                summons = services.tlc_summons_create(actor=request.user, **values)
            except DomainError as exc:
                _domain_error(
                    form, exc, {"driver_id": "driver", "lease_id": "lease", "violation_type_id": "violation_type"}
                )
            else:
                self.message_user(
                    request, f"TLC summons {summons.summons_number} entered; the driver owes {summons.owed}."
                )
                return HttpResponseRedirect(reverse("admin:violations_tlcsummons_change", args=[summons.pk]))
        return _form_page(
            self,
            request,
            form,
            title="Enter a TLC summons",
            intro="The driver owes the amount (the reduced amount when Reduced) plus the service fee "
            "once the hearing disposition is Paid or Reduced.",
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if request.user.has_perm("violations.change_tlcsummons"):
            extra_context.update(
                action_url=reverse("admin:violations_tlcsummons_disposition", args=[object_id]),
                action_label="Change disposition",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def disposition_view(self, request: HttpRequest, object_id: str):
        if not request.user.has_perm("violations.change_tlcsummons"):
            raise PermissionDenied
        summons = get_object_or_404(TlcSummons, pk=object_id) if object_id.isdigit() else None
        if summons is None:
            raise PermissionDenied
        form = DispositionForm(request.POST or None, initial={"disposition": summons.disposition})
        if request.method == "POST" and form.is_valid():
            try:
                services.tlc_change_disposition(summons_id=summons.pk, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                _domain_error(form, exc)
            else:
                self.message_user(request, f"TLC summons {summons.summons_number}: disposition changed.")
                return HttpResponseRedirect(reverse("admin:violations_tlcsummons_change", args=[summons.pk]))
        return _form_page(
            self,
            request,
            form,
            title=f"Change the disposition of {summons}",
            intro=f"Now {summons.get_disposition_display()}; the driver owes {summons.owed}.",
            submit="Change",
        )
