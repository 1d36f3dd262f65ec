"""Every model the admin registers, whichever app it moved to, shows its list and its form."""

import pytest
from django.contrib import admin
from django.urls import reverse

REGISTERED = sorted((model._meta.app_label, model._meta.model_name) for model in admin.site._registry)


@pytest.mark.parametrize(("app_label", "model_name"), REGISTERED, ids=[f"{a}.{m}" for a, m in REGISTERED])
def test_the_changelist_and_the_add_page_load_for_a_superuser(client, make_user, fleet, app_label, model_name):
    fleet.lease()  # a lease with its schedule, so the lists have rows to show
    client.force_login(make_user(superuser=True))

    listed = client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    assert listed.status_code == 200, (app_label, model_name)
    model_admin = next(ma for m, ma in admin.site._registry.items() if m._meta.model_name == model_name)
    request = listed.wsgi_request
    if model_admin.has_add_permission(request):
        assert client.get(reverse(f"admin:{app_label}_{model_name}_add")).status_code == 200, (app_label, model_name)
