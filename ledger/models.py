"""The centralized ledger (SPEC §3): the single source of truth for every dollar.

Only ledger/services.py writes these tables. The database enforces what must never happen:
non-positive amounts, negative balances, a second reversal, a charge posted twice for the same
source, and any UPDATE or DELETE of a posting other than POSTED → VOIDED (see migration 0002).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Category(models.TextChoices):
    """In payment priority order: earnings pay the first category first."""

    TAXES = "TAXES", "Taxes"
    EZPASS = "EZPASS", "EZ-Pass tolls"
    LEASE = "LEASE", "Lease"
    PVB = "PVB", "PVB violations"
    TLC = "TLC", "TLC tickets"
    REPAIRS = "REPAIRS", "Repairs"
    LOANS = "LOANS", "Loans"
    MISC = "MISC", "Miscellaneous"
    DEPOSIT = "DEPOSIT", "Deposit"
    CANCELLATION_FEE = "CANCELLATION_FEE", "Cancellation fee"


PRIORITY: dict[str, int] = {category: rank for rank, category in enumerate(Category.values)}


class EntryType(models.TextChoices):
    DEBIT = "DEBIT", "Debit (driver owes more)"
    CREDIT = "CREDIT", "Credit (driver owes less)"


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


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
    driver = models.ForeignKey(  # indexed by balance_driver_status
        "leases.Driver", on_delete=models.PROTECT, related_name="obligations", db_index=False
    )
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="obligations")
    vehicle = models.ForeignKey(
        "leases.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    medallion = models.ForeignKey(
        "leases.Medallion", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "due_period", "id"]
        verbose_name = "obligation balance"
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
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.source_reference}"

    @property
    def paid(self):
        return self.original_amount - self.outstanding


class Receipt(models.Model):
    """Money received for a driver and lease; what it has not paid yet is `unapplied`."""

    class Kind(models.TextChoices):
        EARNINGS = "EARNINGS", "Weekly card earnings"
        INTERIM_PAYMENT = "INTERIM_PAYMENT", "Interim payment"
        PREPAYMENT = "PREPAYMENT", "Lease prepayment"

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
        permissions = [("record_interim_payment", "Can record interim payments")]
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
    category = models.CharField(max_length=16, choices=Category.choices)
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
    reason = models.TextField(blank=True, help_text="Why a reversal was made.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("void_posting", "Can void postings")]
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
        return f"#{self.pk} {self.entry_type} {self.category} {self.amount}"


# --- the weekly close: trips, card earnings and the Driver Transaction Report (SPEC §5) -------
# Trips are the card-payment system's data, not ledger entries: ledger/trips.py writes them and
# the import batches. ledger/weekly.py turns a closed week's trips into TAXES charges and
# EARNINGS receipts through ledger.services; ledger/dtr.py writes the reports. No posting,
# balance or receipt is written anywhere but ledger/services.py.


class TripImport(models.Model):
    """One upload of the card-payment system's trip export, and what became of its rows."""

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField("SHA-256 of the file", max_length=64)
    rows = models.PositiveIntegerField(default=0, help_text="Data rows in the file (the header not counted).")
    imported = models.PositiveIntegerField(default=0, help_text="New trips this upload added.")
    already_imported = models.PositiveIntegerField(
        default=0, help_text="Rows whose trip was already on file with the same figures (left as they were)."
    )
    invalid = models.PositiveIntegerField(default=0, help_text="Rows refused for bad data; kept for review.")
    unmatched = models.PositiveIntegerField(default=0, help_text="Rows with no lease to book them to; kept.")
    late = models.PositiveIntegerField(default=0, help_text="Rows of a week already closed; kept for review.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "trip import"

    def __str__(self) -> str:
        return f"Trip import #{self.pk} ({self.file_name})"

    @property
    def kept_for_review(self) -> int:
        return self.invalid + self.unmatched + self.late


class TripImportRow(models.Model):
    """A row of an upload that did not become a trip, with its line number, why, and its text."""

    class Kind(models.TextChoices):
        INVALID = "INVALID", "Bad data"
        UNMATCHED = "UNMATCHED", "No matching lease"
        LATE = "LATE", "Week already closed"

    batch = models.ForeignKey(TripImport, on_delete=models.CASCADE, related_name="kept_rows")
    line_number = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.TextField()
    trip_id = models.CharField(max_length=255, blank=True)
    raw = models.JSONField(default=dict, help_text="The row as it was in the file, column by column.")

    class Meta:
        ordering = ["batch_id", "line_number"]
        verbose_name = "trip row kept for review"
        verbose_name_plural = "trip rows kept for review"
        indexes = [models.Index(fields=["kind", "batch"], name="trip_row_kind_batch")]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.get_kind_display()}"


