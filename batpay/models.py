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
