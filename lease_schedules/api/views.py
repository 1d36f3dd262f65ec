"""A lease's schedule and its early end: `GET /api/leases/{id}/schedule` (the weekly installments
and totals by status) and `POST /api/leases/{id}/terminate` (`termination_date`, `reason`,
optional `cancellation_fee`). They extend the fleet's lease resource with the same lookup,
permissions and output, so the paths stay where the lease is."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from batpay.money import ZERO
from lease_schedules.api.serializers import LeaseScheduleSerializer, LeaseTerminateSerializer
from lease_schedules.selectors import lease_schedule
from lease_schedules.services import lease_terminate
from leases.api.serializers import LeaseSerializer
from leases.api.views import LeaseViewSet
from plans.lifecycle import InstallmentStatus


class LeaseScheduleViewSet(LeaseViewSet):
    # Ending a lease early is a change of the lease (as PATCH status=TERMINATED is); seeing its
    # schedule needs the installments' view permission as well.
    action_permissions = {
        "terminate": ["leases.change_lease"],
        "schedule": ["leases.view_lease", "lease_schedules.view_leaseinstallment"],
    }

    @extend_schema(responses={200: LeaseScheduleSerializer})
    def schedule(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lease = self.get_object()
        schedule, installments = lease_schedule(lease)
        totals = dict.fromkeys(InstallmentStatus.values, ZERO)
        for item in installments:
            totals[item.status] += item.amount
        body = {
            "lease_id": lease.pk,
            "lease_number": lease.lease_number,
            "schedule_id": schedule.schedule_id if schedule else None,
            "status": schedule.status if schedule else None,
            "weekly_rate": lease.weekly_rate,
            "start_week": schedule.start_week if schedule else None,
            "scheduled_through": schedule.scheduled_through if schedule else None,
            "totals": totals,
            "installments": installments,
        }
        return Response(LeaseScheduleSerializer(body).data)

    @extend_schema(request=LeaseTerminateSerializer, responses={200: LeaseSerializer})
    def terminate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lease = self.get_object()
        incoming = LeaseTerminateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        terminated = lease_terminate(actor=request.user, lease=lease, **incoming.validated_data)
        return Response(self._output(terminated))
