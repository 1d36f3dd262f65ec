"""Security deposits (category DEPOSIT): what a lease asks the driver to leave with the fleet.

A deposit is an installment plan (collected at once: one installment posted on entry; or in N
weekly installments the Sunday posting job posts). What has been paid on its DEPOSIT balances is
*held*: owed back to the driver until it is released (docs/rules.md, "Security deposits").
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from batpay.money import money_field
from plans.lifecycle import PlanStatus
from plans.models import Installment, Plan, installment_constraints, installment_indexes


class Deposit(Plan):
    plan_id_field = "deposit_id"

    class Collection(models.TextChoices):
        AT_ONCE = "AT_ONCE", "At once"
        INSTALLMENTS = "INSTALLMENTS", "Weekly installments"

    deposit_id = models.CharField("deposit ID", max_length=20, unique=True)
    deposit_amount = money_field()
    collection = models.CharField(max_length=16, choices=Collection.choices)
    installment_count = models.PositiveSmallIntegerField(default=1)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_amount = money_field(null=True, blank=True, help_text="What was held when it was released.")
    applied_amount = money_field(null=True, blank=True, help_text="What of it paid open balances.")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("release_deposit", "Can release or apply deposits early"),
            ("export_deposit", "Can export deposits"),
        ]
        constraints = [
            *Plan.Meta.constraints,
            models.UniqueConstraint(
                fields=["lease"], condition=~Q(status=PlanStatus.CANCELLED), name="deposit_one_per_lease"
            ),
            models.CheckConstraint(condition=Q(deposit_amount__gt=0), name="deposit_amount_positive"),
            models.CheckConstraint(
                condition=Q(installment_count__gte=1, installment_count__lte=52), name="deposit_installments_1_to_52"
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, released_amount__isnull=True)
                | Q(released_at__isnull=False, released_amount__isnull=False, applied_amount__isnull=False),
                name="deposit_released_with_amounts",
            ),
        ]

    @property
    def is_released(self) -> bool:
        return self.released_at is not None


class DepositInstallment(Installment):
    plan = models.ForeignKey(Deposit, on_delete=models.CASCADE, related_name="installments")

    class Meta(Installment.Meta):
        default_permissions = ("view",)
        constraints = [
            *installment_constraints("deposit_inst"),
            models.UniqueConstraint(fields=["plan", "sequence"], name="deposit_installment_sequence_unique"),
        ]
        indexes = installment_indexes("deposit_inst")
