from django.urls import path

from lease_schedules.api.views import LeaseScheduleViewSet

urlpatterns = [
    path("leases/<int:pk>/schedule/", LeaseScheduleViewSet.as_view({"get": "schedule"}), name="lease-schedule"),
    path("leases/<int:pk>/terminate/", LeaseScheduleViewSet.as_view({"post": "terminate"}), name="lease-terminate"),
]
