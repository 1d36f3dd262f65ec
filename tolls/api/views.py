"""The tolls API (SPEC §10): the tolls with filters, ordering and exports, their reassignment and
reversal, and the E-ZPass file imports (multipart upload returning the report) with their kept rows."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from batpay.errors import NotFound
from batpay.exports import ExportSpec, export_response
from batpay.parsers import MultiPartParser
from plans.api import FORMAT_PARAMETER, ExportNegotiation, PlanSchema
from tolls import selectors, services
from tolls.api.filters import TollFilter, TollImportRowFilter
from tolls.api.serializers import (
    TollFileSerializer,
    TollImportRowSerializer,
    TollImportSerializer,
    TollReassignSerializer,
    TollReverseSerializer,
    TollSerializer,
)
from tolls.exports import TOLL_COLUMNS
from tolls.imports import import_tolls


@extend_schema_view(
    list=extend_schema(summary="E-ZPass tolls and refunds"),
    retrieve=extend_schema(summary="One E-ZPass toll or refund"),
)
class TollViewSet(viewsets.ReadOnlyModelViewSet):
    """GET /, GET /{id}/, GET /export?format=…, POST /{id}/reassign, POST /{id}/reverse."""

    serializer_class = TollSerializer
    filterset_class = TollFilter
    ordering_fields = ["id", "occurred_at", "toll_date", "amount", "period", "lane_txn_id", "status"]
    lookup_value_regex = "[0-9]+"
    schema = PlanSchema()
    export_columns = TOLL_COLUMNS
    action_permissions = {
        "export": ["tolls.export_toll"],
        "reassign": ["tolls.change_toll"],
        "reverse": ["tolls.void_toll"],
    }

    def get_queryset(self):
        return selectors.toll_list().order_by("-occurred_at", "-id")

    def get_object(self):
        toll = selectors.toll_list().filter(pk=self.kwargs["pk"]).first()
        if toll is None:
            raise NotFound(f"No toll {self.kwargs['pk']}.")
        return toll

    @extend_schema(parameters=[FORMAT_PARAMETER])
    @action(detail=False, methods=["get"], pagination_class=None, content_negotiation_class=ExportNegotiation)
    def export(self, request, *args, **kwargs):
        return export_response(request=request, owner=self, rows=self.filter_queryset(self.get_queryset()))

    def export_spec(self) -> ExportSpec:
        return ExportSpec(TOLL_COLUMNS, "E-ZPass tolls", "tolls")

    @extend_schema(request=TollReassignSerializer, responses=TollSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, *args, **kwargs):
        serializer = TollReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        toll = services.toll_reassign(
            toll_id=self.kwargs["pk"],
            lease_id=data["lease_id"],
            driver_id=data.get("driver_id"),
            reason=data["reason"],
            actor=request.user,
        )
        return Response(TollSerializer(selectors.toll_list().get(pk=toll.pk)).data)

    @extend_schema(request=TollReverseSerializer, responses=TollSerializer)
    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        serializer = TollReverseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        toll = services.toll_reverse(toll_id=self.kwargs["pk"], reason=serializer.validated_data["reason"],
                                     actor=request.user)  # fmt: skip
        return Response(TollSerializer(selectors.toll_list().get(pk=toll.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="E-ZPass file imports and their reports"),
    retrieve=extend_schema(summary="One E-ZPass file import's report"),
    create=extend_schema(
        summary="Import an E-ZPass transaction export",
        description="multipart/form-data with `file`. Bad rows are kept for review with their line and reason; "
        "a header missing a column refuses the whole file (400).",
        request={"multipart/form-data": TollFileSerializer},
        responses={201: TollImportSerializer},
    ),
)
class TollImportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TollImportSerializer
    ordering_fields = ["id", "created_at", "rows", "invalid", "unmatched"]
    lookup_value_regex = "[0-9]+"
    parser_classes = [MultiPartParser]
    action_permissions = {"create": ["tolls.import_tolls"]}

    def get_queryset(self):
        return selectors.import_list().order_by("-id")

    def create(self, request, *args, **kwargs):
        upload = TollFileSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        batch = import_tolls(stream=file, file_name=file.name, actor=request.user, size=file.size)
        return Response(TollImportSerializer(batch).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="E-ZPass rows kept for review (bad data)"),
    retrieve=extend_schema(summary="One kept E-ZPass row"),
)
class TollImportRowViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TollImportRowSerializer
    filterset_class = TollImportRowFilter
    ordering_fields = ["id", "batch_id", "line_number"]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.kept_row_list().order_by("-batch_id", "line_number")
