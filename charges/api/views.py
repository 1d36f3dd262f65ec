"""Misc charges and credits API: views clean the input and call charges.services."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from batpay.errors import NotFound
from batpay.exports import ExportSpec, export_response
from charges import selectors, services
from charges.api.filters import MiscChargeFilter, MiscCreditFilter
from charges.api.serializers import (
    MiscChargeCreateSerializer,
    MiscChargeSerializer,
    MiscChargeTypeSerializer,
    MiscCreditCreateSerializer,
    MiscCreditSerializer,
    ReverseSerializer,
)
from charges.exports import CHARGE_COLUMNS, CREDIT_COLUMNS
from charges.models import MiscChargeType
from plans.api import FORMAT_PARAMETER, ExportNegotiation, PlanSchema


class _MiscViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """GET|POST /, GET /{id}/, POST /{id}/reverse, GET /export?format=…"""

    http_method_names = ["get", "post", "head", "options"]
    schema = PlanSchema()
    create_serializer_class: type
    export_columns: list
    export_title: str
    basename: str

    def get_object(self):
        value = self.kwargs[self.lookup_field]
        found = self.get_queryset().filter(**{self.lookup_field: value}).first()
        if found is None:
            raise NotFound(f"No {self.get_queryset().model._meta.verbose_name} {value}.")
        self.check_object_permissions(self.request, found)
        return found

    def _detail(self, key: str, code=status.HTTP_200_OK) -> Response:
        return Response(self.serializer_class(self.get_queryset().get(**{self.lookup_field: key})).data, status=code)

    @extend_schema(parameters=[FORMAT_PARAMETER])
    @action(detail=False, methods=["get"], pagination_class=None, content_negotiation_class=ExportNegotiation)
    def export(self, request, *args, **kwargs):
        return export_response(request=request, owner=self, rows=self.filter_queryset(self.get_queryset()))

    def export_spec(self) -> ExportSpec:
        return ExportSpec(self.export_columns, self.export_title, self.basename)


@extend_schema_view(
    create=extend_schema(request=MiscChargeCreateSerializer, responses={201: MiscChargeSerializer}),
    reverse=extend_schema(request=ReverseSerializer, responses=MiscChargeSerializer),
)
class MiscChargeViewSet(_MiscViewSet):
    serializer_class = MiscChargeSerializer
    filterset_class = MiscChargeFilter
    lookup_field = "misc_id"
    lookup_value_regex = r"MISC-[0-9]{4}-[0-9]+"
    ordering_fields = ["created_at", "amount", "misc_id"]
    ordering = ["-created_at", "-pk"]
    export_columns = CHARGE_COLUMNS
    export_title = "Misc charges"
    basename = "misc-charges"
    action_permissions = {"reverse": ["charges.void_misccharge"], "export": ["charges.export_misccharge"]}

    def get_queryset(self):
        return selectors.charge_list()

    def create(self, request, *args, **kwargs):
        serializer = MiscChargeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        charge = services.misc_charge_create(actor=request.user, **serializer.validated_data)
        return self._detail(charge.misc_id, code=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        serializer = ReverseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        charge = services.misc_charge_reverse(
            misc_id=self.kwargs["misc_id"], reason=serializer.validated_data["reason"], actor=request.user
        )
        return self._detail(charge.misc_id)


@extend_schema_view(
    create=extend_schema(request=MiscCreditCreateSerializer, responses={201: MiscCreditSerializer}),
    reverse=extend_schema(request=ReverseSerializer, responses=MiscCreditSerializer),
)
class MiscCreditViewSet(_MiscViewSet):
    serializer_class = MiscCreditSerializer
    filterset_class = MiscCreditFilter
    lookup_field = "credit_id"
    lookup_value_regex = r"MCR-[0-9]{4}-[0-9]+"
    ordering_fields = ["created_at", "amount", "credit_id"]
    ordering = ["-created_at", "-pk"]
    export_columns = CREDIT_COLUMNS
    export_title = "Misc credits"
    basename = "misc-credits"
    action_permissions = {"reverse": ["charges.void_misccredit"], "export": ["charges.export_misccredit"]}

    def get_queryset(self):
        return selectors.credit_list().prefetch_related("receipt__refunds")

    def create(self, request, *args, **kwargs):
        serializer = MiscCreditCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credit = services.misc_credit_create(actor=request.user, **serializer.validated_data)
        return self._detail(credit.credit_id, code=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        serializer = ReverseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credit = services.misc_credit_reverse(
            credit_id=self.kwargs["credit_id"], reason=serializer.validated_data["reason"], actor=request.user
        )
        return self._detail(credit.credit_id)


class MiscChargeTypeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET /: the charge types (edited in the admin)."""

    serializer_class = MiscChargeTypeSerializer
    queryset = MiscChargeType.objects.all()
    ordering_fields = ["name"]
    ordering = ["name"]
    filterset_fields = ["active"]
