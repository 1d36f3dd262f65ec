"""Mounted at /api/ledger/. The action URLs follow SPEC §7 literally (no trailing slash); every
path answers with or without its trailing slash (batpay.api)."""

from django.urls import path

from batpay.api import ApiRouter, either_slash
from ledger.api import views

router = ApiRouter()
router.register("postings", views.PostingViewSet, basename="ledger-posting")
router.register("balances", views.BalanceViewSet, basename="ledger-balance")
router.register("receipts", views.ReceiptViewSet, basename="ledger-receipt")
router.register("refunds", views.RefundViewSet, basename="ledger-refund")

urlpatterns = [
    *either_slash(
        [
            path("postings/<int:pk>/void", views.PostingVoidView.as_view(), name="ledger-posting-void"),
            path("interim-payments/", views.InterimPaymentView.as_view(), name="ledger-interim-payment"),
            path(
                "receipts/<int:pk>/apply-credit",
                views.ReceiptApplyCreditView.as_view(),
                name="ledger-receipt-apply-credit",
            ),
            path("receipts/<int:pk>/refund", views.ReceiptRefundView.as_view(), name="ledger-receipt-refund"),
            path("drivers/<int:driver_id>/balances", views.DriverBalancesView.as_view(), name="ledger-driver-balances"),
        ]
    ),
    *router.urls,
]
