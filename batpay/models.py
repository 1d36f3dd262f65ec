from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
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


class Case(models.Model):
    """A guided entry (SPEC §4): a client fills a flow's steps one by one; the last creates the record.

    The flows and their steps are registered in code (`batpay.cases`); a case keeps where it is,
    what was submitted at each step, and what it created.
    """

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        COMPLETED = "COMPLETED", "Completed"

    case_no = models.CharField("case number", max_length=24, unique=True)
    flow = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    current_step = models.CharField(max_length=64, blank=True)
    submitted = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.case_no


class JobRun(models.Model):
    """One run of a scheduled job for a payment period, by a worker, a command or the weekly close.

    Written by `batpay.jobs` only: RUNNING when the work starts (committed, so the admin shows it
    while it runs), then SUCCEEDED with its figures or FAILED with the error. A run whose process
    died stays RUNNING until the next run of the same job and period marks it INTERRUPTED.
    """

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"
        INTERRUPTED = "INTERRUPTED", "Interrupted (the process stopped)"

    class Trigger(models.TextChoices):
        TASK = "TASK", "Celery task"
        COMMAND = "COMMAND", "manage.py command"
        CALL = "CALL", "Direct call"

    job = models.CharField(max_length=64, help_text="The task name: leases.post_due_installments, ledger.weekly_close…")
    period = models.DateField(help_text="The Sunday of the payment period the job worked on.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The weekly close this run was part of.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True, help_text="The Celery task id, when a worker ran it.")
    host = models.CharField(max_length=128, blank=True, help_text="host:pid of the process that ran it.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    count = models.BigIntegerField(default=0, help_text="What the job did: installments posted, steps run…")
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    errors = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        default_permissions = ("view",)
        permissions = [("run_jobrun", "Can run scheduled jobs now for a period")]
        constraints = [
            # The job lock makes this so; the index keeps it so whatever a future caller does.
            models.UniqueConstraint(
                fields=["job", "period"], condition=models.Q(status="RUNNING"), name="jobrun_one_running_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(status="RUNNING", finished_at__isnull=True)
                | (~models.Q(status="RUNNING") & models.Q(finished_at__isnull=False)),
                name="jobrun_finished_unless_running",
            ),
        ]
        indexes = [models.Index(fields=["job", "period", "status"], name="jobrun_job_period")]

    def __str__(self) -> str:
        return f"{self.job} {self.period.isoformat()} {self.status}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None
