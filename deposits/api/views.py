"""Security deposits API: terms entered by Finance, early release by a Controller."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from batpay.errors import NotFound
from batpay.exports import ExportSpec, export_response
from deposits import selectors, services
from deposits.api.filters import DepositFilter
from deposits.api.serializers import DepositCreateSerializer, DepositSerializer, ReleaseSerializer
from deposits.exports import DEPOSIT_COLUMNS
from plans.api import FORMAT_PARAMETER, ExportNegotiation, PlanSchema


@extend_schema_view(
    create=extend_schema(request=DepositCreateSerializer, responses={201: DepositSerializer}),
    release=extend_schema(request=ReleaseSerializer, responses=DepositSerializer),
)
class DepositViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """GET|POST /, GET /{deposit_id}/, POST /{deposit_id}/release, GET /export?format=…"""

    serializer_class = DepositSerializer
    filterset_class = DepositFilter
    lookup_field = "deposit_id"
    lookup_value_regex = r"DEP-[0-9]{4}-[0-9]+"
    ordering_fields = ["created_at", "deposit_amount", "deposit_id"]
    ordering = ["-created_at", "-pk"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {"release": ["deposits.release_deposit"], "export": ["deposits.export_deposit"]}
    schema = PlanSchema()
    export_columns = DEPOSIT_COLUMNS

    def get_queryset(self):
        return selectors.deposit_list()

    def get_object(self):
        deposit = self.get_queryset().filter(deposit_id=self.kwargs["deposit_id"]).first()
        if deposit is None:
            raise NotFound(f"No deposit {self.kwargs['deposit_id']}.")
        self.check_object_permissions(self.request, deposit)
        selectors.attach_held([deposit])
        return deposit

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        selectors.attach_held(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _detail(self, deposit_id: str, code=status.HTTP_200_OK) -> Response:
        deposit = self.get_queryset().get(deposit_id=deposit_id)
        selectors.attach_held([deposit])
        return Response(self.get_serializer(deposit).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = DepositCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deposit = services.deposit_create(actor=request.user, **serializer.validated_data)
        return self._detail(deposit.deposit_id, code=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def release(self, request, *args, **kwargs):
        serializer = ReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deposit = services.deposit_release(
            deposit_id=self.kwargs["deposit_id"], reason=serializer.validated_data["reason"], actor=request.user
        )
        return self._detail(deposit.deposit_id)

    @extend_schema(parameters=[FORMAT_PARAMETER])
    @action(detail=False, methods=["get"], pagination_class=None, content_negotiation_class=ExportNegotiation)
    def export(self, request, *args, **kwargs):
        return export_response(request=request, owner=self, rows=self.filter_queryset(self.get_queryset()))

    def export_spec(self) -> ExportSpec:
        return ExportSpec(DEPOSIT_COLUMNS, "Security deposits", "deposits", selectors.attach_held)
