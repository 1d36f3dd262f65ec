"""The violations API: parking summonses (imports, entry, reassignment) and TLC summonses.
Views clean the input and call `violations.services` / `violations.imports`; reads come from selectors."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from batpay.errors import NotFound
from batpay.exports import ExportSpec, export_response
from batpay.parsers import MultiPartParser
from plans.api import FORMAT_PARAMETER, ExportNegotiation, PlanSchema
from violations import imports, selectors, services
from violations.api.filters import TlcSummonsFilter, ViolationFilter
from violations.api.serializers import (
    ReassignSerializer,
    TlcDispositionSerializer,
    TlcSummonsCreateSerializer,
    TlcSummonsDetailSerializer,
    TlcSummonsSerializer,
    TlcViolationTypeSerializer,
    ViolationCreateSerializer,
    ViolationDetailSerializer,
    ViolationImportDetailSerializer,
    ViolationImportSerializer,
    ViolationImportUploadSerializer,
    ViolationReverseSerializer,
    ViolationSerializer,
)
from violations.exports import TLC_COLUMNS, VIOLATION_COLUMNS


class _Exporting:
    export_columns: list
    export_title: str
    export_basename: str
    schema = PlanSchema()

    @extend_schema(parameters=[FORMAT_PARAMETER])
    @action(detail=False, methods=["get"], pagination_class=None, content_negotiation_class=ExportNegotiation)
    def export(self, request, *args, **kwargs):
        return export_response(request=request, owner=self, rows=self.filter_queryset(self.get_queryset()))

    def export_spec(self) -> ExportSpec:
        return ExportSpec(self.export_columns, self.export_title, self.export_basename)


def _get(queryset: QuerySet, pk, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No {what} {pk}.")
    return found


@extend_schema_view(
    list=extend_schema(summary="Parking violations (PVB)", responses=ViolationSerializer(many=True)),
    retrieve=extend_schema(
        summary="One parking violation with its versions and charges", responses=ViolationDetailSerializer
    ),
    create=extend_schema(
        summary="Enter a parking violation by hand",
        request=ViolationCreateSerializer,
        responses={201: ViolationDetailSerializer},
    ),
    reverse=extend_schema(
        summary="Reverse a violation's charges (Controllers)",
        description="Voids every live charge of the summons with the reason; it then waits for review.",
        request=ViolationReverseSerializer,
        responses=ViolationDetailSerializer,
    ),
    reassign=extend_schema(
        summary="Charge a violation to another driver and lease",
        request=ReassignSerializer,
        responses=ViolationDetailSerializer,
    ),
)
class ViolationViewSet(_Exporting, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    filterset_class = ViolationFilter
    ordering_fields = ["id", "issue_date", "summons_number", "driver_total", "fine_amount", "created_at"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {
        "reassign": ["violations.change_violation"],
        "reverse": ["violations.void_violation"],
        "export": ["violations.export_violation"],
    }
    export_columns = VIOLATION_COLUMNS
    export_title = "Parking violations"
    export_basename = "violations"

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.violation_detail()
        return selectors.violation_list().order_by("-issue_date", "-id")

    def get_serializer_class(self):
        return ViolationDetailSerializer if self.action == "retrieve" else ViolationSerializer

    def create(self, request, *args, **kwargs):
        serializer = ViolationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        violation = services.violation_create(actor=request.user, **serializer.validated_data)
        body = ViolationDetailSerializer(_get(selectors.violation_detail(), violation.pk, "violation")).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def reassign(self, request, *args, **kwargs):
        serializer = ReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        violation = services.violation_reassign(
            violation_id=int(kwargs["pk"]), actor=request.user, **serializer.validated_data
        )
        return Response(ViolationDetailSerializer(_get(selectors.violation_detail(), violation.pk, "violation")).data)

    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        serializer = ViolationReverseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        violation = services.violation_reverse(
            violation_id=int(kwargs["pk"]), actor=request.user, **serializer.validated_data
        )
        return Response(ViolationDetailSerializer(_get(selectors.violation_detail(), violation.pk, "violation")).data)


@extend_schema_view(
    list=extend_schema(summary="Violations file imports", responses=ViolationImportSerializer(many=True)),
    retrieve=extend_schema(
        summary="One import with its rows kept for review", responses=ViolationImportDetailSerializer
    ),
    create=extend_schema(
        summary="Import a Department of Finance violations CSV",
        description="Multipart, field `file`. Answers the import's report: counts and the rows kept for review "
        "with their line numbers and reasons. A header missing a column refuses the whole file (400).",
        request={"multipart/form-data": ViolationImportUploadSerializer},
        responses={201: ViolationImportDetailSerializer},
    ),
)
class ViolationImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    ordering_fields = ["id", "created_at", "rows", "invalid", "needs_review"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {"create": ["violations.import_violations"]}

    parser_classes = [MultiPartParser]  # the project's, which refuses control characters in fields

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.import_detail()
        return selectors.import_list().order_by("-id")

    def get_serializer_class(self):
        return ViolationImportDetailSerializer if self.action == "retrieve" else ViolationImportSerializer

    def create(self, request, *args, **kwargs):
        serializer = ViolationImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        batch = imports.import_violations(stream=upload, file_name=upload.name or "upload.csv", actor=request.user)
        body = ViolationImportDetailSerializer(_get(selectors.import_detail(), batch.pk, "import")).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="TLC summonses", responses=TlcSummonsSerializer(many=True)),
    retrieve=extend_schema(summary="One TLC summons with its trail and charges", responses=TlcSummonsDetailSerializer),
    create=extend_schema(
        summary="Enter a TLC summons",
        request={"multipart/form-data": TlcSummonsCreateSerializer, "application/json": TlcSummonsCreateSerializer},
        responses={201: TlcSummonsDetailSerializer},
    ),
    disposition=extend_schema(
        summary="Change a TLC summons' hearing disposition",
        request=TlcDispositionSerializer,
        responses=TlcSummonsDetailSerializer,
    ),
)
class TlcSummonsViewSet(_Exporting, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    filterset_class = TlcSummonsFilter
    ordering_fields = ["id", "violation_date", "summons_number", "amount", "owed", "created_at"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {
        "disposition": ["violations.change_tlcsummons"],
        "export": ["violations.export_tlcsummons"],
    }
    export_columns = TLC_COLUMNS
    export_title = "TLC summonses"
    export_basename = "tlc-summonses"

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.tlc_detail()
        return selectors.tlc_list().order_by("-violation_date", "-id")

    def get_serializer_class(self):
        return TlcSummonsDetailSerializer if self.action == "retrieve" else TlcSummonsSerializer

    def create(self, request, *args, **kwargs):
        serializer = TlcSummonsCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        summons = services.tlc_summons_create(actor=request.user, **serializer.validated_data)
        body = TlcSummonsDetailSerializer(_get(selectors.tlc_detail(), summons.pk, "TLC summons")).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def disposition(self, request, *args, **kwargs):
        serializer = TlcDispositionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        summons = services.tlc_change_disposition(
            summons_id=int(kwargs["pk"]), actor=request.user, **serializer.validated_data
        )
        return Response(TlcSummonsDetailSerializer(_get(selectors.tlc_detail(), summons.pk, "TLC summons")).data)


@extend_schema_view(
    list=extend_schema(summary="TLC violation types", responses=TlcViolationTypeSerializer(many=True)),
    retrieve=extend_schema(summary="One TLC violation type", responses=TlcViolationTypeSerializer),
)
class TlcViolationTypeViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    serializer_class = TlcViolationTypeSerializer
    ordering_fields = ["id", "name"]

    def get_queryset(self):
        return selectors.violation_types().order_by("name", "id")
