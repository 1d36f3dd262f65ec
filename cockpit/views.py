"""The cockpit's admin pages. They read through cockpit.selectors and cockpit.account and write nothing."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from batpay.pdf import pdf_response, render_pdf
from batpay.periods import DateFormField, current_period
from cockpit import account as accounts
from cockpit import charts, selectors
from leases.models import Driver, Lease

ACCOUNT_PERMISSION = "ledger.view_obligationbalance"


def dashboard(site, request: HttpRequest, extra_context=None):
    today = timezone.localdate()
    page = selectors.dashboard(user=request.user, today=today)
    each = site.each_context(request)
    context = {
        **each,
        "title": "Dashboard",
        "subtitle": None,
        "app_list": each["available_apps"],  # built once: each_context already lists the apps
        "page": page,
        "category_chart": charts.category_bars(page.outstanding) if page.outstanding else "",
        "weekly_chart": charts.weekly_bars(page.weekly) if page.weekly else "",
        "can_record_payment": request.user.has_perm("ledger.record_interim_payment"),
        "can_add_repair": request.user.has_perm("repairs.add_repairinvoice"),
        "can_add_loan": request.user.has_perm("loans.add_loan"),
        "can_import_trips": request.user.has_perm("statements.import_trips"),
        "can_run_jobs": request.user.has_perm("operations.run_jobrun"),
        "can_void": request.user.has_perm("ledger.void_posting"),
        **(extra_context or {}),
    }
    request.current_app = site.name
    return TemplateResponse(request, "cockpit/dashboard.html", context)


def _account_context(site, request, *, driver: Driver, lease: Lease | None) -> dict:
    today = timezone.localdate()
    found = accounts.account(driver=driver, lease=lease, today=today, user=request.user)
    pay_query = {"driver": driver.pk}
    if lease is not None:
        pay_query["lease"] = lease.pk
    elif len(found.leases) == 1:
        pay_query["lease"] = found.leases[0].pk
    week = current_period(today)
    return {
        **site.each_context(request),
        "title": f"Account of {driver.full_name}" + (f" · lease {lease.lease_number}" if lease else ""),
        "account": found,
        "buckets": [label for label, _, _ in accounts.AGEING_BUCKETS],
        "pay_url": reverse("admin:ledger_receipt_interim_payment") + "?" + urlencode(pay_query),
        "can_record_payment": request.user.has_perm("ledger.record_interim_payment"),
        "statement_form": StatementForm(
            driver=driver,
            initial={"date_from": week - dt.timedelta(days=28), "date_to": today, "lease": lease},
        ),
        "statement_url": reverse("admin:cockpit_driver_statement", args=[driver.pk]),
    }


def _allowed(request: HttpRequest) -> None:
    if not request.user.has_perm(ACCOUNT_PERMISSION):
        raise PermissionDenied


def driver_account(site, request: HttpRequest, pk: int):
    _allowed(request)
    driver = Driver.objects.filter(pk=pk).first()
    if driver is None:
        raise Http404(f"No driver with id {pk}.")
    return TemplateResponse(request, "cockpit/account.html", _account_context(site, request, driver=driver, lease=None))


def lease_account(site, request: HttpRequest, pk: int):
    _allowed(request)
    lease = Lease.objects.select_related("primary_driver").filter(pk=pk).first()
    if lease is None:
        raise Http404(f"No lease with id {pk}.")
    return TemplateResponse(
        request, "cockpit/account.html", _account_context(site, request, driver=lease.primary_driver, lease=lease)
    )


class StatementForm(forms.Form):
    date_from = DateFormField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = DateFormField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    lease = forms.ModelChoiceField(queryset=Lease.objects.none(), required=False, empty_label="All leases")

    def __init__(self, *args, driver: Driver, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lease"].queryset = Lease.objects.filter(pk__in=accounts.lease_ids_of(driver.pk)).order_by(
            "lease_number"
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", f"The statement ends ({end}) before it starts ({start}).")
        if end and end > timezone.localdate():
            self.add_error("date_to", f"{end} is in the future; a statement reads what is posted.")
        return cleaned


def driver_statement(site, request: HttpRequest, pk: int):
    """GET with dates: the statement as a PDF; without (or with a wrong one): the form, errors on it."""
    _allowed(request)
    driver = Driver.objects.filter(pk=pk).first()
    if driver is None:
        raise Http404(f"No driver with id {pk}.")
    form = StatementForm(request.GET or None, driver=driver)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        found = accounts.statement(
            driver=driver, date_from=data["date_from"], date_to=data["date_to"], lease=data["lease"]
        )
        content = render_pdf("cockpit/statement.html", {"statement": found, "printed_at": timezone.localtime()})
        name = f"statement-{driver.tlc_license_number}-{data['date_from']:%Y%m%d}-{data['date_to']:%Y%m%d}.pdf"
        return pdf_response(content, name)
    context = {
        **site.each_context(request),
        "title": f"Statement of {driver.full_name}",
        "driver": driver,
        "statement_form": form,
        "statement_url": reverse("admin:cockpit_driver_statement", args=[driver.pk]),
        "account_url": reverse("admin:cockpit_driver_account", args=[driver.pk]),
    }
    return TemplateResponse(request, "cockpit/statement_form.html", context)
