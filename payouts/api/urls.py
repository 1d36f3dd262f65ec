"""Mounted at /api/payouts/. Every path answers with or without its trailing slash (batpay.api)."""

from django.urls import path

from batpay.api import ApiRouter, either_slash
from payouts.api import views

router = ApiRouter()
router.register("runs", views.PayoutRunViewSet, basename="payout-run")
router.register("payouts", views.PayoutViewSet, basename="payout")

urlpatterns = [
    *either_slash(
        [
            path("runs/<int:pk>/approve", views.RunApproveView.as_view(), name="payout-run-approve"),
            path("runs/<int:pk>/cancel", views.RunCancelView.as_view(), name="payout-run-cancel"),
            path("runs/<int:pk>/paid", views.RunPaidView.as_view(), name="payout-run-paid"),
            path("runs/<int:pk>/nacha", views.RunNachaView.as_view(), name="payout-run-nacha"),
            path("runs/<int:pk>/check-register", views.RunCheckRegisterView.as_view(), name="payout-run-checks"),
            path("runs/<int:pk>/positive-pay", views.RunPositivePayView.as_view(), name="payout-run-positivepay"),
            path("returns/", views.AchReturnView.as_view(), name="payout-ach-return"),
            path("check-voids/", views.CheckVoidView.as_view(), name="payout-check-void"),
        ]
    ),
    *router.urls,
]
