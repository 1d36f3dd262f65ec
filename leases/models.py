"""Fleet reference data (SPEC §2): drivers, vehicles, medallions and the leases that tie them.
Each lease's weekly schedule of charges is `lease_schedules`'."""

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

TLC_LICENSE_RE = r"^[0-9]{7}$"
VIN_RE = r"^[A-HJ-NPR-Z0-9]{17}$"
MEDALLION_RE = r"^[0-9][A-Z][0-9]{2}$"

# Exporting a list is its own permission (SPEC §8: Managers export everything), so the admin's
# export checks `leases.export_<model>` rather than mere viewing.
FLEET_PERMISSIONS = ("add", "change", "delete", "view", "export")

tlc_license_validator = RegexValidator(
    TLC_LICENSE_RE, "A TLC license number is exactly 7 digits.", code="invalid_tlc_license"
)
vin_validator = RegexValidator(
    VIN_RE,
    "A VIN is 17 characters, letters and digits, without I, O or Q.",
    code="invalid_vin",
)
medallion_validator = RegexValidator(
    MEDALLION_RE,
    "A medallion number is a digit, a letter and two digits, like 2Y47.",
    code="invalid_medallion_number",
)


class Driver(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        SUSPENDED = "SUSPENDED", "Suspended"
        INACTIVE = "INACTIVE", "Inactive"

    class PayTo(models.TextChoices):
        ACH = "ACH", "ACH"
        CHECK = "CHECK", "Check"

    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    tlc_license_number = models.CharField(
        "TLC license number", max_length=7, unique=True, validators=[tlc_license_validator]
    )
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    pay_to_mode = models.CharField(max_length=8, choices=PayTo.choices, default=PayTo.ACH)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        default_permissions = FLEET_PERMISSIONS
        constraints = [
            models.CheckConstraint(
                condition=Q(tlc_license_number__regex=TLC_LICENSE_RE), name="driver_tlc_license_7_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.tlc_license_number})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Vehicle(models.Model):
    vin = models.CharField("VIN", max_length=17, unique=True, validators=[vin_validator])
    plate_number = models.CharField(max_length=16)
    make = models.CharField(max_length=40)
    model = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField(validators=[MinValueValidator(1990)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vin"]
        default_permissions = FLEET_PERMISSIONS
        constraints = [
            models.CheckConstraint(condition=Q(vin__regex=VIN_RE), name="vehicle_vin_format"),
            models.CheckConstraint(condition=Q(year__gte=1990) & Q(year__lte=2100), name="vehicle_year_range"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.make} {self.model} ({self.plate_number})"


class Medallion(models.Model):
    class Type(models.TextChoices):
        REGULAR = "REGULAR", "Regular"
        WAV = "WAV", "Wheelchair accessible (WAV)"

    number = models.CharField(max_length=8, unique=True, validators=[medallion_validator])
    medallion_type = models.CharField(max_length=8, choices=Type.choices, default=Type.REGULAR)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        default_permissions = FLEET_PERMISSIONS

    def __str__(self) -> str:
        return self.number


class Lease(models.Model):
    class Type(models.TextChoices):
        DOV = "DOV", "Driver-owned vehicle"
        LONG_TERM = "LONG_TERM", "Long term"
        SHIFT = "SHIFT", "Shift"
        SHORT_TERM = "SHORT_TERM", "Short term"
        MEDALLION_ONLY = "MEDALLION_ONLY", "Medallion only"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        SUSPENDED = "SUSPENDED", "Suspended"
        TERMINATED = "TERMINATED", "Terminated"
        EXPIRED = "EXPIRED", "Expired"
        CANCELLED = "CANCELLED", "Cancelled"

    lease_number = models.CharField(max_length=32, unique=True)
    lease_type = models.CharField(max_length=16, choices=Type.choices)
    primary_driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="primary_leases")
    additional_drivers = models.ManyToManyField(Driver, blank=True, related_name="additional_leases")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="leases")
    medallion = models.ForeignKey(Medallion, on_delete=models.PROTECT, related_name="leases")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    weekly_rate = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "lease_number"]
        default_permissions = FLEET_PERMISSIONS
        constraints = [
            models.UniqueConstraint(
                fields=["medallion"],
                condition=Q(status="ACTIVE"),
                name="one_active_lease_per_medallion",
                violation_error_message="This medallion already has an ACTIVE lease.",
            ),
            models.CheckConstraint(condition=Q(weekly_rate__gt=0), name="lease_weekly_rate_positive"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="lease_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.lease_number
