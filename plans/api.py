"""The API every plan type shares (SPEC §7 — repairs, and loans with the same shape).

`PlanViewSet` and `PlanInstallmentViewSet` hold the endpoints; an app subclasses them with its
source, its write services (`PlanWrites`), serializers, filters and export columns.
Views only clean input and call services; totals come from the ledger, one query per page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from batpay.errors import NotFound
from batpay.exports import FORMATS, Column, ExportSpec, export_response, export_responses
from batpay.schema import AutoSchema
from plans import services
from plans.cases import case_create, case_state
from plans.lifecycle import InstallmentStatus, PlanStatus, RequestedStatus
from plans.models import Plan
from plans.selectors import attach_totals, plan_statistics
from plans.services import PostingSummary
from plans.source import PlanSource


def page_of(view, queryset: QuerySet, loaded: QuerySet) -> list:
    """The requested page of `queryset`, paged on primary keys alone and then loaded from `loaded`.

    A deferred join: OFFSET skips index entries instead of fully joined rows, so page 200 costs
    about what page 1 does; the page's rows are then fetched with their relations in one go.
    """
    keys = view.paginate_queryset(queryset.values_list("pk", flat=True))
    rows = loaded.in_bulk(keys)
    return [rows[key] for key in keys if key in rows]


class ExportNegotiation(DefaultContentNegotiation):
    """Exports read `?format=` themselves (xlsx|csv|json|pdf) and answer with a file; errors stay JSON.

    DRF would otherwise take `format` as a renderer override and answer 404 for xlsx.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=list(FORMATS), description="File format (default xlsx)."
)


class PlanSchema(AutoSchema):
    """An export documents the table of its view's `export_columns`: a file per format, the json row by row."""

    def get_response_serializers(self):
        if getattr(self.view, "action", None) == "export":
            return export_responses(self.view.export_columns)
        return super().get_response_serializers()


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RequestedStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class PostInstallmentsSerializer(serializers.Serializer):
    installment_ids = serializers.ListField(
        child=serializers.CharField(max_length=32), allow_empty=False, max_length=10000
    )


