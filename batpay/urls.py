from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from batpay.api import either_slash
from batpay.metrics import MetricsView
from batpay.views import DocsView, ExportDownloadView, ExportFileView, ObtainTokenView, SchemaView

admin.site.site_header = "BAT Payment Engine"
admin.site.site_title = "BAT Payment Engine"
admin.site.index_title = "Back office"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # Every API path (and /metrics) answers with or without its trailing slash: batpay.api.either_slash.
    *either_slash(
        [
            path("api/auth/token/", ObtainTokenView.as_view(), name="api-token"),
            path("api/schema/", SchemaView.as_view(), name="api-schema"),
            path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
            path("metrics", MetricsView.as_view(), name="metrics"),
            path("api/exports/<uuid:export_id>/", ExportFileView.as_view(), name="api-export"),
            path("api/exports/<uuid:export_id>/download/", ExportDownloadView.as_view(), name="api-export-download"),
        ]
    ),
    # Each app's API by name, so this root module imports none of them.
    path("api/", include("cockpit.api.urls")),
    path("api/", include("leases.api.urls")),
    path("api/", include("lease_schedules.api.urls")),
    path("api/ledger/", include("ledger.api.urls")),
    path("api/ledger/", include("statements.api.trip_urls")),
    path("api/", include("statements.api.urls")),
    path("api/", include("repairs.api.urls")),
    path("api/", include("loans.api.urls")),
    path("api/", include("violations.api.urls")),
    path("api/", include("tolls.api.urls")),
    path("api/", include("charges.api.urls")),
    path("api/", include("deposits.api.urls")),
    path("api/cases/", include("plans.case_urls")),
    path("api/payouts/", include("payouts.api.urls")),
]

handler404 = "batpay.views.not_found"
handler500 = "batpay.views.error"
