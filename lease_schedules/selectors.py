"""Reads of lease schedules."""

from lease_schedules.models import LeaseInstallment, LeaseSchedule
from leases.models import Lease


def lease_schedule(lease: Lease) -> tuple[LeaseSchedule | None, list[LeaseInstallment]]:
    """The lease's schedule and its installments by period (two queries); (None, []) for a lease
    entered already closed, which has none."""
    schedule = LeaseSchedule.objects.filter(lease=lease).first()
    if schedule is None:
        return None, []
    return schedule, list(schedule.installments.order_by("period_start"))
