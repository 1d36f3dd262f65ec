"""Repairs API (SPEC §7): the shared plan endpoints on repair invoices, looked up by repair_id."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view

from plans.api import PlanInstallmentViewSet, PlanViewSet, PlanWrites
from repairs import selectors, services
from repairs.api.filters import RepairFilter, RepairInstallmentFilter
from repairs.api.serializers import (
    RepairCreateSerializer,
    RepairInstallmentSerializer,
    RepairListedInstallmentSerializer,
    RepairListSerializer,
    RepairSerializer,
    RepairUpdateSerializer,
)
from repairs.exports import INSTALLMENT_COLUMNS, REPAIR_COLUMNS
from repairs.plan import REPAIRS

WRITES = PlanWrites.shared(
    REPAIRS,
    create=services.repair_create,
    update=lambda repair_id, changes, *, actor: services.repair_update(
        repair_id=repair_id, changes=changes, actor=actor
    ),
)


@extend_schema_view(
    list=extend_schema(responses=RepairListSerializer(many=True)),
    create=extend_schema(request=RepairCreateSerializer, responses={201: RepairSerializer}),
    partial_update=extend_schema(request=RepairUpdateSerializer, responses=RepairSerializer),
    confirm=extend_schema(request=None, responses=RepairSerializer),
    installments=extend_schema(
        operation_id="repairs_installments_of_repair", responses=RepairInstallmentSerializer(many=True)
    ),
    statistics=extend_schema(responses=OpenApiTypes.OBJECT),
)
class RepairViewSet(PlanViewSet):
    source = REPAIRS
    writes = WRITES
    lookup_field = "repair_id"
    lookup_value_regex = r"RPR-[0-9]{4}-[0-9]+"
    serializer_class = RepairSerializer
    list_serializer_class = RepairListSerializer
    create_serializer_class = RepairCreateSerializer
    update_serializer_class = RepairUpdateSerializer
    installment_serializer_class = RepairInstallmentSerializer
    filterset_class = RepairFilter
    ordering_fields = ["invoice_date", "repair_amount", "created_at", "repair_id"]
    ordering = ["-created_at", "-pk"]
    amount_field = "repair_amount"
    export_columns = REPAIR_COLUMNS
    export_title = "Repair invoices"
    case_flow = "REPAIR"

    def plan_queryset(self):
        return selectors.repair_list()


class RepairInstallmentViewSet(PlanInstallmentViewSet):
    source = REPAIRS
    writes = WRITES
    serializer_class = RepairListedInstallmentSerializer
    filterset_class = RepairInstallmentFilter
    ordering_fields = ["period_start", "amount", "installment_id", "posted_at"]
    ordering = ["period_start", "pk"]
    export_columns = INSTALLMENT_COLUMNS
    export_title = "Repair installments"

    def installment_queryset(self):
        return selectors.installment_list()
