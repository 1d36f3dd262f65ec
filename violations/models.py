"""Parking violations (NYC Department of Finance, ledger category PVB) and TLC summonses (category TLC).

A parking summons comes back in later files with other figures (a penalty, interest, a reduction, a
dismissal, the fleet's payment): every figure set is kept as a `ViolationVersion`, and what the driver
owes follows the latest one through `ViolationCharge` rows — each one ledger obligation, keyed
`PVB-<summons>-<n>`. A TLC summons owes once its hearing disposition makes it owed; its charges are
`TlcCharge` rows keyed `TLC-<summons>-<n>`. Charges are never edited: a lower figure voids the live
charges (payments go back to their receipts) and posts one replacement (docs/rules.md).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from batpay.money import money_field

# What the admin's and the API's lists export besides viewing (Managers), and what Controllers reverse.
PERMISSIONS = ("add", "change", "delete", "view", "export")


class ViolationImport(models.Model):
    """One upload of a Department of Finance violations file, and what became of its rows."""

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField("SHA-256 of the file", max_length=64)
    rows = models.PositiveIntegerField(default=0, help_text="Data rows in the file (the header not counted).")
    new_summonses = models.PositiveIntegerField(default=0, help_text="Summonses seen for the first time.")
    new_versions = models.PositiveIntegerField(default=0, help_text="Known summonses whose figures changed.")
    unchanged = models.PositiveIntegerField(default=0, help_text="Rows already on file with the same figures.")
    invalid = models.PositiveIntegerField(default=0, help_text="Rows refused for bad data; kept for review.")
    needs_review = models.PositiveIntegerField(
        default=0, help_text="New summonses with no lease to charge (no such plate, or no lease then)."
    )
    charged = money_field(default=0, help_text="Sum of the charges this import posted.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "violations import"
        permissions = [("import_violations", "Can import parking violation files")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"Violations import #{self.pk} ({self.file_name})"


class ViolationImportRow(models.Model):
    """A row of an upload refused for bad data, with its line number, why, and its text."""

    class Kind(models.TextChoices):
        INVALID = "INVALID", "Bad data"

    batch = models.ForeignKey(ViolationImport, on_delete=models.CASCADE, related_name="kept_rows")
    line_number = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INVALID)
    reason = models.TextField()
    summons_number = models.CharField(max_length=255, blank=True)
    raw = models.JSONField(default=dict, help_text="The row as it was in the file, column by column.")

    class Meta:
        ordering = ["batch_id", "line_number"]
        verbose_name = "violation row kept for review"
        verbose_name_plural = "violation rows kept for review"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.get_kind_display()}"


class Violation(models.Model):
    """A parking or camera summons of the Department of Finance, charged to the driver who incurred it."""

    class Review(models.TextChoices):
        ATTRIBUTED = "ATTRIBUTED", "Charged to a driver"
        NEEDS_REVIEW = "NEEDS_REVIEW", "Needs review"

    class AttributedBy(models.TextChoices):
        TRIP = "TRIP", "A trip within two hours"
        PRIMARY = "PRIMARY", "The lease's primary driver"
        STAFF = "STAFF", "Entered or reassigned by staff"

    summons_number = models.CharField(max_length=20, unique=True)
    plate = models.CharField(max_length=16)
    state = models.CharField(max_length=4, blank=True)
    license_type = models.CharField(max_length=8, blank=True)
    issue_date = models.DateField()
    violation_time = models.CharField(max_length=8, help_text="As the file writes it, e.g. 10:05A.")
    violated_at = models.DateTimeField(help_text="Issue date and violation time, New York time.")
    violation = models.CharField(max_length=120)
    precinct = models.CharField(max_length=8, blank=True)
    county = models.CharField(max_length=8, blank=True)
    issuing_agency = models.CharField(max_length=64, blank=True)
    vehicle = models.ForeignKey(
        "leases.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="violations"
    )
    lease = models.ForeignKey("leases.Lease", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    driver = models.ForeignKey("leases.Driver", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    medallion = models.ForeignKey("leases.Medallion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    review = models.CharField(max_length=12, choices=Review.choices)
    review_reason = models.TextField(blank=True)
    attributed_by = models.CharField(max_length=8, choices=AttributedBy.choices, blank=True)
    # The latest version's figures, copied for lists and filters (the versions keep them all).
    status = models.CharField("violation status", max_length=64, blank=True)
    fine_amount = money_field()
    amount_due = money_field()
    driver_total = money_field(help_text="What the driver owes for the latest version, processing fee included.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        default_permissions = PERMISSIONS
        permissions = [("void_violation", "Can reverse parking violation charges")]
        constraints = [
            models.CheckConstraint(
                condition=Q(review="NEEDS_REVIEW") | (Q(lease__isnull=False) & Q(driver__isnull=False)),
                name="violation_attributed_has_driver",
            ),
        ]
        indexes = [
            models.Index(fields=["driver", "issue_date"], name="violation_driver_date"),
            models.Index(fields=["lease", "issue_date"], name="violation_lease_date"),
            models.Index(fields=["review", "issue_date"], name="violation_review_date"),
        ]

    def __str__(self) -> str:
        return f"Summons {self.summons_number}"


class ViolationVersion(models.Model):
    """One set of figures a summons had in a file (or as entered): every version is kept."""

    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    batch = models.ForeignKey(ViolationImport, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    line_number = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField("violation status", max_length=64, blank=True)
    judgment_entry_date = models.DateField(null=True, blank=True)
    fine_amount = money_field()
    penalty_amount = money_field(default=0)
    interest_amount = money_field(default=0)
    reduction_amount = money_field(default=0)
    payment_amount = money_field(default=0)
    amount_due = money_field(default=0)
    dismissed = models.BooleanField(default=False)
    driver_total = money_field(help_text="What the driver owes for this version, processing fee included.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["violation_id", "number"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["violation", "number"], name="violation_version_unique"),
            models.CheckConstraint(
                condition=Q(fine_amount__gte=0)
                & Q(penalty_amount__gte=0)
                & Q(interest_amount__gte=0)
                & Q(reduction_amount__gte=0)
                & Q(payment_amount__gte=0)
                & Q(amount_due__gte=0)
                & Q(driver_total__gte=0),
                name="violation_version_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.violation_id} v{self.number}"


class Charge(models.Model):
    """One ledger obligation a summons produced (`source_reference`), and whether it was voided since."""

    class Kind(models.TextChoices):
        CHARGE = "CHARGE", "Charge"
        INCREASE = "INCREASE", "Increase"
        REPLACEMENT = "REPLACEMENT", "Replacement of a lower amount"
        REASSIGNMENT = "REASSIGNMENT", "Reassigned"

    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source_reference = models.CharField(max_length=64, unique=True)
    amount = money_field()
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="+")
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["sequence"]
        default_permissions = ("view",)

    @property
    def live(self) -> bool:
        return self.voided_at is None


class ViolationCharge(Charge):
    violation = models.ForeignKey(Violation, on_delete=models.PROTECT, related_name="charges")
    version = models.ForeignKey(ViolationVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta(Charge.Meta):
        constraints = [
            models.UniqueConstraint(fields=["violation", "sequence"], name="violation_charge_sequence_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="violation_charge_positive"),
        ]

    def __str__(self) -> str:
        return self.source_reference


# --- TLC summonses -------------------------------------------------------------------------------


class Disposition(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PAID = "PAID", "Paid"
    REDUCED = "REDUCED", "Reduced"
    DISMISSED = "DISMISSED", "Dismissed"


# The standard types (migration 0002 seeds them; violations.apps makes them exist again after a flush).
TLC_VIOLATION_TYPES = ("Failure to Inspect", "Failure to Comply", "Reinspection Fee", "Directive", "Enforcement Action")


class TlcViolationType(models.Model):
    """The kinds of TLC summons, a list Finance keeps in the admin."""

    name = models.CharField(max_length=80, unique=True)
    active = models.BooleanField(default=True, help_text="Offered for new summonses.")

    class Meta:
        ordering = ["name"]
        verbose_name = "TLC violation type"
        default_permissions = PERMISSIONS

    def __str__(self) -> str:
        return self.name


class TlcSummons(models.Model):
    """A summons of the Taxi and Limousine Commission against a driver, owed once its hearing decides."""

    summons_number = models.CharField(max_length=20, unique=True)
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="tlc_summonses")
    lease = models.ForeignKey("leases.Lease", on_delete=models.PROTECT, related_name="tlc_summonses")
    medallion = models.ForeignKey("leases.Medallion", on_delete=models.PROTECT, related_name="tlc_summonses")
    violation_type = models.ForeignKey(TlcViolationType, on_delete=models.PROTECT, related_name="summonses")
    violation_date = models.DateField()
    amount = money_field(help_text="The summons' amount as issued.")
    reduced_amount = money_field(null=True, blank=True, help_text="The amount after a reduction at the hearing.")
    disposition = models.CharField(max_length=10, choices=Disposition.choices, default=Disposition.PENDING)
    document = models.FileField("scanned summons", upload_to="tlc_summonses/%Y/", blank=True, max_length=200)
    owed = money_field(default=0, help_text="What the driver owes now, service fee included.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-violation_date", "-id"]
        verbose_name = "TLC summons"
        verbose_name_plural = "TLC summonses"
        default_permissions = PERMISSIONS
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="tlc_amount_positive"),
            models.CheckConstraint(
                condition=Q(reduced_amount__isnull=True) | Q(reduced_amount__gt=0), name="tlc_reduced_positive"
            ),
            models.CheckConstraint(
                condition=~Q(disposition="REDUCED") | Q(reduced_amount__isnull=False), name="tlc_reduced_has_amount"
            ),
            models.CheckConstraint(condition=Q(owed__gte=0), name="tlc_owed_not_negative"),
        ]
        indexes = [
            models.Index(fields=["driver", "violation_date"], name="tlc_driver_date"),
            models.Index(fields=["lease", "violation_date"], name="tlc_lease_date"),
        ]

    def __str__(self) -> str:
        return f"TLC summons {self.summons_number}"


class TlcCharge(Charge):
    summons = models.ForeignKey(TlcSummons, on_delete=models.PROTECT, related_name="charges")

    class Meta(Charge.Meta):
        constraints = [
            models.UniqueConstraint(fields=["summons", "sequence"], name="tlc_charge_sequence_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tlc_charge_positive"),
        ]

    def __str__(self) -> str:
        return self.source_reference


class TlcSummonsEvent(models.Model):
    """The trail of a summons: each disposition change with what the driver owed before and after."""

    summons = models.ForeignKey(TlcSummons, on_delete=models.CASCADE, related_name="events")
    from_disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)
    to_disposition = models.CharField(max_length=10, choices=Disposition.choices)
    owed_before = money_field()
    owed_after = money_field()
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["summons_id", "id"]
        verbose_name = "TLC summons event"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.from_disposition or '—'} → {self.to_disposition}"
