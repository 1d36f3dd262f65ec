"""Reads of the dashboard (docs/rules.md, "The cockpit"): each figure is one query, whatever the
size of the fleet, so the page costs the same at 50 leases and at 10,000.

Every figure carries the admin list it comes from (`url`), filtered to the rows it counts: the
page is a way into the lists, never a second set of numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Count, Sum
from django.urls import NoReverseMatch, reverse

from batpay.cockpit import REVIEW_QUEUES
from batpay.money import ZERO
from batpay.periods import current_period, last_closed_period, next_period, periods_between, previous_period
from ledger import selectors as ledger_selectors
from ledger.categories import Category
from operations.models import JobRun
from operations.names import runnable_jobs
from plans.lifecycle import InstallmentStatus, PlanStatus
from plans.source import registered_sources

WEEKS_SHOWN = 12
# The ledger's words for what the dashboard reads (ledger.models: a balance's status, a receipt's kind).
OPEN = "OPEN"
EARNINGS = "EARNINGS"
INTERIM_PAYMENT = "INTERIM_PAYMENT"
TOP_ROWS = 10


def admin_list(model_label: str, **filters) -> str:
    """The admin list of `app_label.model_name`, filtered by the lookups given."""
    app_label, model_name = model_label.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def driver_account_url(driver_id: int) -> str:
    return reverse("admin:cockpit_driver_account", args=[driver_id])


# --- outstanding by category -------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryOutstanding:
    category: str
    label: str
    balances: int
    outstanding: Decimal
    url: str


def outstanding_by_category() -> list[CategoryOutstanding]:
    """What drivers owe now, per category in payment priority order (open balances only)."""
    rows = (
        ledger_selectors.balances()
        .filter(status=OPEN)
        .order_by()
        .values_list("category")
        .annotate(n=Count("id"), total=Sum("outstanding"))
    )
    found = {category: (n, total) for category, n, total in rows}
    return [
        CategoryOutstanding(
            category=category.value,
            label=category.label,
            balances=found[category.value][0],
            outstanding=found[category.value][1],
            url=admin_list("ledger.obligationbalance", category__exact=category.value, status__exact="OPEN"),
        )
        for category in Category
        if category.value in found
    ]


# --- money in (and, later, out) per week ----------------------------------------------------------


@dataclass(frozen=True)
class WeeklySeries:
    """One line of the weekly money chart. `totals(first, last)` → {period: amount} in one query;
    `url(period)` → the admin list behind one week's figure."""

    label: str
    totals: Callable[[dt.date, dt.date], dict[dt.date, Decimal]]
    url: Callable[[dt.date], str]
    permission: str
    css_class: str


def _receipts_per_period(kind: str) -> Callable[[dt.date, dt.date], dict[dt.date, Decimal]]:
    def totals(first: dt.date, last: dt.date) -> dict[dt.date, Decimal]:
        rows = (
            ledger_selectors.receipts()
            .filter(kind=kind, period__gte=first, period__lte=last)
            .order_by()
            .values_list("period")
            .annotate(total=Sum("amount"))
        )
        return dict(rows)

    return totals


def _receipts_list(kind: str) -> Callable[[dt.date], str]:
    return lambda period: admin_list("ledger.receipt", kind__exact=kind, period=period.isoformat())


# Money through the ledger per week. Each series reads one table by kind in one query: the payouts
# app adds its own (PAYOUT postings per period) with `WEEKLY_SERIES.append(...)` from its ready().
WEEKLY_SERIES: list[WeeklySeries] = [
    WeeklySeries(
        label="Card earnings",
        totals=_receipts_per_period(EARNINGS),
        url=_receipts_list(EARNINGS),
        permission="ledger.view_receipt",
        css_class="earnings",
    ),
    WeeklySeries(
        label="Cashier collections",
        totals=_receipts_per_period(INTERIM_PAYMENT),
        url=_receipts_list(INTERIM_PAYMENT),
        permission="ledger.view_receipt",
        css_class="collections",
    ),
]


