"""The payouts API. Views clean the input and call payouts.services (writes) or payouts.selectors
(reads); a DomainError from a service reaches the project's exception handler."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from batpay.errors import Conflict, NotFound
from payouts import selectors, services
from payouts.api.filters import PayoutFilter, PayoutRunFilter
from payouts.api.serializers import (
    AchReturnSerializer,
    CancelRunSerializer,
    CheckVoidSerializer,
    PayoutRunSerializer,
    PayoutSerializer,
    PrepareRunSerializer,
)
from plans.api import ExportNegotiation


def _run(pk: int):
    found = selectors.runs().filter(pk=pk).first() if 0 < pk < 2**63 else None
    if found is None:
        raise NotFound(f"No payout run {pk}.")
    return found


@extend_schema_view(
    list=extend_schema(summary="Payout runs", responses={200: PayoutRunSerializer(many=True)}),
    retrieve=extend_schema(summary="One payout run", responses={200: PayoutRunSerializer}),
    create=extend_schema(
        summary="Prepare the payout run of a closed period",
        description="Money due first pays what each driver owes (balances due by the period, in waterfall "
        "order); then one payout per driver with money due of at least the minimum (ACH or check). A period that "
        "has a run answers it (200) and prepares nothing. Finance; a Controller approves.",
        request=PrepareRunSerializer,
        responses={201: PayoutRunSerializer, 200: PayoutRunSerializer},
    ),
)
class PayoutRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    filterset_class = PayoutRunFilter
    serializer_class = PayoutRunSerializer
    ordering_fields = ["id", "period", "number", "total", "prepared_at"]
    action_permissions = {"create": ["payouts.prepare_payoutrun"]}

    def get_queryset(self):
        return selectors.runs()

    def create(self, request, *args, **kwargs):
        serializer = PrepareRunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, created = services.prepare_run(period=serializer.validated_data["period"], actor=request.user)
        body = PayoutRunSerializer(_run(run.pk)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RunApproveView(APIView):
    action_permissions = {"POST": ["payouts.approve_payoutrun"]}

    @extend_schema(
        summary="Approve a prepared payout run",
        description="The checker: never the user who prepared it (409). Draws every payout from the drivers' "
        "money due in the ledger and numbers the checks and ACH entries. Controllers only.",
        request=None,
        responses={200: PayoutRunSerializer},
    )
    def post(self, request, pk: int):
        run = services.approve_run(run_id=pk, actor=request.user)
        return Response(PayoutRunSerializer(_run(run.pk)).data)


class RunCancelView(APIView):
    action_permissions = {"POST": ["payouts.approve_payoutrun"]}

    @extend_schema(
        summary="Cancel a prepared payout run",
        description="Nothing was paid; the period can be prepared again. Controllers only.",
        request=CancelRunSerializer,
        responses={200: PayoutRunSerializer},
    )
    def post(self, request, pk: int):
        serializer = CancelRunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.cancel_run(run_id=pk, reason=serializer.validated_data["reason"], actor=request.user)
        return Response(PayoutRunSerializer(_run(run.pk)).data)


class RunPaidView(APIView):
    action_permissions = {"POST": ["payouts.prepare_payoutrun"]}

    @extend_schema(
        summary="Mark an approved payout run paid",
        description="Its ACH file was sent and its checks mailed. Only an approved run (409 otherwise).",
        request=None,
        responses={200: PayoutRunSerializer},
    )
    def post(self, request, pk: int):
        run = services.mark_paid(run_id=pk, actor=request.user)
        return Response(PayoutRunSerializer(_run(run.pk)).data)


class _RunFileView(APIView):
    action_permissions = {"GET": ["payouts.export_payoutrun"]}
    content_negotiation_class = ExportNegotiation
    content_type = ""
    suffix = ""

    def content(self, run) -> bytes | str:
        raise NotImplementedError

    def get(self, request, pk: int):
        run = _run(pk)
        try:
            content = self.content(run)
        except Conflict as exc:
            # A run's files exist once it is approved: before that there is nothing to read (a GET
            # answers no 409, batpay.schema).
            raise NotFound(exc.message) from exc
        response = HttpResponse(content, content_type=self.content_type)
        response["Content-Disposition"] = f'attachment; filename="{run.number}{self.suffix}"'
        return response


class RunNachaView(_RunFileView):
    content_type = "text/plain; charset=us-ascii"
    suffix = ".ach"

    @extend_schema(
        summary="The run's NACHA file (ACH payouts)",
        description="PPD credits, 94-character records in blocks of 10. Only an approved run (404 before).",
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    def get(self, request, pk: int):
        return super().get(request, pk)

    def content(self, run):
        return services.nacha_file(run)


class RunCheckRegisterView(_RunFileView):
    content_type = "application/pdf"
    suffix = "-checks.pdf"

    @extend_schema(
        summary="The run's check register (PDF)",
        description="One stub per check with the statements (DTR numbers) it pays. Only an approved run.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int):
        return super().get(request, pk)

    def content(self, run):
        return services.check_register_pdf(run)


class RunPositivePayView(_RunFileView):
    content_type = "text/csv; charset=utf-8"
    suffix = "-positive-pay.csv"

    @extend_schema(
        summary="The run's checks as the bank's positive-pay CSV",
        description="Account, check number, issue date, amount, payee, V for a voided check. Only an approved run.",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, pk: int):
        return super().get(request, pk)

    def content(self, run):
        return services.positive_pay_csv(run)


@extend_schema_view(
    list=extend_schema(summary="Payouts", responses={200: PayoutSerializer(many=True)}),
    retrieve=extend_schema(summary="One payout", responses={200: PayoutSerializer}),
)
class PayoutViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = PayoutFilter
    serializer_class = PayoutSerializer
    ordering_fields = ["id", "amount", "check_number", "trace_number"]

    def get_queryset(self):
        return selectors.payouts()


class AchReturnView(APIView):
    action_permissions = {"POST": ["payouts.return_payout"]}

    @extend_schema(
        summary="Enter an ACH return",
        description="Reverses the payout with that trace number: the money is due to the driver again and the "
        "next run pays it. Entering the same return again changes nothing.",
        request=AchReturnSerializer,
        responses={200: PayoutSerializer},
    )
    def post(self, request):
        serializer = AchReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payout = services.return_ach(
            trace_number=data["trace_number"],
            return_code=data["return_code"],
            returned_on=data.get("returned_on"),
            actor=request.user,
        )
        return Response(PayoutSerializer(selectors.payouts().get(pk=payout.pk)).data)


class CheckVoidView(APIView):
    action_permissions = {"POST": ["payouts.void_payout"]}

    @extend_schema(
        summary="Void an issued check",
        description="Reverses the payout of that check: the money is due to the driver again and the next run "
        "pays it. Voiding it again changes nothing. Controllers only.",
        request=CheckVoidSerializer,
        responses={200: PayoutSerializer},
    )
    def post(self, request):
        serializer = CheckVoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payout = services.void_check(check_number=data["check_number"], reason=data["reason"], actor=request.user)
        return Response(PayoutSerializer(selectors.payouts().get(pk=payout.pk)).data)
