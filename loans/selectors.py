"""Reads of driver loans and their installments. Paid figures come from the ledger (plans.selectors)."""

from __future__ import annotations

from django.db.models import QuerySet

from loans.models import Loan, LoanInstallment


def loan_list() -> QuerySet[Loan]:
    """Loans with the related rows a response names joined in (constant queries per page)."""
    return Loan.objects.select_related("driver", "lease")


def installment_list() -> QuerySet[LoanInstallment]:
    return LoanInstallment.objects.select_related("plan", "plan__driver", "plan__lease").order_by(
        "period_start", "plan_id", "sequence"
    )