@dataclass(frozen=True)
class SeriesValues:
    label: str
    css_class: str
    values: list[tuple[dt.date, Decimal, str]]  # (period, amount, url)

    @property
    def total(self) -> Decimal:
        return sum((amount for _, amount, _ in self.values), ZERO)


def weekly_money(*, user, weeks: int = WEEKS_SHOWN, today: dt.date | None = None) -> list[SeriesValues]:
    """The last `weeks` closed periods (the current one too, as it fills), per series the user may see."""
    last = current_period(today)
    first = last
    for _ in range(weeks - 1):
        first = previous_period(first)
    periods = list(periods_between(first, last))
    shown = []
    for series in WEEKLY_SERIES:
        if not user.has_perm(series.permission):
            continue
        found = series.totals(first, last)
        shown.append(
            SeriesValues(
                label=series.label,
                css_class=series.css_class,
                values=[(period, found.get(period, ZERO), series.url(period)) for period in periods],
            )
        )
    return shown


# --- installments due but not posted ---------------------------------------------------------------


@dataclass(frozen=True)
class Unposted:
    source: str
    label: str
    installments: int
    amount: Decimal
    url: str | None


def unposted_installments(*, user, today: dt.date | None = None) -> list[Unposted]:
    """Per plan source, the installments of OPEN plans due up to the last closed period that the
    Sunday job has not posted (SPEC §4's posting rule): anything here means a run was missed or failed."""
    period = last_closed_period(today)
    found = []
    for source in registered_sources():
        opts = source.installment_model._meta
        if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            continue
        totals = source.installment_model.objects.filter(
            status=InstallmentStatus.SCHEDULED, plan__status=PlanStatus.OPEN, period_start__lte=period
        ).aggregate(n=Count("id"), amount=Sum("amount"))
        try:
            url = admin_list(
                opts.label_lower,
                status__exact=InstallmentStatus.SCHEDULED,
                plan__status__exact=PlanStatus.OPEN,
                period_start__lt=next_period(period).isoformat(),
            )
        except NoReverseMatch:  # a source whose installments have no admin list of their own
            url = None
        found.append(
            Unposted(
                source=source.name,
                label=source.label,
                installments=totals["n"],
                amount=totals["amount"] or ZERO,
                url=url,
            )
        )
    return found


# --- the Sunday run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobState:
    job: str
    run: JobRun | None

    @property
    def ok(self) -> bool:
        return self.run is not None and self.run.status == JobRun.Status.SUCCEEDED

    @property
    def url(self) -> str:
        if self.run is None:
            return admin_list("operations.jobrun", job__exact=self.job)
        return reverse("admin:operations_jobrun_change", args=[self.run.pk])


def last_sunday_run(*, today: dt.date | None = None) -> tuple[dt.date, list[JobState]]:
    """The latest run of each scheduled job for the last closed period (the Sunday run's work)."""
    period = last_closed_period(today)
    jobs = runnable_jobs()
    latest = {
        run.job: run
        for run in JobRun.objects.filter(period=period, job__in=jobs)
        .order_by("job", "-started_at", "-id")
        .distinct("job")
    }
    return period, [JobState(job=job, run=latest.get(job)) for job in jobs]


# --- rows waiting for review -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFigure:
    label: str
    count: int
    url: str


def waiting_for_review(*, user) -> list[ReviewFigure]:
    return [
        ReviewFigure(label=queue.label, count=queue.count(), url=queue.url())
        for queue in REVIEW_QUEUES
        if user.has_perm(queue.permission)
    ]


# --- drivers: a negative week, the largest arrears ------------------------------------------------------


@dataclass(frozen=True)
class DriverFigure:
    driver_id: int
    name: str
    tlc_license_number: str
    amount: Decimal

    @property
    def url(self) -> str:
        return driver_account_url(self.driver_id)


@dataclass
class DriverList:
    count: int
    amount: Decimal
    url: str
    rows: list[DriverFigure] = field(default_factory=list)


