"""The centralized ledger (SPEC §3): the single source of truth for every dollar.

Only ledger/services.py writes these tables. The database enforces what must never happen:
non-positive amounts, negative balances, a second reversal, a charge posted twice for the same
source, and any UPDATE or DELETE of a posting other than POSTED → VOIDED (see migration 0002).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from batpay.money import money_field
from ledger.categories import POSTING_CATEGORIES, PRIORITY, Category, EntryType

__all__ = ["PRIORITY", "Category", "EntryType", "ObligationBalance", "Posting", "Receipt", "Refund"]


class ObligationBalance(models.Model):
    """What the driver owes for one charge (category, source reference): one per charge."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        CLOSED = "CLOSED", "Closed"

    category = models.CharField(max_length=16, choices=Category.choices)
    # Stored (derived from category at insert) so the waterfall can sort in SQL on an index.
    priority = models.PositiveSmallIntegerField()
    source_reference = models.CharField(max_length=64)
    original_amount = money_field()
    outstanding = money_field()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    due_period = models.DateField()
    # The database checks these four references set-based, once per statement (migration 0011:
    # the rows referred to are locked FOR KEY SHARE as a foreign key would, and cannot be deleted
    # while a balance refers to them) instead of four row-by-row foreign-key checks per balance.
    driver = models.ForeignKey(  # indexed by balance_driver_status
        "leases.Driver", on_delete=models.PROTECT, related_name="obligations", db_index=False, db_constraint=False
    )
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="obligations", db_constraint=False)
    vehicle = models.ForeignKey(
        "leases.Vehicle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    medallion = models.ForeignKey(
        "leases.Medallion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "due_period", "id"]
        verbose_name = "obligation balance"
        permissions = [("export_obligationbalance", "Can export obligation balances")]
        constraints = [
            models.UniqueConstraint(fields=["category", "source_reference"], name="one_balance_per_source"),
            models.CheckConstraint(condition=Q(original_amount__gt=0), name="balance_original_positive"),
            models.CheckConstraint(condition=Q(outstanding__gte=0), name="balance_outstanding_not_negative"),
            models.CheckConstraint(
                condition=Q(outstanding__lte=F("original_amount")), name="balance_outstanding_within_original"
            ),
            models.CheckConstraint(
                condition=Q(status="CLOSED", outstanding=0) | Q(status="OPEN", outstanding__gt=0),
                name="balance_closed_iff_zero",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lease", "driver", "priority", "due_period", "id"],
                condition=Q(status="OPEN"),
                name="balance_open_waterfall",
            ),
            models.Index(fields=["driver", "status"], name="balance_driver_status"),
            # The balances list's default order, whole and open only (a page without a sort of the table).
            models.Index(fields=["priority", "due_period", "id"], name="balance_list_order"),
            models.Index(
                fields=["priority", "due_period", "id"], condition=Q(status="OPEN"), name="balance_open_list_order"
            ),
            # The deposit held per lease (each DTR's figure): a lease's few DEPOSIT balances, not its history.
            models.Index(fields=["lease"], condition=Q(category="DEPOSIT"), name="balance_deposit_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.source_reference}"

    @property
    def paid(self):
        return self.original_amount - self.outstanding


class Receipt(models.Model):
    """Money received for a driver and lease; what it has not paid yet is `unapplied`."""

    class Kind(models.TextChoices):
        EARNINGS = "EARNINGS", "Weekly card earnings"
        INTERIM_PAYMENT = "INTERIM_PAYMENT", "Interim payment"
        PREPAYMENT = "PREPAYMENT", "Lease prepayment"
        DRIVER_CREDIT = "DRIVER_CREDIT", "Credit to driver"

    class Method(models.TextChoices):
        CASH = "CASH", "Cash"
        CHECK = "CHECK", "Check"
        ACH = "ACH", "ACH"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    method = models.CharField(max_length=8, choices=Method.choices, blank=True)
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="receipts")
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="receipts")
    period = models.DateField(help_text="The payment period the money belongs to (its Sunday).")
    received_on = models.DateField()
    amount = money_field()
    unapplied = money_field()
    idempotency_key = models.CharField(max_length=128, unique=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("record_interim_payment", "Can record interim payments"),
            ("apply_credit", "Can apply a receipt's credit to another balance of the driver"),
            ("refund_credit", "Can refund a receipt's credit to the driver"),
            ("export_receipt", "Can export receipts"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="receipt_amount_positive"),
            models.CheckConstraint(condition=Q(unapplied__gte=0), name="receipt_unapplied_not_negative"),
            models.CheckConstraint(condition=Q(unapplied__lte=F("amount")), name="receipt_unapplied_within_amount"),
        ]
        indexes = [
            models.Index(fields=["lease", "driver"], condition=Q(unapplied__gt=0), name="receipt_with_credit"),
            models.Index(fields=["period", "kind"], name="receipt_period_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.amount}"


class Posting(models.Model):
    """One immutable ledger line. Corrections are reversals; only POSTED → VOIDED may change."""

    class Status(models.TextChoices):
        POSTED = "POSTED", "Posted"
        VOIDED = "VOIDED", "Voided"

    entry_type = models.CharField(max_length=6, choices=EntryType.choices)
    # A balance's category, or PAYOUT for money paid out to the driver (no obligation).
    category = models.CharField(max_length=16, choices=POSTING_CATEGORIES)
    amount = money_field()
    obligation = models.ForeignKey(
        ObligationBalance, null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    receipt = models.ForeignKey(
        Receipt, null=True, blank=True, on_delete=models.PROTECT, related_name="postings", db_index=False
    )
    # Copies of the balance's (or receipt's) fleet references, for filtering without a join. The
    # database checks them on the balance and invariant 1b checks that the copies match: skipping four
    # foreign-key checks and indexes per posting keeps the bulk path close to COPY speed.
    driver = models.ForeignKey(
        "leases.Driver", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    lease = models.ForeignKey(
        "leases.Lease", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    vehicle = models.ForeignKey(
        "leases.Vehicle",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    medallion = models.ForeignKey(
        "leases.Medallion",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    period = models.DateField(help_text="The payment period (its Sunday) the posting belongs to.")
    effective_date = models.DateField(help_text="The business date from which balances count it.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.POSTED)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal")
    idempotency_key = models.CharField(max_length=160)
    description = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True, help_text="Why a reversal (or a Controller's use of credit) was made.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("void_posting", "Can void postings"), ("export_posting", "Can export postings")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="posting_amount_positive"),
            models.CheckConstraint(
                condition=Q(obligation__isnull=False) | Q(receipt__isnull=False), name="posting_has_a_target"
            ),
            # A unique constraint rather than unique=True: no extra pattern-ops index to maintain.
            models.UniqueConstraint(fields=["idempotency_key"], name="posting_idempotency_key_unique"),
        ]
        indexes = [
            models.Index(fields=["driver", "effective_date"], name="posting_driver_date"),
            models.Index(fields=["lease", "effective_date"], name="posting_lease_date"),
            models.Index(fields=["receipt"], condition=Q(receipt__isnull=False), name="posting_receipt"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.entry_type.title()} {self.get_category_display()} {self.amount}"


class Refund(models.Model):
    """Credit handed back to the driver: it leaves its receipt's unapplied money for good.

    Written once by `ledger.services.refund_credit` (the database refuses changes and deletes,
    migration 0006). For every receipt: amount = applied + unapplied + refunded.
    """

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="refunds")
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="refunds")
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    method = models.CharField(max_length=8, choices=Receipt.Method.choices)
    reference = models.CharField(max_length=64, help_text="Check number, ACH trace or cash voucher.")
    reason = models.TextField()
    refunded_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("export_refund", "Can export refunds")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=~Q(reference=""), name="refund_has_reference"),
        ]

    def __str__(self) -> str:
        return f"Refund #{self.pk} {self.amount}"
