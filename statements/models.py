"""Trips, the weekly close of earnings and the Driver Transaction Report (SPEC §5).

Trips are the card-payment system's data, not ledger entries: `statements.trips` writes them and
the import batches. `statements.close` turns a closed week's trips into TAXES charges and EARNINGS
receipts through ledger.services; `statements.dtr` writes the reports.

The tables were created by the ledger app and keep their names (`ledger_trip`, …).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from batpay.money import money_field

# The surcharges and fees the fleet remits for the driver: the week's TAXES charge. The one
# definition: the weekly close's SQL, the DTR's sums, the trip API and the admin are built from it.
TAX_COLUMNS = ("mta_surcharge", "improvement_surcharge", "congestion_fee", "cbdt_fee", "airport_fee")


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
        db_table = "ledger_tripimport"  # created by the ledger app before statements had its own
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
        db_table = "ledger_tripimportrow"  # created by the ledger app before statements had its own
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
        db_table = "ledger_trip"  # created by the ledger app before statements had its own
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
        return sum(getattr(self, column) for column in TAX_COLUMNS)


class EarningsClose(models.Model):
    """The week's card earnings are being booked (`completed_at` empty: the close's shards are
    running) or were booked (its TAXES and EARNINGS are in the ledger); either way trips starting
    in it are refused from the moment the row exists (they would change a week being reported)."""

    period = models.DateField(unique=True)
    leases = models.PositiveIntegerField(default=0, help_text="Leases with trips in the week.")
    taxes = money_field(default=0)
    earnings = money_field(default=0)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(
        auto_now_add=True, help_text="When the close started: trips were refused from then."
    )
    completed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When every lease's taxes and earnings were booked; DTRs and payouts wait for it.",
    )

    class Meta:
        db_table = "ledger_earningsclose"  # created by the ledger app before statements had its own
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
        db_table = "ledger_drivertransactionreport"  # created by the ledger app before statements had its own
        ordering = ["-period", "dtr_number"]
        verbose_name = "driver transaction report"
        verbose_name_plural = "driver transaction reports"
        permissions = [
            ("void_drivertransactionreport", "Can void and regenerate DTRs"),
            ("export_drivertransactionreport", "Can export DTR lists and download a period's DTRs"),
        ]
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
            models.Index(fields=["period", "id"], name="dtr_list_order"),  # the list's order, newest first
        ]

    def __str__(self) -> str:
        return self.dtr_number
