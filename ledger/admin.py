"""The ledger in the Django admin: read-only lists and pages, and two screens that write through
ledger.services like the API does — voiding postings (Controllers) and interim payments (Cashiers).

Nothing here creates, changes or deletes a ledger row itself (SPEC §3).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from batpay.errors import DomainError
from batpay.money import ZERO
from batpay.periods import current_period, parse_period, period_end, previous_period
from ledger import dtr, selectors, services, trips
from ledger.forms import ChooseLeaseForm, DtrVoidForm, InterimPaymentForm, TripFileForm, VoidReasonForm
from ledger.models import (
    DriverTransactionReport,
    EarningsClose,
    EntryType,
    ObligationBalance,
    Posting,
    Receipt,
    Trip,
    TripImport,
    TripImportRow,
)

RECENT_PERIODS = 12

DRIVER_AND_LEASE_SEARCH = (
    "driver__first_name",
    "driver__last_name",
    "driver__tlc_license_number",
    "lease__lease_number",
)


def admin_link(model_name: str, pk: int | None, text: str | None = None) -> str:
    if pk is None:
        return "—"
    url = reverse(f"admin:ledger_{model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, text or f"#{pk}")


def period_filter(field: str, title: str) -> type[admin.SimpleListFilter]:
    """A list filter offering the most recent payment periods (named by their Sunday)."""

    class PeriodListFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            periods = (
                model_admin.model._default_manager.values_list(field, flat=True)
                .distinct()
                .order_by(f"-{field}")[:RECENT_PERIODS]
            )
            return [(p.isoformat(), f"{p:%Y-%m-%d} – {period_end(p):%m-%d}") for p in periods]

        def queryset(self, request, queryset):
            if not self.value():
                return queryset
            try:
                period = parse_period(self.value())
            except ValueError as exc:
                # The admin answers with its "incorrect lookup" notice (?e=1) instead of a 500.
                raise IncorrectLookupParameters(exc) from exc
            return queryset.filter(**{field: period})

    PeriodListFilter.title = title
    return PeriodListFilter


def can_record_interim_payment(request: HttpRequest) -> bool:
    return request.user.has_perm("ledger.record_interim_payment")


class ReadOnly:
    """Ledger rows are written by ledger.services only: the admin may look, never touch."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyLedgerAdmin(ReadOnly, admin.ModelAdmin):
    list_per_page = 50
    # Counting the whole unfiltered ledger on every page view is slow once it is large.
    show_full_result_count = False


class PostingLinks:
    """Links from a posting to itself, its balance, its receipt and the posting it reverses."""

    @admin.display(description="posting")
    def posting_link(self, obj: Posting) -> str:
        return admin_link("posting", obj.pk)

    @admin.display(description="balance")
    def balance_link(self, obj: Posting) -> str:
        return admin_link("obligationbalance", obj.obligation_id, str(obj.obligation) if obj.obligation_id else None)

    @admin.display(description="receipt")
    def receipt_link(self, obj: Posting) -> str:
        return admin_link("receipt", obj.receipt_id, str(obj.receipt) if obj.receipt_id else None)

    @admin.display(description="reverses")
    def reverses_link(self, obj: Posting) -> str:
        return admin_link("posting", obj.reverses_id)


class PostingInline(ReadOnly, PostingLinks, admin.TabularInline):
    model = Posting
    fields = (
        "posting_link",
        "entry_type",
        "category",
        "amount",
        "status",
        "balance_link",
        "receipt_link",
        "reverses_link",
        "effective_date",
        "reason",
    )
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "postings"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("obligation", "receipt").order_by("id")


