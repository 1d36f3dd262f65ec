"""Repair invoices charged to drivers, repaid as weekly installment plans (SPEC §4).

The lifecycle, schedule and posting come from `plans`; this module adds what a repair is.
"""

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from batpay.money import money_field
from plans.lifecycle import PlanStatus
from plans.models import Installment, Plan


class RepairInvoice(Plan):
    plan_id_field = "repair_id"

    class WorkshopType(models.TextChoices):
        BIG_APPLE = "BIG_APPLE", "Big Apple workshop"
        EXTERNAL = "EXTERNAL", "External workshop"

    repair_id = models.CharField("repair ID", max_length=20, unique=True)
    vehicle = models.ForeignKey("leases.Vehicle", on_delete=models.PROTECT, related_name="repair_invoices")
    medallion = models.ForeignKey("leases.Medallion", on_delete=models.PROTECT, related_name="repair_invoices")
    invoice_number = models.CharField(max_length=64)
    invoice_date = models.DateField()
    workshop_type = models.CharField(max_length=16, choices=WorkshopType.choices)
    repair_description = models.TextField(blank=True)
    repair_amount = money_field()
    weekly_installment_amount = money_field(help_text="From the repayment matrix; the last installment is the rest.")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("confirm_repairinvoice", "Can confirm repair invoices and change their status"),
            ("post_repairinvoice", "Can post repair installments to the ledger"),
            ("export_repairinvoice", "Can export repair invoices and installments"),
        ]
        constraints = [
            *Plan.Meta.constraints,
            # One invoice per workshop invoice number and vehicle, ignoring case; a cancelled entry
            # does not count, so a mistyped invoice can be cancelled and entered again.
            models.UniqueConstraint(
                Upper("invoice_number"),
                "vehicle",
                condition=~Q(status=PlanStatus.CANCELLED),
                name="repair_invoice_number_unique_per_vehicle",
            ),
            models.CheckConstraint(condition=Q(repair_amount__gt=0), name="repair_amount_positive"),
            models.CheckConstraint(condition=Q(weekly_installment_amount__gt=0), name="repair_weekly_positive"),
        ]
        indexes = [
            models.Index(fields=["driver", "invoice_date"], name="repair_driver_date"),
            models.Index(fields=["lease", "invoice_date"], name="repair_lease_date"),
            models.Index(fields=["invoice_date", "id"], name="repair_invoice_date"),
            models.Index(fields=["created_at", "id"], name="repair_created"),
            models.Index(
                OpClass(Upper("invoice_number"), name="text_pattern_ops"), name="repair_invoice_number_prefix"
            ),
            models.Index(fields=["status", "created_at", "id"], name="repair_status_created"),
        ]


class RepairInstallment(Installment):
    plan = models.ForeignKey(RepairInvoice, on_delete=models.CASCADE, related_name="installments")

    class Meta(Installment.Meta):
        # Installments change only through the plan services; nobody adds or edits one by hand.
        default_permissions = ("view",)
        constraints = [
            *Installment.Meta.constraints,
            models.UniqueConstraint(fields=["plan", "sequence"], name="repair_installment_sequence_unique"),
        ]
