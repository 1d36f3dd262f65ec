from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from operations.names import job_label


class JobRun(models.Model):
    """One run of a scheduled job for a payment period, by a worker, a command or the weekly close.

    Written by `operations.jobs` only: RUNNING when the work starts (committed, so the admin shows it
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
        db_table = "batpay_jobrun"  # created by the batpay app before operations had its own
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
        return f"{job_label(self.job)}, period {self.period.isoformat()}: {self.get_status_display()}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class Shard(models.Model):
    """One piece of a fleet-wide step for a period: the leases with lease_from <= id <= lease_to.

    Written by `operations.shards` only. A step's shards are cut once per set (`generation`);
    every participant (the process running the step, and helper tasks on any worker) takes the
    next one not done under a PostgreSQL session lock of its own, does its work and marks it done
    — in the same transaction when the step is atomic — so a shard is done once, and a shard
    whose worker died is taken again (its lock went with its session).
    """

    job = models.CharField(max_length=64, help_text="The step's job: leases.post_due_installments…")
    period = models.DateField()
    generation = models.PositiveIntegerField(help_text="The set of shards: a new one per fresh run of the step.")
    lease_from = models.BigIntegerField()
    lease_to = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=128, blank=True, help_text="host:pid of the process that did it.")
    run = models.ForeignKey(
        JobRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shards",
        help_text="The step's run during which it was done.",
    )
    count = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        db_table = "operations_shard"
        ordering = ["job", "period", "generation", "lease_from"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["job", "period", "generation", "lease_from"], name="shard_unique_range"),
            models.CheckConstraint(condition=models.Q(lease_from__lte=models.F("lease_to")), name="shard_range"),
        ]

    def __str__(self) -> str:
        return f"{job_label(self.job)}, {self.period.isoformat()}, leases {self.lease_from}–{self.lease_to}"