@admin.register(Posting)
class PostingAdmin(PostingLinks, ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "created_at",
        "entry_type",
        "category",
        "amount",
        "status",
        "driver",
        "lease",
        "period",
        "effective_date",
        "balance_link",
        "receipt_link",
        "reversal_links",
    )
    list_filter = ("category", "status", "entry_type", period_filter("period", "period"))
    search_fields = (
        *DRIVER_AND_LEASE_SEARCH,
        "obligation__source_reference",
        "idempotency_key",
        "receipt__idempotency_key",
    )
    search_help_text = "Driver name or TLC license, lease number, source reference or idempotency key."
    date_hierarchy = "created_at"
    list_select_related = ("driver", "lease", "obligation", "receipt")
    readonly_fields = ("balance_link", "receipt_link", "reverses_link", "reversal_link")
    fieldsets = (
        (None, {"fields": ("entry_type", "category", "amount", "status", "description")}),
        ("Links", {"fields": ("balance_link", "receipt_link", "reverses_link", "reversal_link")}),
        ("Who and when", {"fields": ("driver", "lease", "vehicle", "medallion", "period", "effective_date")}),
        ("Audit", {"fields": ("idempotency_key", "reason", "created_by", "created_at")}),
    )
    actions = ("void_selected",)

    def get_queryset(self, request):
        return selectors.postings_with_reversal().order_by(*(self.get_ordering(request) or ["-id"]))

    @admin.display(description="voided by")
    def reversal_link(self, obj: Posting) -> str:
        return admin_link("posting", obj.reversal_id)

    @admin.display(description="reversal")
    def reversal_links(self, obj: Posting) -> str:
        if obj.reverses_id:
            return format_html("reverses {}", admin_link("posting", obj.reverses_id))
        if obj.reversal_id:
            return format_html("voided by {}", admin_link("posting", obj.reversal_id))
        return "—"

    def has_void_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.void_posting")

    @admin.action(description="Void selected postings", permissions=["void"])
    def void_selected(self, request: HttpRequest, queryset: QuerySet[Posting]):
        """Ask for the reason on a confirmation page, then void each posting through the service."""
        if not self.has_void_permission(request):
            raise PermissionDenied
        form = VoidReasonForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._void(request, queryset, form.cleaned_data["reason"])
            return None
        postings = list(queryset.select_related("driver", "lease", "obligation", "receipt").order_by("id"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Void postings",
            "opts": self.opts,
            "postings": postings,
            "debits": sum(1 for p in postings if p.entry_type == EntryType.DEBIT),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/ledger/posting/void_confirmation.html", context)

    def _void(self, request: HttpRequest, queryset: QuerySet[Posting], reason: str) -> None:
        # Credits before debits: voiding a charge releases the payments on it, so a payment
        # selected together with its charge is voided on its own first instead of failing.
        selected = sorted(
            queryset.values_list("id", "entry_type"), key=lambda row: (row[1] != EntryType.CREDIT, row[0])
        )
        done = []
        for posting_id, _ in selected:
            try:
                reversal = services.void_posting(posting=posting_id, reason=reason, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"Posting #{posting_id} was not voided: {exc.message}", messages.ERROR)
            else:
                done.append((admin_link("posting", posting_id), admin_link("posting", reversal.pk)))
        if done:
            self.message_user(
                request,
                format_html(
                    "Voided {} posting(s): {}.",
                    len(done),
                    format_html_join(", ", "{} (reversal {})", done),
                ),
                messages.SUCCESS,
            )


@admin.register(ObligationBalance)
class ObligationBalanceAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "category",
        "source_reference",
        "driver",
        "lease",
        "due_period",
        "original_amount",
        "outstanding",
        "status",
        "postings_link",
    )
    list_filter = ("category", "status", period_filter("due_period", "due period"))
    search_fields = (*DRIVER_AND_LEASE_SEARCH, "source_reference")
    search_help_text = "Driver name or TLC license, lease number or source reference."
    date_hierarchy = "due_period"
    list_select_related = ("driver", "lease")
    readonly_fields = ("paid", "postings_link")
    fieldsets = (
        (None, {"fields": ("category", "source_reference", "description", "status", "due_period")}),
        ("Amounts", {"fields": ("original_amount", "paid", "outstanding")}),
        ("Who", {"fields": ("driver", "lease", "vehicle", "medallion")}),
        ("When", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (PostingInline,)

    def get_queryset(self, request):
        return selectors.balances().order_by(*(self.get_ordering(request) or ["priority", "due_period", "id"]))

    @admin.display(description="postings")
    def postings_link(self, obj: ObligationBalance) -> str:
        url = reverse("admin:ledger_posting_changelist") + f"?obligation__id__exact={obj.pk}"
        return format_html('<a href="{}">postings</a>', url)


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "kind",
        "method",
        "driver",
        "lease",
        "period",
        "received_on",
        "amount",
        "unapplied",
        "created_by",
        "created_at",
        "postings_link",
    )
    list_filter = ("kind", "method", period_filter("period", "period"))
    search_fields = (*DRIVER_AND_LEASE_SEARCH, "idempotency_key", "note")
    search_help_text = "Driver name or TLC license, lease number, idempotency key or note."
    date_hierarchy = "received_on"
    list_select_related = ("driver", "lease", "created_by")
    readonly_fields = ("postings_link",)
    fieldsets = (
        (None, {"fields": ("kind", "method", "amount", "unapplied", "period", "received_on", "note")}),
        ("Who", {"fields": ("driver", "lease")}),
        ("Audit", {"fields": ("idempotency_key", "created_by", "created_at", "postings_link")}),
    )
    inlines = (PostingInline,)

    def get_queryset(self, request):
        return selectors.receipts().order_by(*(self.get_ordering(request) or ["-id"]))

    @admin.display(description="postings")
    def postings_link(self, obj: Receipt) -> str:
        url = reverse("admin:ledger_posting_changelist") + f"?receipt__id__exact={obj.pk}"
        return format_html('<a href="{}">postings</a>', url)

    def get_urls(self):
        return [
            path(
                "interim-payment/",
                self.admin_site.admin_view(self.interim_payment_view),
                name="ledger_receipt_interim_payment",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_record_interim_payment": can_record_interim_payment(request)}
        return super().changelist_view(request, extra_context)

    def interim_payment_view(self, request: HttpRequest):
        """The cashier's window: choose driver and lease, then pay their open balances."""
        if not can_record_interim_payment(request):
            raise PermissionDenied
        choose = ChooseLeaseForm(request.GET if {"driver", "lease"} & set(request.GET) else None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Record an interim payment",
            "opts": self.opts,
            "choose_form": choose,
        }
        template = "admin/ledger/receipt/interim_payment.html"
        if not choose.is_bound or not choose.is_valid():
            return TemplateResponse(request, template, context)

        driver, lease = choose.cleaned_data["driver"], choose.cleaned_data["lease"]
        balances = list(selectors.open_balances(driver_id=driver.pk, lease_id=lease.pk))
        form = InterimPaymentForm(request.POST if request.method == "POST" else None, balances=balances)
        if form.is_bound and form.is_valid():
            try:
                receipt = services.apply_interim_payment(
                    driver=driver,
                    lease=lease,
                    amount=form.cleaned_data["amount"],
                    method=form.cleaned_data["payment_method"],
                    allocations=form.allocations(),
                    actor=request.user,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    received_on=form.cleaned_data["received_on"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                credit = selectors.prepayment_credit(driver_id=driver.pk, lease_id=lease.pk)
                self.message_user(
                    request,
                    format_html(
                        "Recorded receipt {} of {} from {} on lease {}. Applied {}; the lease's prepayment "
                        "credit is now {}.",
                        admin_link("receipt", receipt.pk),
                        receipt.amount,
                        driver.full_name,
                        lease.lease_number,
                        receipt.amount - receipt.unapplied,
                        credit,
                    ),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:ledger_receipt_change", args=[receipt.pk]))
        context.update(
            driver=driver,
            lease=lease,
            form=form,
            outstanding=sum((b.outstanding for b in balances), ZERO),
            prepayment_credit=selectors.prepayment_credit(driver_id=driver.pk, lease_id=lease.pk),
        )
        return TemplateResponse(request, template, context)


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


class TextSearchFilter(admin.SimpleListFilter):
    """A sidebar filter typed into a box: a lease or a driver out of thousands, not a list of them."""

    template = "admin/ledger/dtr/text_filter.html"
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
        return admin_link("tripimport", obj.batch_id)


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
    change_list_template = "admin/ledger/dtr_trips/import_change_list.html"

    @admin.display(description="kept for review")
    def kept_rows_link(self, obj: TripImport) -> str:
        url = reverse("admin:ledger_tripimportrow_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{} row(s)</a>', url, obj.kept_for_review)

    @admin.display(description="trips")
    def trips_link(self, obj: TripImport) -> str:
        url = reverse("admin:ledger_trip_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">trips of this import</a>', url)

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="ledger_tripimport_upload"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_trips": request.user.has_perm("ledger.import_trips")}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request: HttpRequest):
        """Upload a trips CSV: the good rows go in, the rest are listed for review."""
        if not request.user.has_perm("ledger.import_trips"):
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
                return HttpResponseRedirect(reverse("admin:ledger_tripimport_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import trips",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/ledger/dtr_trips/upload.html", context)


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
    return request.user.has_perm("ledger.void_drivertransactionreport")


@admin.register(DriverTransactionReport)
class DriverTransactionReportAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "dtr_number",
        "period",
        "lease",
        "driver",
        "status",
        "version",
        "card_earnings",
        "total_due_to_driver",
        "balance_carried_forward",
        "pdf_link",
    )
    list_filter = ("status", recent_periods_filter("period", "period"), LeaseNumberFilter, DriverFilter)
    search_fields = ("=dtr_number", "=lease__lease_number", "=driver__tlc_license_number", "driver__last_name")
    search_help_text = "DTR number, lease number or TLC license (exactly), or a driver's last name."
    list_select_related = ("lease", "driver")
    actions = ("void_selected",)

    def get_queryset(self, request):
        return dtr.dtr_detail().order_by(*(self.get_ordering(request) or ["-period", "-id"]))

    def get_changelist(self, request, **kwargs):
        return DtrChangeList

    @admin.display(description="PDF")
    def pdf_link(self, obj: DriverTransactionReport) -> str:
        url = reverse("admin:ledger_drivertransactionreport_pdf", args=[obj.pk])
        return format_html('<a href="{}">PDF</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="ledger_drivertransactionreport_pdf",
            ),
            path(
                "<int:object_id>/void/",
                self.admin_site.admin_view(self.void_view),
                name="ledger_drivertransactionreport_void",
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
            **dtr.statement_context(report),
            "title": f"{report.dtr_number} — {report.snapshot['driver']['name']}",
            "opts": self.opts,
            "original": report,
            "can_void": can_void_dtr(request) and report.status == DriverTransactionReport.Status.ISSUED,
        }
        return TemplateResponse(request, "admin/ledger/dtr/statement.html", context)

    def pdf_view(self, request: HttpRequest, object_id: int):
        report = self._report(request, object_id)
        response = HttpResponse(dtr.pdf_bytes(report), content_type="application/pdf")
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
                    reverse("admin:ledger_drivertransactionreport_change", args=[replacement.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Void {report.dtr_number}",
            "opts": self.opts,
            "original": report,
            "reports": [report],
            "form": form,
        }
        return TemplateResponse(request, "admin/ledger/dtr/void.html", context)

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
        return TemplateResponse(request, "admin/ledger/dtr/void.html", context)


class DtrChangeList(ChangeList):
    """The list leaves the snapshots (the large part of a DTR) in the database."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer("snapshot")
