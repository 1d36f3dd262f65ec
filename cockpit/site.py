"""The admin site of the back office: the stock one, with the dashboard as its home page (the app
list stays on it, folded, and in every page's side bar) and the driver account pages."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.urls import path


class BackOfficeSite(AdminSite):
    site_header = "BAT Payment Engine"
    site_title = "BAT Payment Engine"
    index_title = "Back office"

    def index(self, request, extra_context=None):
        from cockpit import views

        return views.dashboard(self, request, extra_context)

    def get_urls(self):
        from cockpit import views

        def page(view):
            return self.admin_view(lambda request, *args, **kwargs: view(self, request, *args, **kwargs))

        return [
            path("account/drivers/<int:pk>/", page(views.driver_account), name="cockpit_driver_account"),
            path("account/leases/<int:pk>/", page(views.lease_account), name="cockpit_lease_account"),
            path("account/drivers/<int:pk>/statement/", page(views.driver_statement), name="cockpit_driver_statement"),
            *super().get_urls(),
        ]
