"""Each lease's weekly charges on the shared plan mechanism (SPEC §2)."""

from django.db import models
from django.db.models import Q

from plans.models import Installment, Plan, installment_constraints, installment_indexes, plan_constraints


class LeaseSchedule(Plan):
    """A lease's weekly charges on the shared plan mechanism (SPEC §2): one installment per period.

    One schedule per lease, identified by the lease number. It is OPEN from the lease's creation
    (a lease has no draft), written only by `lease_schedules.services`, and its installments are posted
    by the Sunday job as LEASE obligations. Open-ended leases are scheduled a rolling horizon
    ahead (`settings.LEASE_SCHEDULE_HORIZON_WEEKS`), which the weekly job extends.
    """

    plan_id_field = "schedule_id"

    schedule_id = models.CharField("schedule ID", max_length=32, unique=True, help_text="The lease number.")
    # A schedule is part of its lease: deleting a mistaken lease (possible only while nothing of it
    # is on the ledger, which protects the lease) takes the schedule with it.
    lease = models.OneToOneField("leases.Lease", on_delete=models.CASCADE, related_name="schedule")
    scheduled_through = models.DateField(
        null=True, blank=True, help_text="The period of the last installment written so far."
    )

    class Meta:
        # The leases app created the tables; they keep their names, and so do their constraints.
        db_table = "leases_leaseschedule"
        ordering = ["schedule_id"]
        default_permissions = ("view",)
        constraints = plan_constraints("leases_leaseschedule")


class LeaseInstallment(Installment):
    """One period's lease charge: weekly rate / 7 × days of the lease in the period, half-up."""

    # Looked up by plan through the (plan, sequence) unique index; a second index would only slow
    # the weekly writes (posting updates every due row, the horizon inserts one per lease).
    plan = models.ForeignKey(LeaseSchedule, on_delete=models.CASCADE, related_name="installments", db_index=False)
    days = models.PositiveSmallIntegerField(help_text="Days of the period the lease covers (7 for a full week).")
    weekly_rate = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="The weekly rate this installment was computed from."
    )

    class Meta(Installment.Meta):
        db_table = "leases_leaseinstallment"
        # Installments change only through the lease schedule services; nobody edits one by hand.
        default_permissions = ("view",)
        indexes = installment_indexes("leases_leaseinstallment")
        constraints = [
            *installment_constraints("leases_leaseinstallment"),
            models.UniqueConstraint(fields=["plan", "sequence"], name="lease_installment_sequence_unique"),
            models.CheckConstraint(condition=Q(days__gte=1) & Q(days__lte=7), name="lease_installment_days_in_week"),
            models.CheckConstraint(condition=Q(weekly_rate__gt=0), name="lease_installment_rate_positive"),
        ]
