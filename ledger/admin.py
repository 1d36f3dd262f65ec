"""The ledger in the Django admin: read-only lists and pages, and two screens that write through
ledger.services like the API does — voiding postings (Controllers) and interim payments (Cashiers).

Nothing here creates, changes or deletes a ledger row itself (SPEC §3).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from batpay.errors import DomainError
from batpay.lists import ExportAdminMixin, ListTotalsMixin
from batpay.money import ZERO, to_money
from batpay.pdf import pdf_response, render_pdf
from batpay.periods import parse_period, period_end
from leases.models import Driver
from leases.selectors import driver_search
from ledger import selectors, services
from ledger.exports import BALANCE_COLUMNS, POSTING_COLUMNS, RECEIPT_COLUMNS, REFUND_COLUMNS
from ledger.forms import (
    ApplyCreditForm,
    ChooseLeaseForm,
    InterimPaymentForm,
    RefundCreditForm,
    VoidReasonForm,
    leases_of_driver,
)
from ledger.models import EntryType, ObligationBalance, Posting, Receipt, Refund

RECENT_PERIODS = 12
DRIVERS_FOUND = 10  # the cashier's type-ahead offers this many drivers at most

DRIVER_AND_LEASE_SEARCH = (
    "driver__first_name",
    "driver__last_name",
    "driver__tlc_license_number",
    "lease__lease_number",
)


def admin_link(model_name: str, pk: int | None, text: str | None = None, *, app: str = "ledger") -> str:
    if pk is None:
        return "—"
    url = reverse(f"admin:{app}_{model_name}_change", args=[pk])
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


class PeopleLinks:
    """The driver and the lease of a row as links to their pages."""

    @admin.display(description="driver", ordering="driver__last_name")
    def driver_link(self, obj) -> str:
        return admin_link("driver", obj.driver_id, obj.driver.full_name if obj.driver_id else None, app="leases")

    @admin.display(description="lease", ordering="lease__lease_number")
    def lease_link(self, obj) -> str:
        return admin_link("lease", obj.lease_id, obj.lease.lease_number if obj.lease_id else None, app="leases")


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


# The totals row under a ledger list sums every filtered row: over a whole ledger (millions of
# postings) that is a full scan on each page view. It shows once the filters bring the list to
# at most this many rows; the bound itself is a LIMITed count.
LIST_TOTALS_MAX_ROWS = 50_000


class BoundedListTotals(ListTotalsMixin):
    def list_totals_of(self, queryset):
        if not _within_totals_bound(queryset):
            return {}
        return super().list_totals_of(queryset)


def _within_totals_bound(queryset) -> bool:
    return queryset.order_by()[: LIST_TOTALS_MAX_ROWS + 1].count() <= LIST_TOTALS_MAX_ROWS


@admin.register(Posting)
class PostingAdmin(PostingLinks, PeopleLinks, BoundedListTotals, ExportAdminMixin, ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "created_at",
        "category",
        "debit",
        "credit",
        "status",
        "driver_link",
        "lease_link",
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
    export_columns = POSTING_COLUMNS
    export_title = "Ledger postings"
    export_basename = "postings"

    def get_queryset(self, request):
        return selectors.postings_with_reversal().order_by(*(self.get_ordering(request) or ["-id"]))

    def export_rows(self, queryset):
        return queryset.select_related("driver", "lease", "obligation")

    @admin.display(description="debit", ordering="amount")
    def debit(self, obj: Posting) -> str:
        return f"{obj.amount:,.2f}" if obj.entry_type == EntryType.DEBIT else ""

    @admin.display(description="credit", ordering="amount")
    def credit(self, obj: Posting) -> str:
        return f"{obj.amount:,.2f}" if obj.entry_type == EntryType.CREDIT else ""

    def list_totals_of(self, queryset):
        if not _within_totals_bound(queryset):
            return {}
        sums = queryset.order_by().aggregate(
            debit=Sum("amount", filter=Q(entry_type=EntryType.DEBIT)),
            credit=Sum("amount", filter=Q(entry_type=EntryType.CREDIT)),
        )
        return {name: to_money(value or ZERO) for name, value in sums.items()}

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
class ObligationBalanceAdmin(PeopleLinks, BoundedListTotals, ExportAdminMixin, ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "category",
        "source_reference",
        "driver_link",
        "lease_link",
        "due_period",
        "original_amount",
        "outstanding",
        "status",
        "postings_link",
    )
    list_totals = ("original_amount", "outstanding")
    export_columns = BALANCE_COLUMNS
    export_title = "Obligation balances"
    export_basename = "balances"
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


class CreditWaitingFilter(admin.SimpleListFilter):
    title = "credit"
    parameter_name = "credit"

    def lookups(self, request, model_admin):
        return [
            ("waiting", "Credit waiting"),
            ("ended", "Credit waiting on an ended lease"),
        ]

    def queryset(self, request, queryset):
        if self.value() not in ("waiting", "ended"):
            return queryset
        credit = queryset.exclude(kind=Receipt.Kind.EARNINGS).filter(unapplied__gt=0)
        if self.value() == "ended":
            credit = credit.filter(lease__status__in=["TERMINATED", "EXPIRED", "CANCELLED"])
        return credit


def can_use_credit(request: HttpRequest) -> bool:
    return request.user.has_perm("ledger.apply_credit") or request.user.has_perm("ledger.refund_credit")


@admin.register(Refund)
class RefundAdmin(PeopleLinks, BoundedListTotals, ExportAdminMixin, ReadOnlyLedgerAdmin):
    list_totals = ("amount",)
    export_columns = REFUND_COLUMNS
    export_title = "Refunds"
    export_basename = "refunds"
    list_display = (
        "id",
        "driver_link",
        "lease_link",
        "amount",
        "method",
        "reference",
        "refunded_on",
        "receipt_link",
        "created_by",
    )
    list_filter = ("method", "refunded_on")
    search_fields = (*DRIVER_AND_LEASE_SEARCH, "reference", "reason")
    search_help_text = "Driver name or TLC license, lease number, reference or reason."
    date_hierarchy = "refunded_on"
    list_select_related = ("driver", "lease", "created_by")
    readonly_fields = ("receipt_link",)

    def get_queryset(self, request):
        return selectors.refunds().order_by(*(self.get_ordering(request) or ["-id"]))

    @admin.display(description="receipt")
    def receipt_link(self, obj: Refund) -> str:
        return admin_link("receipt", obj.receipt_id)


@admin.register(Receipt)
class ReceiptAdmin(PeopleLinks, BoundedListTotals, ExportAdminMixin, ReadOnlyLedgerAdmin):
    list_totals = ("amount", "unapplied")
    export_columns = RECEIPT_COLUMNS
    export_title = "Receipts"
    export_basename = "receipts"
    list_display = (
        "id",
        "kind",
        "method",
        "driver_link",
        "lease_link",
        "period",
        "received_on",
        "amount",
        "unapplied",
        "created_by",
        "created_at",
        "postings_link",
    )
    list_filter = ("kind", "method", CreditWaitingFilter, period_filter("period", "period"))
    search_fields = (*DRIVER_AND_LEASE_SEARCH, "idempotency_key", "note")
    search_help_text = "Driver name or TLC license, lease number, idempotency key or note."
    date_hierarchy = "received_on"
    list_select_related = ("driver", "lease", "created_by")
    readonly_fields = ("postings_link", "credit_link")
    fieldsets = (
        (None, {"fields": ("kind", "method", "amount", "unapplied", "credit_link", "period", "received_on", "note")}),
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

    @admin.display(description="credit")
    def credit_link(self, obj: Receipt) -> str:
        if obj.kind == Receipt.Kind.EARNINGS or obj.unapplied <= 0:
            return "—"
        url = reverse("admin:ledger_receipt_credit", args=[obj.pk])
        return format_html('{} waiting · <a href="{}">Apply or refund this credit…</a>', obj.unapplied, url)

    def get_urls(self):
        return [
            path(
                "interim-payment/",
                self.admin_site.admin_view(self.interim_payment_view),
                name="ledger_receipt_interim_payment",
            ),
            path(
                "interim-payment/drivers/",
                self.admin_site.admin_view(self.driver_search_view),
                name="ledger_receipt_driver_search",
            ),
            path("<int:pk>/credit/", self.admin_site.admin_view(self.credit_view), name="ledger_receipt_credit"),
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.receipt_pdf_view), name="ledger_receipt_pdf"),
            *super().get_urls(),
        ]

    def credit_view(self, request: HttpRequest, pk: int):
        """A Controller's page for credit nothing will consume: apply it to a balance, or refund it."""
        if not can_use_credit(request):
            raise PermissionDenied
        receipt = selectors.receipts().filter(pk=pk).first()
        if receipt is None:
            raise Http404(f"Receipt {pk} does not exist.")
        posted = request.POST if request.method == "POST" else None
        which = request.POST.get("do") if posted else None
        apply_form = ApplyCreditForm(posted if which == "apply" else None, receipt=receipt)
        refund_form = RefundCreditForm(posted if which == "refund" else None)
        form = {"apply": apply_form, "refund": refund_form}.get(which)
        if form is not None and form.is_valid():
            data = form.cleaned_data
            try:
                if which == "apply":
                    if not request.user.has_perm("ledger.apply_credit"):
                        raise PermissionDenied
                    posting = services.apply_credit(
                        receipt_id=receipt.pk,
                        balance_id=data["balance"].pk,
                        amount=data["amount"],
                        reason=data["reason"],
                        actor=request.user,
                    )
                    done = format_html(
                        "Applied {} of receipt {} to balance {}.",
                        posting.amount,
                        admin_link("receipt", receipt.pk),
                        admin_link("obligationbalance", posting.obligation_id),
                    )
                else:
                    if not request.user.has_perm("ledger.refund_credit"):
                        raise PermissionDenied
                    refund = services.refund_credit(
                        receipt_id=receipt.pk,
                        amount=data["amount"],
                        method=data["method"],
                        reference=data["reference"],
                        refunded_on=data["refunded_on"],
                        reason=data["reason"],
                        actor=request.user,
                    )
                    done = format_html(
                        "Refunded {} of receipt {} by {} ({}).",
                        refund.amount,
                        admin_link("receipt", receipt.pk),
                        refund.get_method_display(),
                        refund.reference,
                    )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:ledger_receipt_change", args=[receipt.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credit of receipt #{receipt.pk}",
            "opts": self.opts,
            "receipt": receipt,
            "apply_form": apply_form,
            "refund_form": refund_form,
            "can_apply": request.user.has_perm("ledger.apply_credit"),
            "can_refund": request.user.has_perm("ledger.refund_credit"),
        }
        return TemplateResponse(request, "admin/ledger/receipt/credit.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_record_interim_payment": can_record_interim_payment(request)}
        return super().changelist_view(request, extra_context)

    def driver_search_view(self, request: HttpRequest):
        """The cashier's type-ahead: drivers whose name or TLC licence matches, each with their leases."""
        if not can_record_interim_payment(request):
            raise PermissionDenied
        text = request.GET.get("q", "").strip()
        found = driver_search(Driver.objects.all(), text).order_by("last_name", "first_name", "id")
        drivers = list(found[:DRIVERS_FOUND]) if text else []
        leases: dict[int, list[dict]] = {driver.pk: [] for driver in drivers}
        for driver in drivers:
            for lease in leases_of_driver(driver.pk):
                leases[driver.pk].append(
                    {"id": lease.pk, "lease_number": lease.lease_number, "status": lease.get_status_display()}
                )
        return JsonResponse(
            {
                "drivers": [
                    {
                        "id": driver.pk,
                        "name": driver.full_name,
                        "tlc_license_number": driver.tlc_license_number,
                        "leases": leases[driver.pk],
                    }
                    for driver in drivers
                ]
            }
        )

    def receipt_pdf_view(self, request: HttpRequest, pk: int):
        """A printable receipt: what was received, from whom, and what it paid."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        receipt = selectors.receipts().filter(pk=pk).first()
        if receipt is None:
            raise Http404(f"Receipt {pk} does not exist.")
        postings = list(selectors.postings_with_reversal().filter(receipt_id=receipt.pk).order_by("id"))
        content = render_pdf(
            "ledger/receipt.html",
            {
                "receipt": receipt,
                "postings": postings,
                "applied": receipt.amount - receipt.unapplied,
                "credit": selectors.prepayment_credit(driver_id=receipt.driver_id, lease_id=receipt.lease_id),
                "printed_at": timezone.localtime(),
            },
        )
        return pdf_response(content, f"receipt-{receipt.pk}.pdf")

    def interim_payment_view(self, request: HttpRequest):
        """The cashier's window: find the driver, choose the lease, then the amount and what it pays."""
        if not can_record_interim_payment(request):
            raise PermissionDenied
        choose = ChooseLeaseForm(request.GET if {"driver", "lease"} & set(request.GET) else None)
        find = request.GET.get("find", "").strip()
        context = {
            **self.admin_site.each_context(request),
            "title": "Record an interim payment",
            "opts": self.opts,
            "choose_form": choose,
            "find": find,
            "found_drivers": (
                list(driver_search(Driver.objects.all(), find).order_by("last_name", "first_name")[:DRIVERS_FOUND])
                if find and not choose.is_bound
                else []
            ),
        }
        template = "admin/ledger/receipt/interim_payment.html"
        if not choose.is_bound or not choose.is_valid():
            if choose.is_bound and choose.cleaned_data.get("driver"):
                context["chosen_driver"] = choose.cleaned_data["driver"]
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
                form.add_service_error(exc.message)
            else:
                credit = selectors.prepayment_credit(driver_id=driver.pk, lease_id=lease.pk)
                self.message_user(
                    request,
                    format_html(
                        "Recorded receipt {} of {} from {} on lease {}. Applied {}; the lease's prepayment "
                        'credit is now {}. <a href="{}" id="receipt-pdf" target="_blank">Print the receipt (PDF)</a>',
                        admin_link("receipt", receipt.pk),
                        receipt.amount,
                        driver.full_name,
                        lease.lease_number,
                        receipt.amount - receipt.unapplied,
                        credit,
                        reverse("admin:ledger_receipt_pdf", args=[receipt.pk]),
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
