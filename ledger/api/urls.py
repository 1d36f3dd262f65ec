"""Mounted at /api/ledger/. The action URLs follow SPEC §7 literally (no trailing slash)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from ledger.api import views

router = SimpleRouter(trailing_slash=True)
router.register("postings", views.PostingViewSet, basename="ledger-posting")
router.register("balances", views.BalanceViewSet, basename="ledger-balance")
router.register("receipts", views.ReceiptViewSet, basename="ledger-receipt")

urlpatterns = [
    path("postings/<int:pk>/void", views.PostingVoidView.as_view(), name="ledger-posting-void"),
    path("interim-payments/", views.InterimPaymentView.as_view(), name="ledger-interim-payment"),
    path("drivers/<int:driver_id>/balances", views.DriverBalancesView.as_view(), name="ledger-driver-balances"),
    *router.urls,
]
