"""The fleet API: /api/drivers/, /api/vehicles/, /api/medallions/, /api/leases/.

Views clean the input and call `leases.services`; nothing here decides a business rule. Each
resource offers list, retrieve, create (POST), partial update (PATCH) and delete (a lease's
schedule and early termination are `lease_schedules.api`'s). Roles decide
who may do what through the model permissions; only superusers hold the delete permissions.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from leases import selectors, services
from leases.api import filters
from leases.api.serializers import (
    DriverInputSerializer,
    DriverSerializer,
    LeaseInputSerializer,
    LeaseSerializer,
    MedallionInputSerializer,
    MedallionSerializer,
    VehicleInputSerializer,
    VehicleSerializer,
)
from leases.models import Driver, Lease, Medallion, Vehicle


def _documented(output: type[serializers.Serializer], incoming: type[serializers.Serializer]) -> Callable[[type], type]:
    return extend_schema_view(
        create=extend_schema(request=incoming, responses={201: output}),
        partial_update=extend_schema(request=incoming, responses={200: output}),
        destroy=extend_schema(responses={204: None}),
    )


class FleetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve through the selector; create, change and delete through the services."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[0-9]+"
    input_serializer_class: type[serializers.Serializer]
    # Each resource names its services here.
    create_with: Callable[[dict[str, Any]], Model]
    update_with: Callable[[Any, dict[str, Any]], Model]
    delete_with: Callable[[Any], None]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action in ("create", "partial_update"):
            return self.input_serializer_class
        return self.serializer_class

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.BaseSerializer:
        # Input serializers only clean request bodies; anything that shows rows (a page, a
        # created row, the browsable API's PATCH form) shows them as the output serializer does.
        if args or kwargs.get("instance") is not None:
            kwargs.setdefault("context", self.get_serializer_context())
            return self.serializer_class(*args, **kwargs)
        return super().get_serializer(*args, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        created = self.create_with(incoming.validated_data)
        return Response(self._output(created), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        current = self.get_object()
        incoming = self.get_serializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        return Response(self._output(self.update_with(current, incoming.validated_data)))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.delete_with(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _output(self, obj: Model) -> dict[str, Any]:
        return self.get_serializer(self.get_queryset().get(pk=obj.pk)).data


@_documented(DriverSerializer, DriverInputSerializer)
class DriverViewSet(FleetViewSet):
    serializer_class = DriverSerializer
    input_serializer_class = DriverInputSerializer
    filterset_class = filters.DriverFilter
    ordering_fields = ["last_name", "first_name", "tlc_license_number", "status", "created_at", "id"]

    def get_queryset(self) -> QuerySet[Driver]:
        return selectors.driver_list()

    def create_with(self, data: dict[str, Any]) -> Driver:
        return services.driver_create(actor=self.request.user, **data)

    def update_with(self, obj: Driver, data: dict[str, Any]) -> Driver:
        return services.driver_update(actor=self.request.user, driver=obj, changes=data)

    def delete_with(self, obj: Driver) -> None:
        services.driver_delete(actor=self.request.user, driver=obj)


@_documented(VehicleSerializer, VehicleInputSerializer)
class VehicleViewSet(FleetViewSet):
    serializer_class = VehicleSerializer
    input_serializer_class = VehicleInputSerializer
    filterset_class = filters.VehicleFilter
    ordering_fields = ["vin", "plate_number", "make", "model", "year", "created_at", "id"]

    def get_queryset(self) -> QuerySet[Vehicle]:
        return selectors.vehicle_list()

    def create_with(self, data: dict[str, Any]) -> Vehicle:
        return services.vehicle_create(actor=self.request.user, **data)

    def update_with(self, obj: Vehicle, data: dict[str, Any]) -> Vehicle:
        return services.vehicle_update(actor=self.request.user, vehicle=obj, changes=data)

    def delete_with(self, obj: Vehicle) -> None:
        services.vehicle_delete(actor=self.request.user, vehicle=obj)


@_documented(MedallionSerializer, MedallionInputSerializer)
class MedallionViewSet(FleetViewSet):
    serializer_class = MedallionSerializer
    input_serializer_class = MedallionInputSerializer
    filterset_class = filters.MedallionFilter
    ordering_fields = ["number", "medallion_type", "created_at", "id"]

    def get_queryset(self) -> QuerySet[Medallion]:
        return selectors.medallion_list()

    def create_with(self, data: dict[str, Any]) -> Medallion:
        return services.medallion_create(actor=self.request.user, **data)

    def update_with(self, obj: Medallion, data: dict[str, Any]) -> Medallion:
        return services.medallion_update(actor=self.request.user, medallion=obj, changes=data)

    def delete_with(self, obj: Medallion) -> None:
        services.medallion_delete(actor=self.request.user, medallion=obj)


@_documented(LeaseSerializer, LeaseInputSerializer)
class LeaseViewSet(FleetViewSet):
    serializer_class = LeaseSerializer
    input_serializer_class = LeaseInputSerializer
    filterset_class = filters.LeaseFilter
    ordering_fields = [
        "lease_number",
        "lease_type",
        "status",
        "start_date",
        "end_date",
        "weekly_rate",
        "created_at",
        "id",
    ]

    def get_queryset(self) -> QuerySet[Lease]:
        return selectors.lease_list()

    def create_with(self, data: dict[str, Any]) -> Lease:
        return services.lease_create(actor=self.request.user, **data)

    def update_with(self, obj: Lease, data: dict[str, Any]) -> Lease:
        return services.lease_update(actor=self.request.user, lease=obj, changes=data)

    def delete_with(self, obj: Lease) -> None:
        services.lease_delete(actor=self.request.user, lease=obj)
