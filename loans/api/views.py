"""Loans API (SPEC §7): the shared plan endpoints on driver loans, looked up by loan_id."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view

from loans import selectors, services
from loans.api.filters import LoanFilter, LoanInstallmentFilter
from loans.api.serializers import (
    LoanCreateSerializer,
    LoanInstallmentSerializer,
    LoanListedInstallmentSerializer,
    LoanListSerializer,
    LoanSerializer,
    LoanUpdateSerializer,
)
from loans.exports import INSTALLMENT_COLUMNS, LOAN_COLUMNS
from loans.plan import LOANS
from plans.api import PlanInstallmentViewSet, PlanViewSet, PlanWrites

WRITES = PlanWrites.shared(
    LOANS,
    create=services.loan_create,
    update=lambda loan_id, changes, *, actor: services.loan_update(loan_id=loan_id, changes=changes, actor=actor),
)


@extend_schema_view(
    list=extend_schema(responses=LoanListSerializer(many=True)),
    create=extend_schema(request=LoanCreateSerializer, responses={201: LoanSerializer}),
    partial_update=extend_schema(request=LoanUpdateSerializer, responses=LoanSerializer),
    confirm=extend_schema(request=None, responses=LoanSerializer),
    installments=extend_schema(
        operation_id="loans_installments_of_loan", responses=LoanInstallmentSerializer(many=True)
    ),
    statistics=extend_schema(responses=OpenApiTypes.OBJECT),
)
class LoanViewSet(PlanViewSet):
    source = LOANS
    writes = WRITES
    lookup_field = "loan_id"
    lookup_value_regex = r"DL-[0-9]{4}-[0-9]+"
    serializer_class = LoanSerializer
    list_serializer_class = LoanListSerializer
    create_serializer_class = LoanCreateSerializer
    update_serializer_class = LoanUpdateSerializer
    installment_serializer_class = LoanInstallmentSerializer
    filterset_class = LoanFilter
    ordering_fields = ["loan_date", "loan_amount", "interest_rate", "created_at", "loan_id"]
    ordering = ["-created_at", "-pk"]
    amount_field = "loan_amount"
    statistics_totals = {"total_interest": "total_interest"}
    export_columns = LOAN_COLUMNS
    export_title = "Driver loans"
    case_flow = "LOAN"

    def plan_queryset(self):
        return selectors.loan_list()


class LoanInstallmentViewSet(PlanInstallmentViewSet):
    source = LOANS
    writes = WRITES
    serializer_class = LoanListedInstallmentSerializer
    filterset_class = LoanInstallmentFilter
    ordering_fields = ["period_start", "amount", "interest_amount", "installment_id", "posted_at"]
    ordering = ["period_start", "pk"]
    export_columns = INSTALLMENT_COLUMNS
    export_title = "Loan installments"

    def installment_queryset(self):
        return selectors.installment_list()
