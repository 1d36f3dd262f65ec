from loans.api.views import LoanInstallmentViewSet, LoanViewSet
from plans.api import OptionalSlashRouter

# The installment routes come first so `loans/installments/…` is never read as a loan id
# (loan ids are also constrained to DL-YYYY-N… by the view's lookup pattern).
router = OptionalSlashRouter()
router.register("loans/installments", LoanInstallmentViewSet, basename="loan-installment")
router.register("loans", LoanViewSet, basename="loan")

urlpatterns = router.urls
