from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from batpay.api import refuse_unknown_parameters
from batpay.errors import NotFound
from cockpit import account as accounts
from cockpit.api.serializers import DriverAccountSerializer
from leases.models import Driver


class DriverAccountView(APIView):
    action_permissions = {"GET": ["ledger.view_obligationbalance"]}

    @extend_schema(
        summary="A driver's whole account",
        description="What the driver owes by category and age (0–7, 8–30, 31–60, 61–90, 90+ days since the due "
        "week began), their plans with paid and outstanding, the latest receipts and DTRs, credit waiting and "
        "money held — the admin's account page as data.",
        responses={200: DriverAccountSerializer},
    )
    def get(self, request, driver_id: int):
        refuse_unknown_parameters(request, [api_settings.URL_FORMAT_OVERRIDE])
        driver = Driver.objects.filter(pk=driver_id).first()
        if driver is None:
            raise NotFound(f"No driver with id {driver_id}.")
        found = accounts.account(driver=driver, today=timezone.localdate(), user=request.user)
        data = {
            "driver_id": driver.pk,
            "driver_name": driver.full_name,
            "tlc_license_number": driver.tlc_license_number,
            "as_of": found.today,
            "outstanding": found.outstanding,
            "credit_waiting": found.credit_waiting,
            "leases": [{"id": x.pk, "lease_number": x.lease_number, "status": x.status} for x in found.leases],
            "ageing": [
                {
                    "category": row.category,
                    "label": row.label,
                    **dict(zip(accounts.BUCKET_KEYS, row.buckets, strict=True)),
                    "outstanding": row.outstanding,
                }
                for row in found.ageing
            ],
            "plans": found.plans,
            "receipts": found.receipts,
            "dtrs": found.dtrs,
            "held": found.held,
        }
        return Response(DriverAccountSerializer(data).data)
