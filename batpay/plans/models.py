"""Abstract models of an installment plan and its installments; apps subclass them.

A subclass of `Plan` adds its business fields and names its id field in `plan_id_field`
(`repair_id`, `loan_id`). A subclass of `Installment` adds `plan = ForeignKey(<its Plan>,
related_name="installments")` and a unique (plan, sequence) constraint; loans add principal and
interest beside `amount` (the total due, which is what is posted), lease schedules add nothing.
Statuses only change through `batpay.plans.services` (the lifecycle table); paid state follows
the ledger and is never edited by hand.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from batpay.plans.lifecycle import InstallmentStatus, PlanStatus


def money_field(verbose_name: str | None = None, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class Plan(models.Model):
    plan_id_field: ClassVar[str]

    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT, db_index=True)
    status_reason = models.TextField(blank=True, help_text="Why the plan was last put on hold, resumed or cancelled.")
    start_week = models.DateField(help_text="The Sunday that starts the first installment's period.")
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="%(class)ss")
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="%(class)ss")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(condition=Q(start_week__week_day=1), name="%(app_label)s_%(class)s_start_sunday"),
        ]

    def __str__(self) -> str:
        return self.plan_id

    @property
    def plan_id(self) -> str:
        return getattr(self, self.plan_id_field)


class Installment(models.Model):
    installment_id = models.CharField("installment ID", max_length=32, unique=True)
    sequence = models.PositiveSmallIntegerField()
    period_start = models.DateField(help_text="The Sunday of the installment's payment period.")
    period_end = models.DateField(help_text="The Saturday that ends the period.")
    amount = money_field(help_text="What is posted to the ledger for this installment.")
    status = models.CharField(max_length=16, choices=InstallmentStatus.choices, default=InstallmentStatus.SCHEDULED)
    posting = models.ForeignKey(
        "ledger.Posting",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The ledger DEBIT this installment became.",
    )
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["plan_id", "sequence"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
            models.CheckConstraint(
                condition=Q(period_start__week_day=1), name="%(app_label)s_%(class)s_period_starts_sunday"
            ),
            # CANCELLED may keep its posting: an installment whose charge was voided in the ledger.
            models.CheckConstraint(
                condition=Q(status=InstallmentStatus.SCHEDULED, posting__isnull=True)
                | Q(status__in=[InstallmentStatus.POSTED, InstallmentStatus.PAID], posting__isnull=False)
                | Q(status=InstallmentStatus.CANCELLED),
                name="%(app_label)s_%(class)s_posted_iff_posting",
            ),
        ]
        indexes = [
            models.Index(
                fields=["period_start", "id"],
                condition=Q(status=InstallmentStatus.SCHEDULED),
                name="%(app_label)s_%(class)s_due",
            ),
        ]

    def __str__(self) -> str:
        return self.installment_id
