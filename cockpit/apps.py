from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CockpitConfig(AppConfig):
    name = "cockpit"
    verbose_name = "Cockpit"
    default = True

    def ready(self) -> None:
        # Imported here, once every app's models are loaded (batpay/registry.py says why hooks exist):
        # `manage.py bench dashboard` lives with the pages it measures.
        from cockpit import bench  # noqa: F401


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, whose site (`admin.site`) is the back office's: its home page is the
    dashboard, and it serves the driver account pages."""

    default = False
    default_site = "cockpit.site.BackOfficeSite"
