from rest_framework.routers import DefaultRouter

from leases.api.views import DriverViewSet, LeaseViewSet, MedallionViewSet, VehicleViewSet

router = DefaultRouter(trailing_slash=True)
router.register("drivers", DriverViewSet, basename="driver")
router.register("vehicles", VehicleViewSet, basename="vehicle")
router.register("medallions", MedallionViewSet, basename="medallion")
router.register("leases", LeaseViewSet, basename="lease")

urlpatterns = router.urls
