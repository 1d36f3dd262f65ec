"""Mounted at /api/. The imports and kept rows come before the tolls so `tolls/imports/` is never
read as a toll id (toll ids are digits, too)."""

from batpay.api import ApiRouter
from tolls.api import views

router = ApiRouter()
router.register("tolls/imports", views.TollImportViewSet, basename="toll-import")
router.register("tolls/kept-rows", views.TollImportRowViewSet, basename="toll-row")
router.register("tolls", views.TollViewSet, basename="toll")

urlpatterns = router.urls
