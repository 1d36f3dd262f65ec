"""Driver loans, repaid with simple interest as weekly installment plans (SPEC §4).

The lifecycle, schedule and posting come from `plans`; this module adds what a loan is.
An installment's `amount` is its total due (principal + interest): that is what is posted.
"""

import datetime as dt

from django.db import models
from django.db.models import F, Q

from batpay.money import money_field
from plans.models import Installment, Plan


class Loan(Plan):
    plan_id_field = "loan_id"

    loan_id = models.CharField("loan ID", max_length=20, unique=True)
    loan_amount = money_field("principal", help_text="The principal lent to the driver.")
    interest_rate = models.DecimalField(
        "annual interest rate (%)", max_digits=5, decimal_places=2, help_text="Simple interest, percent per year."
    )
    loan_date = models.DateField(help_text="The day the money was lent; interest runs from this day.")
    purpose = models.TextField(blank=True)
    weekly_installment_amount = money_field(
        "weekly principal", help_text="From the repayment matrix on the principal; the last installment is the rest."
    )
    total_interest = money_field(help_text="The interest of every installment of the schedule.")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("confirm_loan", "Can confirm driver loans and change their status"),
            ("post_loan", "Can post loan installments to the ledger"),
            ("export_loan", "Can export driver loans and installments"),
        ]
        constraints = [
            *Plan.Meta.constraints,
            models.CheckConstraint(condition=Q(loan_amount__gt=0), name="loan_amount_positive"),
            models.CheckConstraint(condition=Q(interest_rate__gte=0), name="loan_interest_rate_not_negative"),
            models.CheckConstraint(condition=Q(weekly_installment_amount__gt=0), name="loan_weekly_positive"),
            models.CheckConstraint(condition=Q(total_interest__gte=0), name="loan_total_interest_not_negative"),
            # The loan exists by the end of its first installment's period (d_1 ≥ 1).
            models.CheckConstraint(
                condition=Q(loan_date__lte=F("start_week") + dt.timedelta(days=6)), name="loan_date_by_first_period"
            ),
        ]
        indexes = [
            models.Index(fields=["driver", "loan_date"], name="loan_driver_date"),
            models.Index(fields=["lease", "loan_date"], name="loan_lease_date"),
            models.Index(fields=["loan_date", "id"], name="loan_date"),
            models.Index(fields=["created_at", "id"], name="loan_created"),
            models.Index(fields=["status", "created_at", "id"], name="loan_status_created"),
        ]

    @property
    def total_due(self):
        """Principal plus every installment's interest: what the schedule charges in all."""
        return self.loan_amount + self.total_interest


class LoanInstallment(Installment):
    plan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    principal_amount = money_field("principal", help_text="This week's share of the principal.")
    interest_amount = money_field("interest", help_text="Interest on the principal outstanding before this week.")
    interest_days = models.PositiveIntegerField(
        help_text="Days of interest: from the loan date through the first period's end, then 7."
    )

    class Meta(Installment.Meta):
        # Installments change only through the plan services; nobody adds or edits one by hand.
        default_permissions = ("view",)
        constraints = [
            *Installment.Meta.constraints,
            models.UniqueConstraint(fields=["plan", "sequence"], name="loan_installment_sequence_unique"),
            models.CheckConstraint(condition=Q(principal_amount__gt=0), name="loan_installment_principal_positive"),
            models.CheckConstraint(condition=Q(interest_amount__gte=0), name="loan_installment_interest_not_negative"),
            models.CheckConstraint(
                condition=Q(amount=F("principal_amount") + F("interest_amount")), name="loan_installment_total_due"
            ),
            models.CheckConstraint(condition=Q(interest_days__gte=1), name="loan_installment_interest_days"),
        ]

    @property
    def total_due(self):
        return self.amount
