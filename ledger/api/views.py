"""The ledger API (SPEC §7). Views clean the input and call ledger.services (writes) or
ledger.selectors (reads); a DomainError from a service reaches the project's exception handler,
which answers in the one error shape."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from batpay.api import refuse_unknown_parameters
from batpay.errors import NotFound
from batpay.money import ZERO
from batpay.pagination import IdsFirstList
from leases.models import Driver
from ledger import selectors, services
from ledger.api.filters import BalanceFilter, PostingFilter, ReceiptFilter, RefundFilter
from ledger.api.serializers import (
    ApplyCreditSerializer,
    AsOfQuerySerializer,
    DriverPositionSerializer,
    InterimPaymentResultSerializer,
    InterimPaymentSerializer,
    ObligationBalanceSerializer,
    PostingSerializer,
    PostingVoidSerializer,
    ReceiptDetailSerializer,
    ReceiptSerializer,
    RefundCreditSerializer,
    RefundSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="Ledger postings", responses={200: PostingSerializer(many=True)}),
    retrieve=extend_schema(summary="One posting", responses={200: PostingSerializer}),
)
class PostingViewSet(IdsFirstList, viewsets.ReadOnlyModelViewSet):
    serializer_class = PostingSerializer
    filterset_class = PostingFilter
    ordering_fields = ["id", "created_at", "effective_date", "period", "amount", "category", "entry_type", "status"]

    def get_queryset(self):
        return selectors.postings_with_reversal()

    def list_queryset(self):
        return selectors.posting_list()


@extend_schema_view(
    list=extend_schema(summary="Obligation balances", responses={200: ObligationBalanceSerializer(many=True)}),
    retrieve=extend_schema(summary="One obligation balance", responses={200: ObligationBalanceSerializer}),
)
class BalanceViewSet(IdsFirstList, viewsets.ReadOnlyModelViewSet):
    serializer_class = ObligationBalanceSerializer
    filterset_class = BalanceFilter
    ordering_fields = ["id", "created_at", "due_period", "priority", "original_amount", "outstanding", "status"]

    def get_queryset(self):
        return selectors.balances()


@extend_schema_view(
    list=extend_schema(summary="Receipts", responses={200: ReceiptSerializer(many=True)}),
    retrieve=extend_schema(summary="One receipt with its postings", responses={200: ReceiptDetailSerializer}),
)
class ReceiptViewSet(IdsFirstList, viewsets.ReadOnlyModelViewSet):
    filterset_class = ReceiptFilter
    ordering_fields = ["id", "created_at", "received_on", "period", "amount", "unapplied"]

    def get_queryset(self):
        return selectors.receipts_with_postings() if self.action == "retrieve" else selectors.receipts()

    def get_serializer_class(self):
        return ReceiptDetailSerializer if self.action == "retrieve" else ReceiptSerializer


@extend_schema_view(
    list=extend_schema(summary="Refunds of credit", responses={200: RefundSerializer(many=True)}),
    retrieve=extend_schema(summary="One refund", responses={200: RefundSerializer}),
)
class RefundViewSet(IdsFirstList, viewsets.ReadOnlyModelViewSet):
    serializer_class = RefundSerializer
    filterset_class = RefundFilter
    ordering_fields = ["id", "amount", "refunded_on", "created_at"]

    def get_queryset(self):
        return selectors.refunds()


class ReceiptApplyCreditView(APIView):
    action_permissions = {"POST": ["ledger.apply_credit"]}

    @extend_schema(
        summary="Apply a receipt's credit to a balance",
        description="Spends an interim payment's or prepayment's unapplied money on an open balance of the same "
        "driver, on any lease (not TAXES) — credit a terminated lease will never use. Returns the payment posting. "
        "Controllers only.",
        request=ApplyCreditSerializer,
        responses={201: PostingSerializer},
    )
    def post(self, request, pk: int):
        serializer = ApplyCreditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        posting = services.apply_credit(
            receipt_id=pk,
            balance_id=data["balance_id"],
            amount=data.get("amount"),
            reason=data["reason"],
            actor=request.user,
        )
        body = PostingSerializer(selectors.postings_with_reversal().get(pk=posting.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class ReceiptRefundView(APIView):
    action_permissions = {"POST": ["ledger.refund_credit"]}

    @extend_schema(
        summary="Refund a receipt's credit to the driver",
        description="Hands an interim payment's or prepayment's unapplied money back to the driver (cash, check "
        "or ACH, with its reference); no charge can take it afterwards. Controllers only.",
        request=RefundCreditSerializer,
        responses={201: RefundSerializer},
    )
    def post(self, request, pk: int):
        serializer = RefundCreditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        refund = services.refund_credit(
            receipt_id=pk,
            amount=data.get("amount"),
            method=data["method"],
            reference=data["reference"],
            reason=data["reason"],
            refunded_on=data.get("refunded_on"),
            actor=request.user,
        )
        return Response(RefundSerializer(selectors.refunds().get(pk=refund.pk)).data, status=status.HTTP_201_CREATED)


class PostingVoidView(APIView):
    action_permissions = {"POST": ["ledger.void_posting"]}

    @extend_schema(
        summary="Void a posting",
        description="Reverses the posting, dated today (a CREDIT reopens its balance and returns the money to its "
        "receipt; a DEBIT first releases the payments on its obligation). Money handed back is spent at once: "
        "credit pays the lease's open LEASE balances oldest first; earnings pay what the driver owes through "
        "this week in priority order, the rest is due to the driver. Returns the reversal. Controllers only.",
        request=PostingVoidSerializer,
        responses={200: PostingSerializer},
    )
    def post(self, request, pk: int):
        serializer = PostingVoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reversal = services.void_posting(posting=pk, reason=serializer.validated_data["reason"], actor=request.user)
        return Response(PostingSerializer(selectors.postings_with_reversal().get(pk=reversal.pk)).data)


class InterimPaymentView(APIView):
    action_permissions = {"POST": ["ledger.record_interim_payment"]}

    @extend_schema(
        summary="Record an interim payment",
        description="The allocations are paid first; the rest of the amount pays the lease's open LEASE balances "
        "oldest first, and what is left stays as the lease's prepayment credit. Retrying with the same "
        "Idempotency-Key returns the same receipt and writes nothing. Cashiers only.",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Caller-chosen key (at most 100 characters) that makes a retry a no-op.",
            )
        ],
        request=InterimPaymentSerializer,
        responses={201: InterimPaymentResultSerializer},
    )
    def post(self, request):
        serializer = InterimPaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        receipt = services.apply_interim_payment(
            driver=data["driver"],
            lease=data["lease"],
            amount=data["amount"],
            method=data["payment_method"],
            allocations=[services.Allocation(a["balance_id"], a["amount"]) for a in data.get("allocations", [])],
            actor=request.user,
            idempotency_key=request.headers.get("Idempotency-Key"),
            received_on=data.get("received_on"),
            note=data.get("note", ""),
        )
        result = {
            "receipt": selectors.receipts().get(pk=receipt.pk),
            "postings": selectors.postings_with_reversal().filter(receipt_id=receipt.pk).order_by("id"),
            "prepayment_credit": selectors.prepayment_credit(driver_id=receipt.driver_id, lease_id=receipt.lease_id),
        }
        return Response(InterimPaymentResultSerializer(result).data, status=status.HTTP_201_CREATED)


class DriverBalancesView(APIView):
    action_permissions = {"GET": ["ledger.view_obligationbalance"]}

    @extend_schema(
        summary="A driver's balances as of a date",
        description="Computed from the postings effective on or before the end of `as_of`, so a past date "
        "reads the same after later payments and voids. Grouped per lease and category, in payment priority.",
        parameters=[AsOfQuerySerializer],
        responses={200: DriverPositionSerializer},
    )
    def get(self, request, driver_id: int):
        refuse_unknown_parameters(request, [*AsOfQuerySerializer().fields, api_settings.URL_FORMAT_OVERRIDE])
        query = AsOfQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of") or timezone.localdate()
        driver = Driver.objects.filter(pk=driver_id).first()
        if driver is None:
            raise NotFound(f"No driver with id {driver_id}.")
        leases = selectors.driver_position_as_of(driver_id=driver.pk, as_of=as_of)
        position = {
            "driver_id": driver.pk,
            "driver_name": driver.full_name,
            "as_of": as_of,
            "outstanding": sum((lease.outstanding for lease in leases), ZERO),
            "leases": leases,
        }
        return Response(DriverPositionSerializer(position).data)
