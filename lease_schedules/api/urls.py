from django.urls import path

from batpay.api import either_slash
from lease_schedules.api.views import LeaseScheduleViewSet

urlpatterns = either_slash(
    [
        path("leases/<int:pk>/schedule", LeaseScheduleViewSet.as_view({"get": "schedule"}), name="lease-schedule"),
        path("leases/<int:pk>/terminate", LeaseScheduleViewSet.as_view({"post": "terminate"}), name="lease-terminate"),
    ]
)