class Trip(models.Model):
    """One trip from the card-payment system, booked to the lease in force when it started."""

    class PaymentType(models.TextChoices):
        CARD = "CARD", "Card"
        CASH = "CASH", "Cash"

    trip_id = models.CharField(max_length=64, unique=True)
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="trips", db_index=False)
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="trips", db_index=False)
    medallion = models.ForeignKey("leases.Medallion", on_delete=models.PROTECT, related_name="+", db_index=False)
    period = models.DateField(help_text="The payment period (its Sunday) of the trip's start, New York time.")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    payment_type = models.CharField(max_length=4, choices=PaymentType.choices)
    fare = money_field()
    tips = money_field()
    tolls = money_field()
    mta_surcharge = money_field()
    improvement_surcharge = money_field()
    congestion_fee = money_field()
    cbdt_fee = money_field(verbose_name="CBDT fee")
    airport_fee = money_field()
    total_amount = money_field()
    batch = models.ForeignKey(TripImport, on_delete=models.PROTECT, related_name="trips", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        permissions = [("import_trips", "Can import trip files")]
        constraints = [
            models.CheckConstraint(
                condition=Q(fare__gte=0)
                & Q(tips__gte=0)
                & Q(tolls__gte=0)
                & Q(mta_surcharge__gte=0)
                & Q(improvement_surcharge__gte=0)
                & Q(congestion_fee__gte=0)
                & Q(cbdt_fee__gte=0)
                & Q(airport_fee__gte=0),
                name="trip_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    total_amount=F("fare")
                    + F("tips")
                    + F("tolls")
                    + F("mta_surcharge")
                    + F("improvement_surcharge")
                    + F("congestion_fee")
                    + F("cbdt_fee")
                    + F("airport_fee")
                ),
                name="trip_total_is_its_parts",
            ),
            models.CheckConstraint(condition=Q(end_time__gte=F("start_time")), name="trip_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["period", "lease"], name="trip_period_lease"),
            models.Index(fields=["lease", "start_time"], name="trip_lease_start"),
            models.Index(fields=["driver", "start_time"], name="trip_driver_start"),
        ]

    def __str__(self) -> str:
        return f"Trip {self.trip_id}"

    @property
    def taxes_and_fees(self):
        return self.mta_surcharge + self.improvement_surcharge + self.congestion_fee + self.cbdt_fee + self.airport_fee


class EarningsClose(models.Model):
    """The week's card earnings were booked: its TAXES and EARNINGS are in the ledger, and trips
    starting in it are refused from then on (they would change a week already reported)."""

    period = models.DateField(unique=True)
    leases = models.PositiveIntegerField(default=0, help_text="Leases with trips in the week.")
    taxes = money_field(default=0)
    earnings = money_field(default=0)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period"]
        verbose_name = "closed week of earnings"
        verbose_name_plural = "closed weeks of earnings"

    def __str__(self) -> str:
        return f"Earnings closed for {self.period:%Y-%m-%d}"


class DriverTransactionReport(models.Model):
    """A lease's weekly statement (DTR): a snapshot of the ledger as of the period's end.

    The snapshot is written once and never recomputed (the database refuses to change it, see
    migration 0004). A wrong DTR is voided with a reason and replaced by a new version.
    """

    class Status(models.TextChoices):
        ISSUED = "ISSUED", "Issued"
        VOIDED = "VOIDED", "Voided"

    dtr_number = models.CharField("DTR number", max_length=24, unique=True)
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="dtrs", db_index=False)
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="dtrs", db_index=False)
    period = models.DateField(help_text="The payment period (its Sunday).")
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED)
    snapshot = models.JSONField()
    # Copies of the snapshot's totals, for lists and filters without reading the JSON.
    card_earnings = money_field()
    subtotal_of_deductions = money_field()
    prior_balance = money_field()
    balance_carried_forward = money_field()
    total_due_to_driver = money_field()
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    pdf = models.FileField("PDF", upload_to="dtrs/", blank=True, max_length=200)
    pdf_rendered_at = models.DateTimeField("PDF rendered at", null=True, blank=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    generated_at = models.DateTimeField(auto_now_add=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-period", "dtr_number"]
        verbose_name = "driver transaction report"
        verbose_name_plural = "driver transaction reports"
        permissions = [("void_drivertransactionreport", "Can void and regenerate DTRs")]
        constraints = [
            models.UniqueConstraint(fields=["lease", "period", "version"], name="dtr_one_version_number"),
            models.UniqueConstraint(
                fields=["lease", "period"], condition=Q(status="ISSUED"), name="dtr_one_issued_per_lease_period"
            ),
            models.CheckConstraint(
                condition=Q(status="ISSUED", voided_at__isnull=True)
                | Q(status="VOIDED", voided_at__isnull=False) & ~Q(void_reason=""),
                name="dtr_voided_with_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["period", "status"], name="dtr_period_status"),
            models.Index(fields=["driver", "period"], name="dtr_driver_period"),
        ]

    def __str__(self) -> str:
        return self.dtr_number
