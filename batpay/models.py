import uuid

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Who did what, when and why: one row per user-visible write (Zulip's RealmAuditLog)."""

    action = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class Counter(models.Model):
    """Race-free, gap-free numbering (RPR-2025-001, DL-2025-0001, DTR-2025-000001).

    `batpay.identifiers.next_number` increments a row with one upsert, so two requests can never
    get the same number, and a rolled-back transaction gives its number back.
    """

    key = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class ExportFile(models.Model):
    """An export too long to be sent while the request waits (batpay.export_jobs): a Celery task
    writes the file under MEDIA_ROOT/exports/, and only the user who asked for it may download it."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Being prepared"
        DONE = "DONE", "Ready"
        FAILED = "FAILED", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    fmt = models.CharField("format", max_length=8)
    filename = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # What to export: the view or admin whose export_spec() gives the table (a dotted path), and the
    # list's query as the request had filtered it (Django's pickled Query, written by this server only).
    owner = models.CharField(max_length=200)
    model = models.CharField(max_length=100)
    query = models.BinaryField()
    prefetch = models.BinaryField()
    filters = models.JSONField(default=dict, blank=True)
    rows = models.IntegerField(null=True, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)  # under MEDIA_ROOT, once written
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "export"
        verbose_name_plural = "exports"

    def __str__(self) -> str:
        return f"{self.title} ({self.fmt}, {self.get_status_display()})"
