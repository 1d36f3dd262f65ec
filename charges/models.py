"""Miscellaneous charges and credits (category MISC): one-off amounts a driver owes, or is owed.

A charge is a MISC obligation in the ledger from the moment it is entered; a credit is a receipt
of kind DRIVER_CREDIT that pays the lease's open balances and leaves the rest due to the driver.
Both are corrected only by reversal (docs/rules.md, "Miscellaneous charges and credits").
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from batpay.money import money_field

# The standard types (migration 0002 seeds them; charges.apps makes them exist again after a flush).
MISC_CHARGE_TYPES = (
    ("Lost key", "A replacement for a lost vehicle key."),
    ("Cleaning", "Cleaning the vehicle beyond normal wear."),
    ("Accident deductible", "The driver's share of an accident repair."),
    ("Lost equipment", "Meter, camera or partition not returned."),
    ("Administrative fee", "Paperwork the driver asked for."),
)


class MiscChargeType(models.Model):
    """What a charge is for (Lost key, Cleaning, …): a list Finance keeps in the admin."""

    name = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True, help_text="Only active types can be chosen for a new charge.")
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "misc charge type"

    def __str__(self) -> str:
        return self.name


class Correction(models.TextChoices):
    POSTED = "POSTED", "Posted"
    REVERSED = "REVERSED", "Reversed"


class MiscCharge(models.Model):
    Status = Correction

    misc_id = models.CharField("charge ID", max_length=24, unique=True)
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="misc_charges")
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="misc_charges")
    charge_type = models.ForeignKey(MiscChargeType, on_delete=models.PROTECT, related_name="charges")
    amount = money_field()
    note = models.CharField(max_length=255, blank=True)
    receipt_file = models.FileField(upload_to="misc_receipts/%Y/%m/", blank=True)
    obligation = models.OneToOneField(
        "ledger.ObligationBalance", on_delete=models.PROTECT, related_name="misc_charge", editable=False
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.POSTED)
    reversal_reason = models.TextField(blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "misc charge"
        permissions = [
            ("void_misccharge", "Can reverse misc charges"),
            ("export_misccharge", "Can export misc charges"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="misc_charge_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="POSTED", reversed_at__isnull=True)
                | Q(status="REVERSED", reversed_at__isnull=False),
                name="misc_charge_reversed_iff_dated",
            ),
        ]
        indexes = [models.Index(fields=["driver", "created_at"], name="misc_charge_driver")]

    def __str__(self) -> str:
        return self.misc_id


class MiscCredit(models.Model):
    Status = Correction

    credit_id = models.CharField("credit ID", max_length=24, unique=True)
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="misc_credits")
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="misc_credits")
    amount = money_field()
    note = models.CharField(
        max_length=255, help_text="Why the driver is credited (goodwill, an overcharge refunded, …)."
    )
    receipt = models.OneToOneField(
        "ledger.Receipt", on_delete=models.PROTECT, related_name="misc_credit", editable=False
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.POSTED)
    reversal_reason = models.TextField(blank=True)
    reversal_charge = models.OneToOneField(
        "ledger.ObligationBalance",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_misc_credit",
        editable=False,
        help_text="The MISC charge that took the credit back.",
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "misc credit"
        permissions = [
            ("void_misccredit", "Can reverse misc credits"),
            ("export_misccredit", "Can export misc credits"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="misc_credit_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="POSTED", reversed_at__isnull=True, reversal_charge__isnull=True)
                | Q(status="REVERSED", reversed_at__isnull=False, reversal_charge__isnull=False),
                name="misc_credit_reversed_iff_charged_back",
            ),
        ]
        indexes = [models.Index(fields=["driver", "created_at"], name="misc_credit_driver")]

    def __str__(self) -> str:
        return self.credit_id
