"""Reads of the ledger. Balances as of a date are computed from postings, never from a copy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Case, DecimalField, F, Prefetch, QuerySet, Sum, When

from batpay.money import ZERO
from ledger.models import EntryType, ObligationBalance, Posting, Receipt, Refund


@dataclass(frozen=True)
class BalanceView:
    balance_id: int
    category: str
    source_reference: str
    original_amount: Decimal
    outstanding: Decimal
    status: str
    voided: bool  # the charge itself was voided (reversed): nothing is owed and nothing was paid

    @property
    def paid(self) -> Decimal:
        return ZERO if self.voided else self.original_amount - self.outstanding


def obligation_balances(*, category: str, source_references: Iterable[str]) -> dict[str, BalanceView]:
    """The current balance of each posted source reference of a category, keyed by reference."""
    references = list(source_references)
    if not references:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.id, b.category, b.source_reference, b.original_amount, b.outstanding, b.status,
                   EXISTS (SELECT 1 FROM ledger_posting p
                           WHERE p.obligation_id = b.id AND p.entry_type = 'DEBIT'
                             AND p.reverses_id IS NULL AND p.receipt_id IS NULL AND p.status = 'VOIDED')
            FROM ledger_obligationbalance b
            WHERE b.category = %s AND b.source_reference = ANY(%s)
            """,
            [category, references],
        )
        return {row[2]: BalanceView(*row) for row in cursor.fetchall()}


@dataclass(frozen=True)
class BalanceAsOf:
    balance_id: int
    category: str
    source_reference: str
    due_period: dt.date
    charged: Decimal
    paid: Decimal
    outstanding: Decimal


