"""Reads of a driver's account (docs/rules.md, "The cockpit"): what they owe by category and age,
their plans with what is paid and outstanding, their receipts and DTRs, money held for them, and a
statement for any date range from as-of reads of the ledger. A fixed number of queries per page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q, Sum
from django.urls import NoReverseMatch, reverse

from batpay.cockpit import ACCOUNT_HOLDINGS
from batpay.money import ZERO
from leases.models import Lease
from ledger import selectors as ledger_selectors
from ledger.categories import Category
from plans.source import registered_sources
from statements.models import DriverTransactionReport

RECENT_ROWS = 20

# Days past the due period's Sunday: (label, first day, last day or None for no end).
AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–7 days", 0, 7),
    ("8–30 days", 8, 30),
    ("31–60 days", 31, 60),
    ("61–90 days", 61, 90),
    ("90+ days", 91, None),
)
BUCKET_KEYS = ("days_0_7", "days_8_30", "days_31_60", "days_61_90", "days_90_plus")


@dataclass(frozen=True)
class AgedCategory:
    category: str
    label: str
    buckets: tuple[Decimal, ...]  # one per AGEING_BUCKETS
    outstanding: Decimal


def _bucket_sql() -> str:
    cases = []
    for _, first, last in AGEING_BUCKETS:
        age = "(%(today)s::date - b.due_period)"
        test = f"{age} >= {first}" if last is None else f"{age} BETWEEN {first} AND {last}"
        if first == 0:  # a charge due in a future week (a lease prepaid ahead) is not late at all
            test = f"{age} <= {last}"
        cases.append(f"COALESCE(SUM(b.outstanding) FILTER (WHERE {test}), 0)")
    return ", ".join(cases)


def aged_balances(*, driver_id: int, lease_id: int | None = None, today: dt.date) -> list[AgedCategory]:
    """Open balances per category (payment priority order) split by how long ago their period began."""
    lease_test = "AND b.lease_id = %(lease)s" if lease_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT b.category, {_bucket_sql()}, SUM(b.outstanding)
            FROM ledger_obligationbalance b
            WHERE b.driver_id = %(driver)s AND b.status = 'OPEN' {lease_test}
            GROUP BY b.category, b.priority
            ORDER BY b.priority
            """,
            {"driver": driver_id, "lease": lease_id, "today": today},
        )
        rows = cursor.fetchall()
    labels = dict(Category.choices)
    return [
        AgedCategory(category=row[0], label=labels.get(row[0], row[0]), buckets=tuple(row[1:-1]), outstanding=row[-1])
        for row in rows
    ]


@dataclass(frozen=True)
class PlanLine:
    source: str
    label: str
    plan_id: str
    lease_number: str
    status: str
    total: Decimal  # Σ its installments (cancelled ones left out)
    paid: Decimal  # what receipts paid on its posted installments, net of voided payments
    outstanding: Decimal  # total − paid: posted and still open, plus what is not posted yet
    admin_url: str | None


