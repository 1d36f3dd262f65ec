"""Generic reads of installment plans. What was paid always comes from the ledger.

- `attach_totals` — total paid and outstanding per plan for a page: two queries per page.
- `plan_statistics` — counts and sums over any filtered set of plans, in a few aggregate queries.

Outstanding is what the plan charges (its installments less any whose charge was voided in the
ledger, i.e. less CANCELLED ones) minus what the ledger says was paid; a cancelled plan owes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, QuerySet, Sum

from batpay.money import ZERO, to_money
from ledger.selectors import obligation_balances, paid_total
from plans.lifecycle import InstallmentStatus, PlanStatus
from plans.models import Plan
from plans.source import PlanSource

# Plans whose amounts count in totals and averages: confirmed ones, whatever happened since.
CONFIRMED = (PlanStatus.OPEN, PlanStatus.HOLD, PlanStatus.CLOSED)


def attach_totals(*, source: PlanSource, plans: Sequence[Plan]) -> Sequence[Plan]:
    """Set `total_paid`, `outstanding_balance` and `installment_count` on each plan.

    Two queries for any number of plans: the installments' few columns, then their ledger balances.
    """
    by_plan: dict[int, list[tuple]] = {plan.pk: [] for plan in plans}
    rows = source.installment_model.objects.filter(plan_id__in=list(by_plan)).values_list(
        "plan_id", "installment_id", "amount", "status", "posting_id"
    )
    for plan_pk, *row in rows:
        by_plan[plan_pk].append(row)
    references = [ref for items in by_plan.values() for ref, _, _, posting in items if posting]
    balances = obligation_balances(category=source.category, source_references=references)
    for plan in plans:
        paid = charged = ZERO
        for reference, amount, status, _ in by_plan[plan.pk]:
            if status != InstallmentStatus.CANCELLED:
                charged += amount
            view = balances.get(reference)
            if view is not None:
                paid += view.paid
        plan.installment_count = len(by_plan[plan.pk])
        plan.total_paid = paid
        plan.outstanding_balance = max(charged - paid, ZERO)
    return plans


def plan_statistics(
    *,
    source: PlanSource,
    plans: QuerySet,
    amount_field: str,
    weekly_field: str | None = None,
    totals: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Counts by status, totals and averages over `plans` (any filtered queryset of the source's plans).

    Amount totals and averages count confirmed plans (OPEN, HOLD, CLOSED): a DRAFT is not yet
    owed and a CANCELLED plan never was. `totals` adds a plan type's own sums over the same
    confirmed plans, as result key → money field (a loan's {"total_interest": "total_interest"}).
    Figures are rounded half-up to the cent.
    """
    by_status = dict(plans.order_by().values_list("status").annotate(n=Count("pk")))
    confirmed = plans.filter(status__in=CONFIRMED)
    aggregates: dict[str, Any] = {
        "count": Count("pk"),
        "total_amount": Sum(amount_field),
        "average_amount": Avg(amount_field),
    }
    if weekly_field:
        aggregates["average_weekly"] = Avg(weekly_field)
    for key, money_field in (totals or {}).items():
        aggregates[f"extra_{key}"] = Sum(money_field)
    figures = confirmed.order_by().aggregate(**aggregates)

    installments = source.installment_model.objects.filter(plan__in=plans.order_by().values("pk"))
    installments_by_status = dict(installments.order_by().values_list("status").annotate(n=Count("pk")))
    of_confirmed = source.installment_model.objects.filter(plan__in=confirmed.order_by().values("pk"))
    charged = of_confirmed.exclude(status=InstallmentStatus.CANCELLED).aggregate(total=Sum("amount"))["total"] or ZERO
    paid = paid_total(
        category=source.category, source_references=of_confirmed.filter(posting__isnull=False).values("installment_id")
    )
    result = {
        "count": sum(by_status.values()),
        "count_by_status": {status: by_status.get(status, 0) for status in PlanStatus.values},
        "confirmed_count": figures["count"],
        "total_amount": _money(figures["total_amount"]),
        "total_paid": _money(paid),
        "total_outstanding": _money(max(charged - paid, ZERO)),
        "average_amount": _money(figures["average_amount"]),
        "installments_by_status": {
            status: installments_by_status.get(status, 0) for status in InstallmentStatus.values
        },
    }
    if weekly_field:
        result["average_weekly_installment"] = _money(figures["average_weekly"])
    for key in totals or {}:
        result[key] = _money(figures[f"extra_{key}"])
    return result


def _money(value: Decimal | None) -> Decimal:
    return to_money(value) if value is not None else ZERO
