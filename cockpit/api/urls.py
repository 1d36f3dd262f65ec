"""Mounted at /api/: the driver's account beside the fleet's /api/drivers/{id}."""

from django.urls import path

from batpay.api import either_slash
from cockpit.api.views import DriverAccountView

urlpatterns = either_slash(
    [path("drivers/<int:driver_id>/account", DriverAccountView.as_view(), name="driver-account")]
)
