"""Mounted at /api/ledger/, where the trip lists have always been: trips, imports, kept rows."""

from batpay.api import ApiRouter
from statements.api import views

router = ApiRouter()
router.register("trips", views.TripViewSet, basename="ledger-trip")
router.register("trip-imports", views.TripImportViewSet, basename="ledger-trip-import")
router.register("trip-rows", views.TripImportRowViewSet, basename="ledger-trip-row")

urlpatterns = router.urls
