"""Mounted at /api/. The action URLs follow SPEC §7 literally (no trailing slash); every path answers
with or without its trailing slash (batpay.api). The list is mounted here, not under an
`api/dtrs/` include, so that `/api/dtrs` reaches it too."""

from django.urls import re_path

from batpay.api import ApiRouter, either_slash
from statements.api import views

router = ApiRouter()
router.register("dtrs", views.DtrViewSet, basename="dtr")

urlpatterns = [
    *either_slash(
        [
            re_path(r"^dtrs/download$", views.DtrDownloadView.as_view(), name="dtr-download"),
            re_path(rf"^dtrs/(?P<dtr_number>{views.DTR_NUMBER})/pdf$", views.DtrPdfView.as_view(), name="dtr-pdf"),
            re_path(rf"^dtrs/(?P<dtr_number>{views.DTR_NUMBER})/void$", views.DtrVoidView.as_view(), name="dtr-void"),
        ]
    ),
    *router.urls,
]