def negative_net(*, today: dt.date | None = None, limit: int = TOP_ROWS) -> tuple[dt.date, DriverList]:
    """Drivers whose issued DTR of the last closed period has a negative net (deductions larger than
    card earnings): what they still owe grows. The most negative first; the count is of all."""
    period = last_closed_period(today)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT x.driver_id, d.first_name || ' ' || d.last_name, d.tlc_license_number, x.net,
                   count(*) OVER (), sum(x.net) OVER ()
            FROM (SELECT t.driver_id, SUM(t.card_earnings - t.subtotal_of_deductions) AS net
                  FROM ledger_drivertransactionreport t
                  WHERE t.period = %s AND t.status = 'ISSUED'
                  GROUP BY t.driver_id
                  HAVING SUM(t.card_earnings - t.subtotal_of_deductions) < 0) x
            JOIN leases_driver d ON d.id = x.driver_id
            ORDER BY x.net, x.driver_id
            LIMIT %s
            """,
            [period, limit],
        )
        rows = cursor.fetchall()
    url = admin_list(
        "statements.drivertransactionreport", period=period.isoformat(), status__exact="ISSUED", net="negative"
    )
    found = DriverList(count=rows[0][4] if rows else 0, amount=rows[0][5] if rows else ZERO, url=url)
    found.rows = [DriverFigure(row[0], row[1], row[2], row[3]) for row in rows]
    return period, found


def largest_arrears(*, today: dt.date | None = None, limit: int = TOP_ROWS) -> tuple[dt.date, DriverList]:
    """Drivers who owe the most on balances due before the current period (past due), with how many
    drivers are past due at all and how much."""
    period = current_period(today)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT x.driver_id, d.first_name || ' ' || d.last_name, d.tlc_license_number, x.owed,
                   count(*) OVER (), sum(x.owed) OVER ()
            FROM (SELECT b.driver_id, SUM(b.outstanding) AS owed
                  FROM ledger_obligationbalance b
                  WHERE b.status = 'OPEN' AND b.due_period < %s
                  GROUP BY b.driver_id) x
            JOIN leases_driver d ON d.id = x.driver_id
            ORDER BY x.owed DESC, x.driver_id
            LIMIT %s
            """,
            [period, limit],
        )
        rows = cursor.fetchall()
    url = admin_list("ledger.obligationbalance", status__exact="OPEN", due_period__lt=period.isoformat())
    found = DriverList(count=rows[0][4] if rows else 0, amount=rows[0][5] if rows else ZERO, url=url)
    found.rows = [DriverFigure(row[0], row[1], row[2], row[3]) for row in rows]
    return period, found


# --- the page ----------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    today: dt.date
    outstanding: list[CategoryOutstanding] | None = None
    weekly: list[SeriesValues] | None = None
    unposted: list[Unposted] | None = None
    sunday_period: dt.date | None = None
    sunday_run: list[JobState] | None = None
    review: list[ReviewFigure] | None = None
    negative_period: dt.date | None = None
    negative: DriverList | None = None
    arrears_period: dt.date | None = None
    arrears: DriverList | None = None

    @property
    def total_outstanding(self) -> Decimal:
        return sum((row.outstanding for row in self.outstanding or []), ZERO)


def dashboard(*, user, today: dt.date) -> Dashboard:
    """The figures `user`'s role needs: each panel is shown to those who may open the list behind it
    (a Cashier sees balances, arrears and collections; Finance also the plans, the Sunday run and
    the rows waiting for review; Managers and Controllers everything)."""
    page = Dashboard(today=today)
    if user.has_perm("ledger.view_obligationbalance"):
        page.outstanding = outstanding_by_category()
        page.arrears_period, page.arrears = largest_arrears(today=today)
    page.weekly = weekly_money(user=user, today=today) or None
    page.unposted = unposted_installments(user=user, today=today) or None
    if user.has_perm("operations.view_jobrun"):
        page.sunday_period, page.sunday_run = last_sunday_run(today=today)
    page.review = waiting_for_review(user=user) or None
    if user.has_perm("statements.view_drivertransactionreport"):
        page.negative_period, page.negative = negative_net(today=today)
    return page
