"""E-ZPass tolls (SPEC §10, category EZPASS): the account's transaction export, imported, attributed
to the driver who drove through the plaza, and charged through the ledger.

A `Toll` is one row of the export, keyed by its Lane Txn ID: a charge (`($9.11)`) or a refund
(`$9.00`). Charges become EZPASS obligations (`tolls.services`); Congestion Relief Zone rows are
kept but never charged; rows with no lease to charge are kept UNMATCHED for staff to reassign.
Rows whose data cannot be read are kept per import (`TollImportRow`) with their line and reason.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from batpay.money import money_field

# A Lane Txn ID keeps its charge's source reference (`<id>` or `<id>/<n>` after a reassignment)
# within the ledger's 64 characters.
MAX_LANE_TXN_ID_LENGTH = 40


def plazas(entry: str, exit_: str) -> str:
    entry, exit_ = entry.strip(), exit_.strip()
    if entry and exit_ and entry != exit_:
        return f"{entry} → {exit_}"
    return entry or exit_ or "(no plaza)"


def toll_description(day: dt.date, time: dt.time, entry: str, exit_: str, agency: str, amount: Decimal) -> str:
    """The toll's line on the DTR — date, time, plaza(s), agency and amount — kept as its charge's
    description in the ledger, which is where the statement reads it (statements cannot import tolls)."""
    by = f" ({agency})" if agency else ""
    return f"E-ZPass {day:%m/%d/%Y} {time:%H:%M:%S} {plazas(entry, exit_)}{by} ${amount:.2f}"[:255]


class TollImport(models.Model):
    """One upload of the E-ZPass transaction export, and what became of its rows (its report)."""

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField("SHA-256 of the file", max_length=64)
    rows = models.PositiveIntegerField(default=0, help_text="Data rows in the file (the header not counted).")
    imported = models.PositiveIntegerField(default=0, help_text="New toll rows this upload added (all kinds).")
    charges = models.PositiveIntegerField(default=0, help_text="New tolls to charge to a driver.")
    charged_amount = money_field(default=0, help_text="What the new tolls charge drivers.")
    refunds = models.PositiveIntegerField(default=0, help_text="New refund rows.")
    refunded_amount = money_field(default=0)
    excluded = models.PositiveIntegerField(default=0, help_text="Congestion Relief Zone rows: kept, not charged.")
    excluded_amount = money_field(default=0)
    unmatched = models.PositiveIntegerField(default=0, help_text="New rows with no lease to charge: kept for review.")
    already_imported = models.PositiveIntegerField(
        default=0, help_text="Rows whose Lane Txn ID was already on file with the same figures (left as they were)."
    )
    invalid = models.PositiveIntegerField(default=0, help_text="Rows refused for bad data; kept for review.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "toll import"
        permissions = [("import_tolls", "Can import E-ZPass files"), ("export_tollimport", "Can export toll imports")]

    def __str__(self) -> str:
        return f"Toll import #{self.pk} ({self.file_name})"

    @property
    def kept_for_review(self) -> int:
        return self.invalid + self.unmatched


class TollImportRow(models.Model):
    """A row of an upload that could not be read as a toll: its line number, why, and its text."""

    batch = models.ForeignKey(TollImport, on_delete=models.CASCADE, related_name="kept_rows")
    line_number = models.PositiveIntegerField()
    reason = models.TextField()
    lane_txn_id = models.CharField("Lane Txn ID", max_length=255, blank=True)
    raw = models.JSONField(default=dict, help_text="The row as it was in the file, column by column.")

    class Meta:
        ordering = ["batch_id", "line_number"]
        verbose_name = "toll row kept for review"
        verbose_name_plural = "toll rows kept for review"
        permissions = [("export_tollimportrow", "Can export toll rows kept for review")]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason[:60]}"


class TollTag(models.Model):
    """An E-ZPass tag mounted on a vehicle: a row whose Tag/Plate # is a tag number finds its vehicle here."""

    tag_number = models.CharField(max_length=20, unique=True, help_text="Digits only, as the export prints it.")
    vehicle = models.ForeignKey("leases.Vehicle", on_delete=models.PROTECT, related_name="toll_tags")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag_number"]
        verbose_name = "E-ZPass tag"
        constraints = [models.CheckConstraint(condition=Q(tag_number__regex=r"^[0-9]{6,20}$"), name="toll_tag_digits")]

    def __str__(self) -> str:
        return self.tag_number


