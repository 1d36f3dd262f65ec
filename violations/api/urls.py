from batpay.api import ApiRouter
from violations.api import views

# `violations/imports` before `violations`, so "imports" is never read as a violation id (ids are
# also digits only by the views' lookup patterns).
router = ApiRouter()
router.register("violations/imports", views.ViolationImportViewSet, basename="violation-import")
router.register("violations", views.ViolationViewSet, basename="violation")
router.register("tlc-summonses", views.TlcSummonsViewSet, basename="tlc-summons")
router.register("tlc-violation-types", views.TlcViolationTypeViewSet, basename="tlc-violation-type")

urlpatterns = router.urls
