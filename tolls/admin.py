"""E-ZPass tolls in the admin: the upload and its report, the tolls with filters and exports, and
the staff's reassignment (Finance) and reversal (Controllers) — the same services as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from batpay.errors import DomainError
from batpay.forms import ServiceErrorsMixin
from batpay.lists import ExportAdminMixin
from leases.models import Driver, Lease
from ledger.admin import ReadOnlyLedgerAdmin, admin_link
from ledger.categories import Category
from ledger.selectors import obligation_balances
from ledger.services import VOID_REASON_MIN_LENGTH
from tolls import services
from tolls.exports import TOLL_COLUMNS
from tolls.imports import COLUMNS, import_tolls
from tolls.models import Toll, TollAssignment, TollImport, TollImportRow, TollTag

IMPORT_PERMISSION = "tolls.import_tolls"


class TollFileForm(forms.Form):
    file = forms.FileField(
        label="E-ZPass CSV", help_text="The account's transaction export: " + ", ".join(COLUMNS) + "."
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        min_length=VOID_REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=f"At least {VOID_REASON_MIN_LENGTH} characters; kept with the reversal in the ledger.",
    )


class ReassignForm(ServiceErrorsMixin, ReasonForm):
    service_names = {"lease_number": "lease_id", "tlc_license": "driver_id"}

    lease_number = forms.CharField(max_length=32, help_text="The lease to charge.")
    tlc_license = forms.CharField(
        label="TLC license", max_length=7, required=False, help_text="Its driver; empty for the primary driver."
    )
    field_order = ["lease_number", "tlc_license", "reason"]

    def clean(self):
        cleaned = super().clean()
        number = (cleaned.get("lease_number") or "").strip()
        lease = Lease.objects.filter(lease_number__iexact=number).first() if number else None
        if number and lease is None:
            self.add_error("lease_number", f"No lease {number}.")
        cleaned["lease"] = lease
        license_ = (cleaned.get("tlc_license") or "").strip()
        cleaned["driver"] = None
        if license_:
            cleaned["driver"] = Driver.objects.filter(tlc_license_number=license_).first()
            if cleaned["driver"] is None:
                self.add_error("tlc_license", f"No driver with TLC license {license_}.")
        return cleaned


@admin.register(TollImport)
class TollImportAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "created_at",
        "file_name",
        "rows",
        "charges",
        "charged_amount",
        "refunds",
        "refunded_amount",
        "excluded",
        "excluded_amount",
        "unmatched",
        "already_imported",
        "invalid",
        "created_by",
    )
    list_select_related = ("created_by",)
    search_fields = ("file_name", "=sha256")
    readonly_fields = ("tolls_link", "kept_rows_link", "unmatched_link")
    fieldsets = (
        (None, {"fields": ("file_name", "sha256", "created_by", "created_at")}),
        (
            "Report",
            {
                "fields": (
                    "rows",
                    ("charges", "charged_amount"),
                    ("refunds", "refunded_amount"),
                    ("excluded", "excluded_amount"),
                    "unmatched",
                    "already_imported",
                    "invalid",
                )
            },
        ),
        ("Links", {"fields": ("tolls_link", "unmatched_link", "kept_rows_link")}),
    )
    change_list_template = "admin/tolls/import_change_list.html"

    @admin.display(description="tolls")
    def tolls_link(self, obj: TollImport) -> str:
        url = reverse("admin:tolls_toll_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{} toll row(s) of this import</a>', url, obj.imported)

    @admin.display(description="without a lease")
    def unmatched_link(self, obj: TollImport) -> str:
        url = reverse("admin:tolls_toll_changelist") + f"?batch__id__exact={obj.pk}&status__exact=UNMATCHED"
        return format_html('<a href="{}">{} to reassign</a>', url, obj.unmatched)

    @admin.display(description="bad data")
    def kept_rows_link(self, obj: TollImport) -> str:
        url = reverse("admin:tolls_tollimportrow_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{} row(s) kept for review</a>', url, obj.invalid)

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="tolls_tollimport_upload"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_tolls": request.user.has_perm(IMPORT_PERMISSION)}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request: HttpRequest):
        """Upload an E-ZPass CSV: the good rows go in, the report says what became of the rest."""
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        form = TollFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = import_tolls(stream=upload, file_name=upload.name, actor=request.user, size=upload.size)
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(
                    request,
                    format_html(
                        "{}: {} row(s); {} toll(s) to charge ({}), {} refund(s) ({}), {} Congestion Relief Zone "
                        "row(s) not charged ({}), {} without a lease, {} already imported, {} with bad data. "
                        "They are charged by the Sunday task tolls.post_due (or its Run now).",
                        batch.file_name,
                        batch.rows,
                        batch.charges,
                        batch.charged_amount,
                        batch.refunds,
                        batch.refunded_amount,
                        batch.excluded,
                        batch.excluded_amount,
                        batch.unmatched,
                        batch.already_imported,
                        batch.invalid,
                    ),
                    messages.WARNING if batch.kept_for_review else messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:tolls_tollimport_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import E-ZPass tolls",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/tolls/upload.html", context)


@admin.register(TollImportRow)
class TollImportRowAdmin(ReadOnlyLedgerAdmin):
    list_display = ("batch", "line_number", "lane_txn_id", "reason")
    search_fields = ("=lane_txn_id",)
    search_help_text = "Lane Txn ID (exactly)."
    list_select_related = ("batch",)
    readonly_fields = ("row",)
    fields = ("batch", "line_number", "lane_txn_id", "reason", "row")

    @admin.display(description="row as read")
    def row(self, obj: TollImportRow) -> str:
        return format_html_join(
            "", "<div><strong>{}</strong>: {}</div>", ((name, value) for name, value in obj.raw.items())
        )


class TollAssignmentInline(admin.TabularInline):
    model = TollAssignment
    extra = 0
    max_num = 0
    can_delete = False
    fields = (
        "created_at",
        "from_lease",
        "from_driver",
        "to_lease",
        "to_driver",
        "reason",
        "reversal",
        "charge_reference",
        "created_by",
    )
    readonly_fields = fields
    verbose_name_plural = "Reassignments"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Toll)
class TollAdmin(ExportAdminMixin, ReadOnlyLedgerAdmin):
    list_display = (
        "lane_txn_id",
        "toll_date",
        "toll_time",
        "kind",
        "status",
        "amount",
        "tag_or_plate",
        "plazas",
        "agency",
        "lease",
        "driver",
        "attribution",
        "batch",
    )
    list_filter = ("status", "kind", "attribution", "agency", "period", "batch")
    search_fields = ("=lane_txn_id", "=tag_or_plate", "=lease__lease_number", "=driver__tlc_license_number")
    search_help_text = "Lane Txn ID, tag or plate (as printed), lease number or TLC license (exactly)."
    list_select_related = ("lease", "driver", "batch")
    date_hierarchy = "toll_date"
    inlines = [TollAssignmentInline]
    readonly_fields = ("charge_link", "receipt_link", "dtr_line")
    actions = ["reassign", "reverse_charges", "export_xlsx", "export_csv"]
    export_columns = TOLL_COLUMNS
    export_title = "E-ZPass tolls"
    export_basename = "tolls"
    export_permission = "tolls.export_toll"

    def export_rows(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("lease", "driver")

    @admin.display(description="charge")
    def charge_link(self, obj: Toll) -> str:
        if obj.kind != Toll.Kind.CHARGE or obj.status in (Toll.Status.EXCLUDED, Toll.Status.UNMATCHED):
            return "—"
        found = obligation_balances(category=Category.EZPASS, source_references=[obj.source_reference])
        balance = found.get(obj.source_reference)
        return admin_link("obligationbalance", balance.balance_id if balance else None, obj.source_reference)

    @admin.display(description="refund receipt")
    def receipt_link(self, obj: Toll) -> str:
        return admin_link("receipt", obj.receipt_id)

    @admin.display(description="DTR line")
    def dtr_line(self, obj: Toll) -> str:
        return obj.description

    def has_reassign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tolls.change_toll")

    def has_reverse_charges_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tolls.void_toll")

    @admin.action(description="Reassign selected tolls to a lease…", permissions=["reassign"])
    def reassign(self, request: HttpRequest, queryset: QuerySet):
        return self._confirm(
            request, queryset, form_class=ReassignForm, action="reassign", title="Reassign tolls", apply=self._reassign
        )

    @admin.action(description="Reverse the charges of selected tolls…", permissions=["reverse_charges"])
    def reverse_charges(self, request: HttpRequest, queryset: QuerySet):
        return self._confirm(
            request,
            queryset,
            form_class=ReasonForm,
            action="reverse_charges",
            title="Reverse toll charges",
            apply=self._reverse,
        )

    def _reassign(self, request, toll: Toll, data: dict) -> None:
        services.toll_reassign(
            toll_id=toll.pk,
            lease_id=data["lease"].pk,
            driver_id=data["driver"].pk if data["driver"] else None,
            reason=data["reason"],
            actor=request.user,
        )

    def _reverse(self, request, toll: Toll, data: dict) -> None:
        services.toll_reverse(toll_id=toll.pk, reason=data["reason"], actor=request.user)

    def _confirm(self, request, queryset, *, form_class, action: str, title: str, apply):
        """The action's form for the selected tolls; each toll goes through the service on its own."""
        form = form_class(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = 0, []
            for toll in queryset.order_by("pk"):
                try:
                    apply(request, toll, form.cleaned_data)
                    done += 1
                except DomainError as exc:
                    refused.append(f"{toll.lane_txn_id}: {exc.message}")
            self.message_user(request, f"{title}: {done} done.", messages.SUCCESS if done else messages.INFO)
            for text in refused:
                self.message_user(request, text, messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "form": form,
            "tolls": queryset.order_by("pk"),
            "action": action,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tolls/confirm.html", context)


class TollTagForm(ServiceErrorsMixin, forms.ModelForm):
    service_names = {"vehicle": "vehicle_id"}

    class Meta:
        model = TollTag
        fields = ("tag_number", "vehicle")


@admin.register(TollTag)
class TollTagAdmin(admin.ModelAdmin):
    form = TollTagForm
    list_display = ("tag_number", "vehicle", "updated_at")
    search_fields = ("=tag_number", "=vehicle__plate_number", "=vehicle__vin")
    search_help_text = "Tag number, plate or VIN (exactly)."
    list_select_related = ("vehicle",)
    autocomplete_fields = ("vehicle",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: TollTag, form, change) -> None:
        saved = services.tag_save(
            tag_number=form.cleaned_data["tag_number"],
            vehicle_id=form.cleaned_data["vehicle"].pk,
            actor=request.user,
            tag=TollTag.objects.get(pk=obj.pk) if change else None,
        )
        obj.pk = saved.pk
