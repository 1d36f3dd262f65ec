"""Mounted at /api/dtrs/. The action URLs follow SPEC §7 literally (no trailing slash)."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from ledger.api import dtr_views

router = SimpleRouter(trailing_slash=True)
router.register("", dtr_views.DtrViewSet, basename="dtr")

urlpatterns = [
    re_path(rf"^(?P<dtr_number>{dtr_views.DTR_NUMBER})/pdf$", dtr_views.DtrPdfView.as_view(), name="dtr-pdf"),
    re_path(rf"^(?P<dtr_number>{dtr_views.DTR_NUMBER})/void$", dtr_views.DtrVoidView.as_view(), name="dtr-void"),
    *router.urls,
]