class Toll(models.Model):
    """One E-ZPass transaction, keyed by its Lane Txn ID, and whom it is charged to."""

    class Kind(models.TextChoices):
        CHARGE = "CHARGE", "Toll"
        REFUND = "REFUND", "Refund"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting for its week's posting"
        POSTED = "POSTED", "Charged"
        APPLIED = "APPLIED", "Refund applied"
        EXCLUDED = "EXCLUDED", "Not charged (Congestion Relief Zone)"
        UNMATCHED = "UNMATCHED", "No lease: kept for review"
        REVERSED = "REVERSED", "Charge reversed"

    class Attribution(models.TextChoices):
        TRIP = "TRIP", "Driver with a trip within 30 minutes"
        PRIMARY = "PRIMARY", "Lease's primary driver (no trip within 30 minutes)"
        TOLL = "TOLL", "Driver of the toll refunded"
        STAFF = "STAFF", "Reassigned by staff"

    lane_txn_id = models.CharField("Lane Txn ID", max_length=MAX_LANE_TXN_ID_LENGTH, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    tag_or_plate = models.CharField("Tag/Plate #", max_length=32)
    posted_date = models.DateField(null=True, blank=True, help_text="When E-ZPass posted it to the account.")
    agency = models.CharField(max_length=32, blank=True)
    entry_plaza = models.CharField(max_length=64, blank=True)
    exit_plaza = models.CharField(max_length=64, blank=True)
    vehicle_class = models.CharField("class", max_length=16, blank=True)
    toll_date = models.DateField()
    toll_time = models.TimeField()
    occurred_at = models.DateTimeField(help_text="The toll's date and time (New York) as an instant.")
    period = models.DateField(help_text="The payment period (its Sunday) of the toll's date: when it is due.")
    amount = money_field(help_text="What the row charges (a toll) or gives back (a refund); always positive.")
    post_txn_balance = money_field("post txn balance", null=True, blank=True)
    # An import inserts 100,000 rows at a time: few indexes (lease and driver lead the composite indexes
    # below; a toll is never looked up by its vehicle or receipt), and no foreign-key check on the
    # vehicle, lease, driver and trip, which the import joins from their own tables in the same statement
    # (the ledger's postings skip theirs the same way); the ORM still protects them from deletion.
    vehicle = models.ForeignKey(
        "leases.Vehicle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    lease = models.ForeignKey(
        "leases.Lease",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tolls",
        db_index=False,
        db_constraint=False,
    )
    driver = models.ForeignKey(
        "leases.Driver",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tolls",
        db_index=False,
        db_constraint=False,
    )
    attribution = models.CharField(max_length=8, choices=Attribution.choices, blank=True)
    trip = models.ForeignKey(
        "statements.Trip",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    reason = models.TextField(blank=True, help_text="Why it is not charged, or not charged yet.")
    # 1 for the first charge; each reassignment of a charged toll reverses it and charges the n-th. A
    # POSTED toll's charge is the ledger's EZPASS balance keyed `source_reference` (no foreign key: the
    # import inserts tolls and posts their charges in one pass, without going back to link them).
    assignment = models.PositiveSmallIntegerField(default=1)
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds", db_index=False
    )
    receipt = models.ForeignKey(
        "ledger.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    batch = models.ForeignKey(TollImport, on_delete=models.PROTECT, related_name="tolls")
    line_number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        permissions = [
            ("export_toll", "Can export tolls"),
            ("void_toll", "Can reverse a toll's charge"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="toll_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["PENDING", "POSTED", "APPLIED"], lease__isnull=False, driver__isnull=False)
                | Q(status__in=["EXCLUDED", "UNMATCHED", "REVERSED"]),
                name="toll_charged_has_a_driver",
            ),
            models.CheckConstraint(condition=~Q(status="POSTED") | Q(kind="CHARGE"), name="toll_posted_is_a_charge"),
            models.CheckConstraint(
                condition=~Q(status="APPLIED") | Q(kind="REFUND", receipt__isnull=False),
                name="toll_applied_has_its_receipt",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "period"], name="toll_status_period"),
            models.Index(fields=["lease", "occurred_at"], name="toll_lease_time"),
            models.Index(fields=["driver", "occurred_at"], name="toll_driver_time"),
            models.Index(fields=["tag_or_plate", "toll_date"], name="toll_plate_date"),
        ]

    def __str__(self) -> str:
        return f"E-ZPass {self.lane_txn_id}"

    @property
    def source_reference(self) -> str:
        """The ledger's key of the toll's current charge."""
        return self.lane_txn_id if self.assignment == 1 else f"{self.lane_txn_id}/{self.assignment}"

    @property
    def plazas(self) -> str:
        return plazas(self.entry_plaza, self.exit_plaza)

    @property
    def description(self) -> str:
        return toll_description(
            self.toll_date, self.toll_time, self.entry_plaza, self.exit_plaza, self.agency, self.amount
        )


class TollAssignment(models.Model):
    """The trail of a toll's reassignments: from whom, to whom, why, and what the ledger did."""

    toll = models.ForeignKey(Toll, on_delete=models.PROTECT, related_name="assignments")
    from_lease = models.ForeignKey("leases.Lease", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    from_driver = models.ForeignKey("leases.Driver", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="+")
    to_driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    reversal = models.ForeignKey("ledger.Posting", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    charge_reference = models.CharField(
        max_length=64, blank=True, help_text="The ledger's key of the new EZPASS charge, once made."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "toll reassignment"

    def __str__(self) -> str:
        return f"{self.toll} → lease {self.to_lease_id}"
