from batpay.api import ApiRouter
from repairs.api.views import RepairInstallmentViewSet, RepairViewSet

# The installment routes come first so `repairs/installments/…` is never read as a repair id
# (repair ids are also constrained to RPR-YYYY-N… by the view's lookup pattern).
router = ApiRouter()
router.register("repairs/installments", RepairInstallmentViewSet, basename="repair-installment")
router.register("repairs", RepairViewSet, basename="repair")

urlpatterns = router.urls