@dataclass(frozen=True)
class PlanWrites:
    """An app's write services as its API calls them, keyed by the plan id."""

    create: Callable[..., Plan]  # create(actor=…, **validated fields)
    update: Callable[..., Plan]  # update(plan_id, changes, actor=…)
    confirm: Callable[..., Plan]  # confirm(plan_id, actor=…)
    change_status: Callable[..., Plan]  # change_status(plan_id, status, reason, actor=…)
    post: Callable[..., PostingSummary]  # post(installment_ids, actor=…)

    @classmethod
    def shared(cls, source: PlanSource, *, create: Callable[..., Plan], update: Callable[..., Plan]) -> PlanWrites:
        """An app's own create and update; confirm, status changes and manual posting are the
        shared plan services, which need nothing of the app but its source."""
        return cls(
            create=create,
            update=update,
            confirm=lambda plan_id, *, actor: services.plan_confirm(source=source, plan_id=plan_id, actor=actor),
            change_status=lambda plan_id, status, reason, *, actor: services.plan_change_status(
                source=source, plan_id=plan_id, status=status, reason=reason, actor=actor
            ),
            post=lambda installment_ids, *, actor: services.plan_installments_post(
                source=source, installment_ids=installment_ids, actor=actor
            ),
        )


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """GET|POST /, GET|PATCH /{id}/, POST /{id}/confirm, POST /{id}/status, GET /{id}/installments,
    GET /statistics, GET /export?format=…, POST /create-case."""

    source: PlanSource
    writes: PlanWrites
    list_serializer_class: type[serializers.Serializer]  # a list row: the plan without its installments
    create_serializer_class: type[serializers.Serializer]
    update_serializer_class: type[serializers.Serializer]
    installment_serializer_class: type[serializers.Serializer]
    export_columns: Sequence[Column]
    export_title: str
    amount_field: str
    weekly_field: str | None = "weekly_installment_amount"
    statistics_totals: dict[str, str] = {}  # more sums for /statistics: result key → money field
    case_flow: str | None = None
    http_method_names = ["get", "post", "patch", "head", "options"]
    schema = PlanSchema()

    @property
    def action_permissions(self) -> dict[str, list[str]]:
        meta = self.source.plan_model._meta
        perm = f"{meta.app_label}.{{}}_{meta.model_name}"
        return {
            "confirm": [perm.format("confirm")],
            "change_status": [perm.format("confirm")],
            "installments": [perm.format("view")],
            "statistics": [perm.format("view")],
            "export": [perm.format("export")],
            "create_case": [perm.format("add"), perm.format("confirm")],
        }

    # --- reads ----------------------------------------------------------------------------------

    def plan_queryset(self) -> QuerySet:
        """The plans a response shows, with the related rows it names joined in."""
        return self.source.plan_model.objects.select_related("driver", "lease")

    def get_queryset(self) -> QuerySet:
        """What filters and ordering apply to; rows are loaded with `plan_queryset` once chosen."""
        return self.source.plan_model.objects.all()

    def get_object(self):
        """One plan, with its installments (list pages leave them to /installments)."""
        lookup = {self.lookup_field: self.kwargs[self.lookup_field]}
        plan = self.plan_queryset().prefetch_related("installments").filter(**lookup).first()
        if plan is None:
            raise NotFound(f"No {self.source.label.lower()} {self.kwargs[self.lookup_field]}.")
        self.check_object_permissions(self.request, plan)
        return plan

    def _detail(self, plan_id: str, code=status.HTTP_200_OK) -> Response:
        plan = self.plan_queryset().prefetch_related("installments").get(**{self.lookup_field: plan_id})
        attach_totals(source=self.source, plans=[plan])
        return Response(self.get_serializer(plan).data, status=code)

    def list(self, request, *args, **kwargs):
        rows = page_of(self, self.filter_queryset(self.get_queryset()), self.plan_queryset())
        attach_totals(source=self.source, plans=rows)
        return self.get_paginated_response(self.list_serializer_class(rows, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        plan = self.get_object()
        attach_totals(source=self.source, plans=[plan])
        return Response(self.get_serializer(plan).data)

    # --- writes ---------------------------------------------------------------------------------

    def create(self, request, *args, **kwargs):
        serializer = self.create_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = self.writes.create(actor=request.user, **serializer.validated_data)
        return self._detail(plan.plan_id, code=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        plan = self.get_object()
        serializer = self.update_serializer_class(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        plan = self.writes.update(plan.plan_id, dict(serializer.validated_data), actor=request.user)
        return self._detail(plan.plan_id)

    @action(detail=True, methods=["post"])
    def confirm(self, request, *args, **kwargs):
        plan = self.writes.confirm(self.kwargs[self.lookup_field], actor=request.user)
        return self._detail(plan.plan_id)

    @extend_schema(request=StatusChangeSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, *args, **kwargs):
        serializer = StatusChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = self.writes.change_status(
            self.kwargs[self.lookup_field], data["status"], data["reason"], actor=request.user
        )
        return self._detail(plan.plan_id)

    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def installments(self, request, *args, **kwargs):
        plan = self.get_object()
        return Response(self.installment_serializer_class(plan.installments.all(), many=True).data)

    @action(detail=False, methods=["get"], pagination_class=None)
    def statistics(self, request, *args, **kwargs):
        plans = self.filter_queryset(self.source.plan_model.objects.all())
        figures = plan_statistics(
            source=self.source,
            plans=plans,
            amount_field=self.amount_field,
            weekly_field=self.weekly_field,
            totals=self.statistics_totals,
        )
        return Response(self.statistics_payload(figures))

    def statistics_payload(self, figures: dict[str, Any]) -> dict[str, Any]:
        """Money as decimal strings, like every amount the API returns."""
        return {key: (f"{value:.2f}" if hasattr(value, "quantize") else value) for key, value in figures.items()}

    @extend_schema(parameters=[FORMAT_PARAMETER])
    @action(detail=False, methods=["get"], pagination_class=None, content_negotiation_class=ExportNegotiation)
    def export(self, request, *args, **kwargs):
        return export_response(request=request, owner=self, rows=self.filter_queryset(self.plan_queryset()))

    def export_spec(self) -> ExportSpec:
        return ExportSpec(self.export_columns, self.export_title, self.source.name, self.attach_totals)

    def attach_totals(self, rows: list) -> None:
        attach_totals(source=self.source, plans=rows)

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], url_path="create-case")
    def create_case(self, request, *args, **kwargs):
        case = case_create(flow_name=self.case_flow, actor=request.user)
        return Response(case_state(case), status=status.HTTP_201_CREATED)


class PlanInstallmentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET / (filters), GET /unposted, POST /post {"installment_ids": […]}, GET /export?format=…"""

    source: PlanSource
    writes: PlanWrites
    export_columns: Sequence[Column]
    export_title: str
    schema = PlanSchema()

    @property
    def action_permissions(self) -> dict[str, list[str]]:
        plan = self.source.plan_model._meta
        installment = self.source.installment_model._meta
        return {
            "list": [f"{installment.app_label}.view_{installment.model_name}"],
            "unposted": [f"{installment.app_label}.view_{installment.model_name}"],
            "post_installments": [f"{plan.app_label}.post_{plan.model_name}"],
            "export": [f"{plan.app_label}.export_{plan.model_name}"],
        }

    def installment_queryset(self) -> QuerySet:
        """The installments one response shows, with their plan joined."""
        return self.source.installment_model.objects.select_related("plan")

    def get_queryset(self) -> QuerySet:
        return self.source.installment_model.objects.order_by("period_start", "pk")

    def list(self, request, *args, **kwargs):
        rows = page_of(self, self.filter_queryset(self.get_queryset()), self.installment_queryset())
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @action(detail=False, methods=["get"])
    def unposted(self, request, *args, **kwargs):
        """SCHEDULED installments of confirmed plans (OPEN or HOLD), oldest period first."""
        queryset = self.filter_queryset(
            self.get_queryset().filter(
                status=InstallmentStatus.SCHEDULED, plan__status__in=[PlanStatus.OPEN, PlanStatus.HOLD]
            )
        )
        rows = page_of(self, queryset, self.installment_queryset())
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(
        request=PostInstallmentsSerializer,
        responses=inline_serializer(
            "InstallmentPostingResult",
            {
                "posted": serializers.IntegerField(),
                "amount": serializers.DecimalField(max_digits=14, decimal_places=2),
                "installments": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    # Not `post`: a viewset method named after an HTTP verb is DRF's handler for that verb on every
    # route of the viewset, so POST /installments/export would post installments.
    @action(detail=False, methods=["post"], url_path="post", url_name="post")
    def post_installments(self, request, *args, **kwargs):
        serializer = PostInstallmentsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["installment_ids"]
        summary = self.writes.post(ids, actor=request.user)
        posted = self.installment_queryset().filter(installment_id__in=ids).order_by("pk")
        return Response(
            {
                "posted": summary.installments,
                "amount": f"{summary.amount:.2f}",
                "installments": self.get_serializer(posted, many=True).data,
            }
        )

    @extend_schema(parameters=[FORMAT_PARAMETER])
    @action(detail=False, methods=["get"], pagination_class=None, content_negotiation_class=ExportNegotiation)
    def export(self, request, *args, **kwargs):
        rows = self.filter_queryset(self.installment_queryset().order_by("period_start", "pk"))
        return export_response(request=request, owner=self, rows=rows)

    def export_spec(self) -> ExportSpec:
        return ExportSpec(self.export_columns, self.export_title, f"{self.source.name}-installments")
