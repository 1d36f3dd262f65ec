"""Trips, the weekly close and the Driver Transaction Report in the Django admin: read-only
lists, the trips upload, the statement page, its PDF and the Controller's void. Writes go through
the statements services.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from batpay.errors import DomainError
from batpay.lists import ExportAdminMixin, ListTotalsMixin
from batpay.periods import current_period, parse_period, period_end, previous_period
from ledger.admin import RECENT_PERIODS, PeopleLinks, ReadOnlyLedgerAdmin, admin_link, period_filter
from statements import dtr, pdf, selectors, trips
from statements.exports import DTR_COLUMNS
from statements.forms import DtrVoidForm, TripFileForm
from statements.models import DriverTransactionReport, EarningsClose, Trip, TripImport, TripImportRow

# --- trips, the weekly close and the Driver Transaction Report (SPEC §5) -------------------------


def recent_periods_filter(field: str, title: str) -> type[admin.SimpleListFilter]:
    """period_filter's choices without asking the table: the last weeks up to the current one, so
    a list of millions of trips does not scan an index to offer them."""

    class RecentPeriodsFilter(period_filter(field, title)):
        def lookups(self, request, model_admin):
            weeks = [current_period()]
            while len(weeks) < RECENT_PERIODS:
                weeks.append(previous_period(weeks[-1]))
            return [(p.isoformat(), f"{p:%Y-%m-%d} – {period_end(p):%m-%d}") for p in weeks]

    return RecentPeriodsFilter


class NetFilter(admin.SimpleListFilter):
    """The dashboard's "drivers with a negative net": DTRs whose deductions exceed the card earnings."""

    title = "net"
    parameter_name = "net"

    def lookups(self, request, model_admin):
        return [("negative", "Negative (deductions over earnings)"), ("positive", "Zero or more")]

    def queryset(self, request, queryset):
        if self.value() == "negative":
            return queryset.filter(card_earnings__lt=F("subtotal_of_deductions"))
        if self.value() == "positive":
            return queryset.filter(card_earnings__gte=F("subtotal_of_deductions"))
        return queryset


class TextSearchFilter(admin.SimpleListFilter):
    """A sidebar filter typed into a box: a lease or a driver out of thousands, not a list of them."""

    template = "admin/statements/dtr/text_filter.html"
    placeholder = ""

    def lookups(self, request, model_admin):
        return ()

    def has_output(self) -> bool:
        return True

    def choices(self, changelist):
        others = [
            (name, value)
            for name, values in changelist.get_filters_params().items()
            if name != self.parameter_name
            for value in values
        ]
        yield {"others": others, "value": self.value() or "", "placeholder": self.placeholder}


class LeaseNumberFilter(TextSearchFilter):
    title = "lease"
    parameter_name = "lease_number"
    placeholder = "Lease number"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        return queryset.filter(lease__lease_number__iexact=value) if value else queryset


class DriverFilter(TextSearchFilter):
    title = "driver"
    parameter_name = "driver"
    placeholder = "TLC license or last name"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(driver__tlc_license_number=value)
        return queryset.filter(driver__last_name__iexact=value)


@admin.register(Trip)
class TripAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "trip_id",
        "start_time",
        "payment_type",
        "total_amount",
        "taxes_and_fees",
        "driver",
        "lease",
        "medallion",
        "period",
        "batch_link",
    )
    list_filter = ("payment_type", recent_periods_filter("period", "period"), LeaseNumberFilter, DriverFilter)
    search_fields = ("=trip_id", "=driver__tlc_license_number", "=lease__lease_number", "=medallion__number")
    search_help_text = "Trip id, TLC license, lease number or medallion number (exactly)."
    list_select_related = ("driver", "lease", "medallion")

    @admin.display(description="taxes and fees")
    def taxes_and_fees(self, obj: Trip):
        return obj.taxes_and_fees

    @admin.display(description="import")
    def batch_link(self, obj: Trip) -> str:
        return admin_link("tripimport", obj.batch_id, app="statements")