def plans_of(*, driver_id: int, lease_id: int | None = None) -> list[PlanLine]:
    """Every plan of the driver, per source (one query per registered source), newest first."""
    lines: list[PlanLine] = []
    for source in registered_sources():
        plan_table = source.plan_model._meta.db_table
        installment_table = source.installment_model._meta.db_table
        id_column = source.plan_model._meta.get_field(source.plan_model.plan_id_field).column
        lease_test = "AND p.lease_id = %(lease)s" if lease_id is not None else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT p.id, p.{id_column}, l.lease_number, p.status,
                       COALESCE(SUM(i.amount) FILTER (WHERE i.status <> 'CANCELLED'), 0),
                       COALESCE(SUM(b.original_amount - b.outstanding) FILTER (WHERE i.status <> 'CANCELLED'), 0)
                FROM {plan_table} p
                JOIN leases_lease l ON l.id = p.lease_id
                LEFT JOIN {installment_table} i ON i.plan_id = p.id
                LEFT JOIN ledger_obligationbalance b
                       ON b.category = %(category)s AND b.source_reference = i.installment_id
                WHERE p.driver_id = %(driver)s {lease_test}
                GROUP BY p.id, l.lease_number
                ORDER BY p.created_at DESC, p.id DESC
                """,
                {"driver": driver_id, "lease": lease_id, "category": source.category},
            )
            rows = cursor.fetchall()
        opts = source.plan_model._meta
        statuses = dict(source.plan_model._meta.get_field("status").choices)
        for pk, plan_id, lease_number, status, total, paid in rows:
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            except NoReverseMatch:
                url = None
            lines.append(
                PlanLine(
                    source=source.name,
                    label=source.label,
                    plan_id=plan_id,
                    lease_number=lease_number,
                    status=statuses.get(status, status),
                    total=total,
                    paid=paid,
                    outstanding=total - paid,
                    admin_url=url,
                )
            )
    return lines


@dataclass(frozen=True)
class Holding:
    label: str
    amount: Decimal


def holdings(*, user, driver_id: int, lease_id: int | None = None) -> list[Holding]:
    """Money held for the driver that registered apps report (batpay.cockpit.ACCOUNT_HOLDINGS)."""
    found = []
    for holding in ACCOUNT_HOLDINGS:
        if user is not None and not user.has_perm(holding.permission):
            continue
        amounts = holding.amounts(driver_id)
        amount = amounts.get(lease_id, ZERO) if lease_id is not None else sum(amounts.values(), ZERO)
        found.append(Holding(label=holding.label, amount=amount))
    return found


@dataclass
class Account:
    driver: object
    lease: object | None
    today: dt.date
    leases: list
    ageing: list[AgedCategory]
    plans: list[PlanLine]
    receipts: list
    dtrs: list
    credit_waiting: Decimal
    held: list[Holding] = field(default_factory=list)

    @property
    def outstanding(self) -> Decimal:
        return sum((row.outstanding for row in self.ageing), ZERO)

    @property
    def bucket_totals(self) -> tuple[Decimal, ...]:
        return tuple(sum((row.buckets[i] for row in self.ageing), ZERO) for i in range(len(AGEING_BUCKETS)))


def account(*, driver, lease=None, today: dt.date, user=None) -> Account:
    """A driver's account (or one lease's part of it) as it stands today."""
    lease_id = lease.pk if lease is not None else None
    leases = list(
        Lease.objects.filter(pk__in=lease_ids_of(driver.pk))
        .select_related("medallion", "vehicle")
        .order_by("-start_date", "lease_number")
    )
    receipts = ledger_selectors.receipts().filter(driver_id=driver.pk).order_by("-received_on", "-id")
    dtrs = (
        DriverTransactionReport.objects.filter(driver_id=driver.pk)
        .select_related("lease")
        .order_by("-period", "-version")
    )
    credit = ledger_selectors.receipts().filter(driver_id=driver.pk, unapplied__gt=0).exclude(kind="EARNINGS")
    if lease_id is not None:
        receipts, dtrs, credit = (
            receipts.filter(lease_id=lease_id),
            dtrs.filter(lease_id=lease_id),
            credit.filter(lease_id=lease_id),
        )
    return Account(
        driver=driver,
        lease=lease,
        today=today,
        leases=leases,
        ageing=aged_balances(driver_id=driver.pk, lease_id=lease_id, today=today),
        plans=plans_of(driver_id=driver.pk, lease_id=lease_id),
        receipts=list(receipts[:RECENT_ROWS]),
        dtrs=list(dtrs[:RECENT_ROWS]),
        credit_waiting=credit.aggregate(total=Sum("unapplied"))["total"] or ZERO,
        held=holdings(user=user, driver_id=driver.pk, lease_id=lease_id),
    )


def lease_ids_of(driver_id: int):
    return Lease.objects.filter(Q(primary_driver_id=driver_id) | Q(additional_drivers__id=driver_id)).values("id")


# --- a statement for a date range ------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    effective_date: dt.date
    category: str
    description: str
    reference: str
    lease_number: str
    charge: Decimal
    payment: Decimal
    balance: Decimal  # what the driver owes after this line


@dataclass
class Statement:
    driver: object
    lease: object | None
    date_from: dt.date
    date_to: dt.date
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal
    closing_by_category: list[ledger_selectors.CategoryPosition] = field(default_factory=list)

    @property
    def charges(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def payments(self) -> Decimal:
        return sum((line.payment for line in self.lines), ZERO)


def statement(*, driver, date_from: dt.date, date_to: dt.date, lease=None) -> Statement:
    """What the driver owed at the end of the day before `date_from` (from postings effective by then),
    every posting on their balances effective in the range, and what they owed at the end of
    `date_to` — so a statement printed today for a past range reads what it would have read then,
    later postings excepted by their effective dates (ledger/effective.py)."""
    if date_to < date_from:
        raise ValueError("the statement's end is before its start")
    lease_id = lease.pk if lease is not None else None
    opening_rows = ledger_selectors.balances_as_of(
        as_of=date_from - dt.timedelta(days=1), driver_id=driver.pk, lease_id=lease_id
    )
    opening = sum((row.outstanding for row in opening_rows), ZERO)
    lease_test = "AND p.lease_id = %(lease)s" if lease_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.effective_date, p.category, p.description, b.source_reference, l.lease_number,
                   CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE 0 END,
                   CASE p.entry_type WHEN 'CREDIT' THEN p.amount ELSE 0 END
            FROM ledger_posting p
            JOIN ledger_obligationbalance b ON b.id = p.obligation_id
            JOIN leases_lease l ON l.id = p.lease_id
            WHERE p.driver_id = %(driver)s AND p.effective_date BETWEEN %(start)s AND %(end)s {lease_test}
            ORDER BY p.effective_date, p.id
            """,
            {"driver": driver.pk, "lease": lease_id, "start": date_from, "end": date_to},
        )
        rows = cursor.fetchall()
    lines, running = [], opening
    for effective, category, description, reference, lease_number, charge, payment in rows:
        running = running + charge - payment
        lines.append(StatementLine(effective, category, description, reference, lease_number, charge, payment, running))
    positions = ledger_selectors.driver_position_as_of(driver_id=driver.pk, as_of=date_to)
    categories = [c for p in positions if lease_id is None or p.lease_id == lease_id for c in p.categories]
    return Statement(
        driver=driver,
        lease=lease,
        date_from=date_from,
        date_to=date_to,
        opening=opening,
        lines=lines,
        closing=running,
        closing_by_category=categories,
    )
