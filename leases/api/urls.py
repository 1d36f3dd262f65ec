from batpay.api import ApiRouter
from leases.api.views import DriverViewSet, LeaseViewSet, MedallionViewSet, VehicleViewSet

router = ApiRouter()
router.register("drivers", DriverViewSet, basename="driver")
router.register("vehicles", VehicleViewSet, basename="vehicle")
router.register("medallions", MedallionViewSet, basename="medallion")
router.register("leases", LeaseViewSet, basename="lease")

urlpatterns = router.urls