@admin.register(TripImport)
class TripImportAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "created_at",
        "file_name",
        "rows",
        "imported",
        "already_imported",
        "invalid",
        "unmatched",
        "late",
        "created_by",
        "kept_rows_link",
    )
    list_select_related = ("created_by",)
    search_fields = ("file_name", "=sha256")
    readonly_fields = ("kept_rows_link", "trips_link")
    fieldsets = (
        (None, {"fields": ("file_name", "sha256", "created_by", "created_at")}),
        ("Rows", {"fields": ("rows", "imported", "already_imported", "invalid", "unmatched", "late")}),
        ("Links", {"fields": ("trips_link", "kept_rows_link")}),
    )
    change_list_template = "admin/statements/trips/import_change_list.html"

    @admin.display(description="kept for review")
    def kept_rows_link(self, obj: TripImport) -> str:
        url = reverse("admin:statements_tripimportrow_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{} row(s)</a>', url, obj.kept_for_review)

    @admin.display(description="trips")
    def trips_link(self, obj: TripImport) -> str:
        url = reverse("admin:statements_trip_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">trips of this import</a>', url)

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="statements_tripimport_upload"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_trips": request.user.has_perm("statements.import_trips")}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request: HttpRequest):
        """Upload a trips CSV: the good rows go in, the rest are listed for review."""
        if not request.user.has_perm("statements.import_trips"):
            raise PermissionDenied
        form = TripFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = trips.import_trips(stream=upload, file_name=upload.name, actor=request.user, size=upload.size)
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(
                    request,
                    format_html(
                        "{}: {} row(s) read, {} new trip(s), {} already imported, {} kept for review "
                        "({} bad, {} without a lease, {} of a closed week).",
                        batch.file_name,
                        batch.rows,
                        batch.imported,
                        batch.already_imported,
                        batch.kept_for_review,
                        batch.invalid,
                        batch.unmatched,
                        batch.late,
                    ),
                    messages.WARNING if batch.kept_for_review else messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:statements_tripimport_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import trips",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/statements/trips/upload.html", context)


@admin.register(TripImportRow)
class TripImportRowAdmin(ReadOnlyLedgerAdmin):
    list_display = ("batch", "line_number", "kind", "trip_id", "reason")
    list_filter = ("kind",)
    search_fields = ("=trip_id",)
    search_help_text = "Trip id (exactly)."
    list_select_related = ("batch",)
    readonly_fields = ("row",)
    fields = ("batch", "line_number", "kind", "trip_id", "reason", "row")

    @admin.display(description="row as read")
    def row(self, obj: TripImportRow) -> str:
        return format_html_join(
            "", "<div><strong>{}</strong>: {}</div>", ((name, value) for name, value in obj.raw.items())
        )


@admin.register(EarningsClose)
class EarningsCloseAdmin(ReadOnlyLedgerAdmin):
    list_display = ("period", "leases", "taxes", "earnings", "closed_by", "closed_at")
    list_select_related = ("closed_by",)


def can_void_dtr(request: HttpRequest) -> bool:
    return request.user.has_perm("statements.void_drivertransactionreport")


@admin.register(DriverTransactionReport)
class DriverTransactionReportAdmin(PeopleLinks, ListTotalsMixin, ExportAdminMixin, ReadOnlyLedgerAdmin):
    change_list_template = "admin/statements/dtr/change_list.html"
    list_display = (
        "dtr_number",
        "period",
        "lease_link",
        "driver_link",
        "status",
        "version",
        "card_earnings",
        "total_due_to_driver",
        "balance_carried_forward",
        "pdf_link",
    )
    list_filter = ("status", recent_periods_filter("period", "period"), NetFilter, LeaseNumberFilter, DriverFilter)
    search_fields = ("=dtr_number", "=lease__lease_number", "=driver__tlc_license_number", "driver__last_name")
    search_help_text = "DTR number, lease number or TLC license (exactly), or a driver's last name."
    list_select_related = ("lease", "driver")
    actions = ("void_selected", "download_pdfs")
    list_totals = ("card_earnings", "total_due_to_driver", "balance_carried_forward")
    export_columns = DTR_COLUMNS
    export_title = "Driver Transaction Reports"
    export_basename = "dtrs"

    def get_queryset(self, request):
        return selectors.dtr_detail().order_by(*(self.get_ordering(request) or ["-period", "-id"]))

    def export_rows(self, queryset):
        return queryset.defer("snapshot")

    @admin.action(description="Download the selected DTRs' PDFs (zip)", permissions=["export"])
    def download_pdfs(self, request: HttpRequest, queryset: QuerySet[DriverTransactionReport]):
        chosen = queryset.order_by("dtr_number").iterator(chunk_size=100)
        response = StreamingHttpResponse(pdf.pdfs_zip(chosen), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="dtrs.zip"'
        return response

    def download_view(self, request: HttpRequest):
        """A period's DTRs in force, one PDF each, in one zip (streamed as it is written)."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        try:
            period = parse_period(request.GET.get("period", ""))
        except ValueError as exc:
            self.message_user(request, f"No DTRs downloaded: {exc}.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:statements_drivertransactionreport_changelist"))
        response = StreamingHttpResponse(pdf.pdfs_zip(selectors.period_dtrs(period)), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{pdf.zip_name(period)}"'
        return response

    def changelist_view(self, request, extra_context=None):
        period = request.GET.get("period", "")
        try:
            chosen = parse_period(period) if period else None
        except ValueError:
            chosen = None
        extra_context = {
            **(extra_context or {}),
            "download_period": chosen if self.has_export_permission(request) else None,
        }
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request, **kwargs):
        return DtrChangeList

    @admin.display(description="PDF")
    def pdf_link(self, obj: DriverTransactionReport) -> str:
        url = reverse("admin:statements_drivertransactionreport_pdf", args=[obj.pk])
        return format_html('<a href="{}">PDF</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="statements_drivertransactionreport_pdf",
            ),
            path(
                "<int:object_id>/void/",
                self.admin_site.admin_view(self.void_view),
                name="statements_drivertransactionreport_void",
            ),
            path(
                "download/",
                self.admin_site.admin_view(self.download_view),
                name="statements_drivertransactionreport_download",
            ),
            *super().get_urls(),
        ]

    def _report(self, request: HttpRequest, object_id) -> DriverTransactionReport:
        report = self.get_object(request, str(object_id))
        if report is None or not self.has_view_permission(request, report):
            raise Http404("No such DTR.")
        return report

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The DTR as it reads on paper, with its PDF and (for Controllers) the void."""
        report = self._report(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            **pdf.statement_context(report),
            "title": f"{report.dtr_number} — {report.snapshot['driver']['name']}",
            "opts": self.opts,
            "original": report,
            "can_void": can_void_dtr(request) and report.status == DriverTransactionReport.Status.ISSUED,
        }
        return TemplateResponse(request, "admin/statements/dtr/statement.html", context)

    def pdf_view(self, request: HttpRequest, object_id: int):
        report = self._report(request, object_id)
        response = HttpResponse(pdf.pdf_bytes(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{report.dtr_number}.pdf"'
        return response

    def void_view(self, request: HttpRequest, object_id: int):
        if not can_void_dtr(request):
            raise PermissionDenied
        report = self._report(request, object_id)
        form = DtrVoidForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                _, replacement = dtr.void_dtr(
                    dtr_number=report.dtr_number, reason=form.cleaned_data["reason"], actor=request.user
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{report.dtr_number} is voided; {replacement.dtr_number} replaces it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:statements_drivertransactionreport_change", args=[replacement.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Void {report.dtr_number}",
            "opts": self.opts,
            "original": report,
            "reports": [report],
            "form": form,
        }
        return TemplateResponse(request, "admin/statements/dtr/void.html", context)

    def has_void_permission(self, request: HttpRequest) -> bool:
        return can_void_dtr(request)

    @admin.action(description="Void selected DTRs and issue new versions", permissions=["void"])
    def void_selected(self, request: HttpRequest, queryset: QuerySet[DriverTransactionReport]):
        if not can_void_dtr(request):
            raise PermissionDenied
        form = DtrVoidForm(request.POST if "confirm" in request.POST else None)
        reports = list(queryset.select_related("lease", "driver").defer("snapshot").order_by("id"))
        if form.is_bound and form.is_valid():
            done = []
            for report in reports:
                try:
                    _, replacement = dtr.void_dtr(
                        dtr_number=report.dtr_number, reason=form.cleaned_data["reason"], actor=request.user
                    )
                except DomainError as exc:
                    self.message_user(request, f"{report.dtr_number} was not voided: {exc.message}", messages.ERROR)
                else:
                    done.append(f"{report.dtr_number} → {replacement.dtr_number}")
            if done:
                self.message_user(request, f"Voided and reissued {len(done)} DTR(s): {', '.join(done)}.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Void DTRs",
            "opts": self.opts,
            "reports": reports,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/statements/dtr/void.html", context)


class DtrChangeList(ChangeList):
    """The list leaves the snapshots (the large part of a DTR) in the database."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer("snapshot")