def balances_as_of(
    *, as_of: dt.date, driver_id: int | None = None, lease_id: int | None = None, include_closed: bool = False
) -> list[BalanceAsOf]:
    """Each obligation's position at the end of `as_of`, from postings effective on or before it.

    `charged` is net debits (charges, less voided charges, plus reopened payments), `paid` net
    credits; outstanding = charged − paid. Rows come in payment priority order.
    """
    if driver_id is None and lease_id is None:
        raise ValueError("balances_as_of needs a driver or a lease")
    conditions = ["p.effective_date <= %(as_of)s"]
    if driver_id is not None:
        conditions.append("p.driver_id = %(driver)s")
    if lease_id is not None:
        conditions.append("p.lease_id = %(lease)s")
    having = (
        "" if include_closed else "HAVING SUM(CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE -p.amount END) <> 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT b.id, b.category, b.source_reference, b.due_period,
                   COALESCE(SUM(p.amount) FILTER (WHERE p.entry_type = 'DEBIT'), 0),
                   COALESCE(SUM(p.amount) FILTER (WHERE p.entry_type = 'CREDIT'), 0),
                   SUM(CASE p.entry_type WHEN 'DEBIT' THEN p.amount ELSE -p.amount END)
            FROM ledger_posting p JOIN ledger_obligationbalance b ON b.id = p.obligation_id
            WHERE {" AND ".join(conditions)}
            GROUP BY b.id
            {having}
            ORDER BY b.priority, b.due_period, b.id
            """,
            {"as_of": as_of, "driver": driver_id, "lease": lease_id},
        )
        return [BalanceAsOf(*row) for row in cursor.fetchall()]


def open_balances(*, driver_id: int, lease_id: int) -> QuerySet[ObligationBalance]:
    """What a cashier can allocate to, in the order earnings would pay it."""
    return ObligationBalance.objects.filter(
        driver_id=driver_id, lease_id=lease_id, status=ObligationBalance.Status.OPEN
    ).order_by("priority", "due_period", "id")


def prepayment_credit(*, driver_id: int, lease_id: int) -> Decimal:
    """Money received for the lease that waits for its next LEASE charges."""
    total = Receipt.objects.filter(
        driver_id=driver_id,
        lease_id=lease_id,
        kind__in=[Receipt.Kind.INTERIM_PAYMENT, Receipt.Kind.PREPAYMENT],
        unapplied__gt=0,
    ).aggregate(total=Sum("unapplied"))["total"]
    return total or ZERO


def postings() -> QuerySet[Posting]:
    return Posting.objects.select_related(
        "driver", "lease", "vehicle", "medallion", "obligation", "receipt", "created_by"
    )


def posting_list() -> QuerySet[Posting]:
    """What the postings list filters, orders and counts: the table alone (its page's rows are then
    read with postings_with_reversal())."""
    return Posting.objects.all()


def postings_with_reversal() -> QuerySet[Posting]:
    """postings(), each annotated with `reversal_id`: the posting that voided it, if any."""
    return postings().annotate(reversal_id=F("reversal__id"))


def balances() -> QuerySet[ObligationBalance]:
    return ObligationBalance.objects.select_related("driver", "lease", "vehicle", "medallion")


def refunds() -> QuerySet[Refund]:
    return Refund.objects.select_related("driver", "lease", "created_by")


def receipts() -> QuerySet[Receipt]:
    return Receipt.objects.select_related("driver", "lease", "created_by")


def receipts_with_postings() -> QuerySet[Receipt]:
    """receipts() with their postings (in order) prefetched: one extra query per page, not per row."""
    return receipts().prefetch_related(Prefetch("postings", queryset=postings_with_reversal().order_by("id")))


@dataclass(frozen=True)
class CategoryPosition:
    category: str
    charged: Decimal
    paid: Decimal
    outstanding: Decimal
    balances: list[BalanceAsOf]


@dataclass(frozen=True)
class LeasePosition:
    lease_id: int
    lease_number: str
    outstanding: Decimal
    categories: list[CategoryPosition]


def driver_position_as_of(*, driver_id: int, as_of: dt.date) -> list[LeasePosition]:
    """A driver's balances at the end of `as_of`, grouped per lease (by lease number) and per
    category (in payment priority order), with totals. Two queries whatever the driver owes."""
    rows = balances_as_of(as_of=as_of, driver_id=driver_id)
    if not rows:
        return []
    lease_of = {
        balance_id: (lease_id, lease_number)
        for balance_id, lease_id, lease_number in ObligationBalance.objects.filter(
            pk__in=[row.balance_id for row in rows]
        ).values_list("id", "lease_id", "lease__lease_number")
    }
    grouped: dict[tuple[int, str], dict[str, list[BalanceAsOf]]] = {}
    for row in rows:  # already in priority order, so categories come out in that order too
        grouped.setdefault(lease_of[row.balance_id], {}).setdefault(row.category, []).append(row)
    positions = []
    for (lease_id, lease_number), by_category in sorted(grouped.items(), key=lambda item: item[0][1]):
        categories = [
            CategoryPosition(
                category=category,
                charged=sum((b.charged for b in members), ZERO),
                paid=sum((b.paid for b in members), ZERO),
                outstanding=sum((b.outstanding for b in members), ZERO),
                balances=members,
            )
            for category, members in by_category.items()
        ]
        positions.append(
            LeasePosition(
                lease_id=lease_id,
                lease_number=lease_number,
                outstanding=sum((c.outstanding for c in categories), ZERO),
                categories=categories,
            )
        )
    return positions


@dataclass(frozen=True)
class Charge:
    posting_id: int
    amount: Decimal
    posted_at: dt.datetime


def charges(*, category: str, source_references: Iterable[str]) -> dict[str, Charge]:
    """The DEBIT posting that charged each source reference of a category (its first posting,
    voided or not), keyed by reference; references the ledger does not hold are absent."""
    references = list(source_references)
    if not references:
        return {}
    rows = (
        Posting.objects.filter(
            obligation__category=category,
            obligation__source_reference__in=references,
            entry_type="DEBIT",
            reverses__isnull=True,
            receipt__isnull=True,
        )
        .order_by("obligation_id", "id")
        .distinct("obligation_id")
        .values_list("obligation__source_reference", "id", "amount", "created_at")
    )
    return {reference: Charge(posting_id, amount, created) for reference, posting_id, amount, created in rows}


def paid_total(*, category: str, source_references) -> Decimal:
    """What receipts paid, net of voided payments, on the balances of these sources, in one query.

    `source_references` may be a list or a `values()` subquery (e.g. a plan's posted installment
    ids): it becomes a semi-join on the balances' unique (category, source reference) index, so the
    plan does not depend on fresh table statistics.
    """
    signed = Case(
        When(entry_type=EntryType.CREDIT, then=F("amount")),
        default=-F("amount"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    total = Posting.objects.filter(
        receipt__isnull=False, obligation__category=category, obligation__source_reference__in=source_references
    ).aggregate(total=Sum(signed))["total"]
    return total or ZERO


def paid_on(*, category: str, by: str, ids, as_of: dt.date | None = None) -> dict:
    """What receipts have paid on the balances of `category`, net of payments reversed, per `by`
    ("lease_id", "driver_id" or "obligation_id") among `ids` — as of the end of `as_of` when given.
    For DEPOSIT it is the money held for the driver (a release reverses those payments)."""
    if by not in ("lease_id", "driver_id", "obligation_id"):
        raise ValueError(by)
    rows = Posting.objects.filter(
        category=category, receipt__isnull=False, obligation__isnull=False, **{f"{by}__in": list(ids)}
    )
    if as_of is not None:
        rows = rows.filter(effective_date__lte=as_of)
    net = Sum(Case(When(entry_type=EntryType.CREDIT, then=F("amount")), default=-F("amount")))
    return dict(rows.order_by().values_list(by).annotate(total=net))


def receipt_weeks(receipt_ids: Iterable[int]) -> dict[int, tuple[int, dt.date]]:
    """Each receipt's lease and period: the statement (DTR) that reported its money."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, lease_id, period FROM ledger_receipt WHERE id IN (SELECT unnest(%s::bigint[]))",
            [list(receipt_ids)],
        )
        return {pk: (lease_id, period) for pk, lease_id, period in cursor.fetchall()}
