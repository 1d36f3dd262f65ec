from batpay.api import ApiRouter
from loans.api.views import LoanInstallmentViewSet, LoanViewSet

# The installment routes come first so `loans/installments/…` is never read as a loan id
# (loan ids are also constrained to DL-YYYY-N… by the view's lookup pattern).
router = ApiRouter()
router.register("loans/installments", LoanInstallmentViewSet, basename="loan-installment")
router.register("loans", LoanViewSet, basename="loan")

urlpatterns = router.urls
