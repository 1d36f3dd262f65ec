from batpay.api import ApiRouter
from deposits.api.views import DepositViewSet

router = ApiRouter()
router.register("deposits", DepositViewSet, basename="deposit")

urlpatterns = router.urls
