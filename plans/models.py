"""Abstract models of an installment plan and its installments; apps subclass them.

A subclass of `Plan` adds its business fields and names its id field in `plan_id_field`
(`repair_id`, `loan_id`). A subclass of `Installment` adds `plan = ForeignKey(<its Plan>,
related_name="installments")` and a unique (plan, sequence) constraint; loans add principal and
interest beside `amount` (the total due, which is what is posted), lease schedules add nothing.
Statuses only change through `plans.services` (the lifecycle table); paid state follows
the ledger and is never edited by hand.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from batpay.money import money_field
from plans.lifecycle import InstallmentStatus, PlanStatus

# Constraint and index names start with the table's app and model (`repairs_repairinstallment_…`);
# a model whose table another app created passes that app's prefix, so the names stay the table's.
DEFAULT_PREFIX = "%(app_label)s_%(class)s"


def plan_constraints(prefix: str = DEFAULT_PREFIX) -> list:
    return [models.CheckConstraint(condition=Q(start_week__week_day=1), name=f"{prefix}_start_sunday")]


def installment_constraints(prefix: str = DEFAULT_PREFIX) -> list:
    return [
        models.CheckConstraint(condition=Q(amount__gt=0), name=f"{prefix}_amount_positive"),
        models.CheckConstraint(condition=Q(period_start__week_day=1), name=f"{prefix}_period_starts_sunday"),
        # CANCELLED may keep its posting: an installment whose charge was voided in the ledger.
        models.CheckConstraint(
            condition=Q(status=InstallmentStatus.SCHEDULED, posting__isnull=True)
            | Q(status__in=[InstallmentStatus.POSTED, InstallmentStatus.PAID], posting__isnull=False)
            | Q(status=InstallmentStatus.CANCELLED),
            name=f"{prefix}_posted_iff_posting",
        ),
    ]


def installment_indexes(prefix: str = DEFAULT_PREFIX) -> list:
    return [
        models.Index(
            fields=["period_start", "id"], condition=Q(status=InstallmentStatus.SCHEDULED), name=f"{prefix}_due"
        )
    ]


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
        constraints = plan_constraints()

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
        constraints = installment_constraints()
        indexes = installment_indexes()

    def __str__(self) -> str:
        return self.installment_id


class Case(models.Model):
    """A guided entry (SPEC §4): a client fills a flow's steps one by one; the last creates the record.

    The flows and their steps are registered in code (`plans.cases`); a case keeps where it is,
    what was submitted at each step, and what it created.
    """

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        COMPLETED = "COMPLETED", "Completed"

    case_no = models.CharField("case number", max_length=24, unique=True)
    flow = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    current_step = models.CharField(max_length=64, blank=True)
    submitted = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "batpay_case"  # created by the batpay app before plans had its own
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.case_no
