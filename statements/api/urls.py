"""Mounted at /api/dtrs/. The action URLs follow SPEC §7 literally (no trailing slash)."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from statements.api import views

router = SimpleRouter(trailing_slash=True)
router.register("", views.DtrViewSet, basename="dtr")

urlpatterns = [
    re_path(rf"^(?P<dtr_number>{views.DTR_NUMBER})/pdf$", views.DtrPdfView.as_view(), name="dtr-pdf"),
    re_path(rf"^(?P<dtr_number>{views.DTR_NUMBER})/void$", views.DtrVoidView.as_view(), name="dtr-void"),
    *router.urls,
]
