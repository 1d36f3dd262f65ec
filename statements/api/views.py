"""The DTR API (SPEC §7) and the trip lists. Views clean the input and call the statements services and selectors."""

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from batpay.errors import InvalidInput, NotFound
from batpay.pagination import IdsFirstList
from batpay.periods import parse_period
from plans.api import ExportNegotiation
from statements import dtr, pdf, selectors
from statements.api.filters import DtrFilter, TripFilter, TripImportRowFilter
from statements.api.serializers import (
    DtrDetailSerializer,
    DtrSerializer,
    DtrVoidResultSerializer,
    DtrVoidSerializer,
    TripImportRowSerializer,
    TripImportSerializer,
    TripSerializer,
)

DTR_NUMBER = r"DTR-[0-9]{4}-[0-9]+"


def _get_dtr(dtr_number: str):
    found = selectors.dtr_detail().filter(dtr_number=dtr_number).first()
    if found is None:
        raise NotFound(f"No DTR {dtr_number}.")
    return found


@extend_schema_view(
    list=extend_schema(
        summary="Driver Transaction Reports",
        description="One per lease per period; a voided DTR stays listed beside the version that replaced it.",
        responses={200: DtrSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="One DTR with its snapshot", responses={200: DtrDetailSerializer}),
)
class DtrViewSet(IdsFirstList, viewsets.ReadOnlyModelViewSet):
    lookup_field = "dtr_number"
    lookup_value_regex = DTR_NUMBER
    filterset_class = DtrFilter
    ordering_fields = [
        "id",
        "period",
        "dtr_number",
        "generated_at",
        "card_earnings",
        "total_due_to_driver",
        "balance_carried_forward",
    ]

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.dtr_detail()
        return selectors.dtr_list().order_by("-period", "-id")

    def get_serializer_class(self):
        return DtrDetailSerializer if self.action == "retrieve" else DtrSerializer


class DtrPdfView(APIView):
    action_permissions = {"GET": ["statements.view_drivertransactionreport"]}
    # The answer is a PDF whatever the Accept header says; errors stay JSON.
    content_negotiation_class = ExportNegotiation

    @extend_schema(
        summary="A DTR as PDF",
        description="The stored PDF; rendered (and stored) now if it is missing or older than the DTR's void.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request, dtr_number: str):
        report = _get_dtr(dtr_number)
        response = HttpResponse(pdf.pdf_bytes(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{report.dtr_number}.pdf"'
        return response


class DtrDownloadView(APIView):
    action_permissions = {"GET": ["statements.export_drivertransactionreport"]}
    content_negotiation_class = ExportNegotiation

    @extend_schema(
        summary="A period's DTRs in one zip",
        description="Every DTR in force for the period (the issued versions), one PDF each, named by DTR "
        "number; streamed as it is written. Managers and Finance.",
        parameters=[OpenApiParameter("period", OpenApiTypes.DATE, required=True, description="The period's Sunday.")],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        value = request.query_params.get("period")
        if not value:
            raise InvalidInput("period is required (its Sunday, YYYY-MM-DD).", fields={"period": "Required."})
        try:
            period = parse_period(value)
        except ValueError as exc:
            raise InvalidInput(f"period: {exc}.", fields={"period": str(exc)}) from None
        response = StreamingHttpResponse(pdf.pdfs_zip(selectors.period_dtrs(period)), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{pdf.zip_name(period)}"'
        return response


class DtrVoidView(APIView):
    action_permissions = {"POST": ["statements.void_drivertransactionreport"]}

    @extend_schema(
        summary="Void a DTR and issue its next version",
        description="Voids the DTR with the reason and, in the same transaction, issues a new version (a new "
        "number) read from the ledger as of the period's end. Controllers only.",
        request=DtrVoidSerializer,
        responses={200: DtrVoidResultSerializer},
    )
    def post(self, request, dtr_number: str):
        serializer = DtrVoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        voided, replacement = dtr.void_dtr(
            dtr_number=dtr_number, reason=serializer.validated_data["reason"], actor=request.user
        )
        result = {"voided": _get_dtr(voided.dtr_number), "replacement": _get_dtr(replacement.dtr_number)}
        return Response(DtrVoidResultSerializer(result).data)


@extend_schema_view(
    list=extend_schema(summary="Imported trips", responses={200: TripSerializer(many=True)}),
    retrieve=extend_schema(summary="One trip", responses={200: TripSerializer}),
)
class TripViewSet(IdsFirstList, viewsets.ReadOnlyModelViewSet):
    serializer_class = TripSerializer
    filterset_class = TripFilter
    ordering_fields = ["id", "start_time", "total_amount", "period"]

    def get_queryset(self):
        return selectors.trip_list().order_by("-start_time", "-id")


@extend_schema_view(
    list=extend_schema(summary="Trip file imports", responses={200: TripImportSerializer(many=True)}),
    retrieve=extend_schema(summary="One trip file import", responses={200: TripImportSerializer}),
)
class TripImportViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TripImportSerializer
    ordering_fields = ["id", "created_at", "rows", "invalid", "unmatched"]

    def get_queryset(self):
        return selectors.import_list().order_by("-id")


@extend_schema_view(
    list=extend_schema(
        summary="Trip rows kept for review",
        description="Rows of trip files that did not become trips: bad data, no matching lease, or a closed week.",
        responses={200: TripImportRowSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="One kept trip row", responses={200: TripImportRowSerializer}),
)
class TripImportRowViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TripImportRowSerializer
    filterset_class = TripImportRowFilter
    ordering_fields = ["id", "batch_id", "line_number"]

    def get_queryset(self):
        return selectors.kept_row_list().order_by("-batch_id", "line_number")
