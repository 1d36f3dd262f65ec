from batpay.api import ApiRouter
from charges.api.views import MiscChargeTypeViewSet, MiscChargeViewSet, MiscCreditViewSet

router = ApiRouter()
router.register("misc-charge-types", MiscChargeTypeViewSet, basename="misc-charge-type")
router.register("misc-charges", MiscChargeViewSet, basename="misc-charge")
router.register("misc-credits", MiscCreditViewSet, basename="misc-credit")

urlpatterns = router.urls
