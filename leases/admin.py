"""The fleet in the Django admin: the same services as the API, so the same rules.

A form's `clean()` asks the service to validate (showing a refused rule on the field it names),
and `save_model` / `delete_model` call the service to write, which also records the audit row.
Exports go through django-import-export and need the `export_<model>` permission. The lease
page's schedule and the "Terminate selected leases early…" action are added by `lease_schedules`.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from import_export.admin import ExportActionMixin

from batpay.errors import DomainError
from batpay.forms import ServiceErrorsMixin, service_values
from batpay.money import MoneyFormField
from leases import resources, services
from leases.models import Driver, Lease, Medallion, Vehicle


class ServiceForm(ServiceErrorsMixin, forms.ModelForm):
    """A model form whose `clean()` runs the service's validation for the values entered.

    The values come back as the service would save them (a VIN upper-cased, say), so the
    model's own validation that follows sees what the API would store, not the raw typing.
    """

    #: The service function that checks values without writing: validate(<model>=…, values=…).
    validate: Callable[..., Mapping[str, Any]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        creating = self.instance.pk is None
        values = form_values(self, list(cleaned) if creating else self.changed_data)
        try:
            normalised = type(self).validate(
                **{self._meta.model._meta.model_name: None if creating else self.instance}, values=values
            )
        except DomainError as exc:
            self.add_domain_error(exc)
            return cleaned
        for name, value in normalised.items():
            if name in cleaned and name not in self.service_names:
                cleaned[name] = value
        return cleaned


def form_values(form: forms.ModelForm, names: list[str]) -> dict[str, Any]:
    """The form's cleaned values for `names`, named and typed as the services take them."""
    return service_values(form.cleaned_data, names, getattr(form, "service_names", {}))


class FleetAdmin(ExportActionMixin, admin.ModelAdmin):
    """Saves and deletes through the services; exports need `leases.export_<model>`."""

    create_with: Callable[..., Model]
    update_with: Callable[..., Model]
    delete_with: Callable[..., None]
    readonly_fields = ("created_at", "updated_at")

    def has_export_permission(self, request: HttpRequest) -> bool:
        codename = get_permission_codename("export", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        kind = self.opts.model_name
        if change:
            saved = type(self).update_with(
                actor=request.user, **{kind: obj}, changes=form_values(form, form.changed_data)
            )
        else:
            saved = type(self).create_with(actor=request.user, **form_values(form, list(form.cleaned_data)))
        # The admin goes on to log and redirect with `obj`; make it the row the service saved.
        for field in self.opts.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets, change: bool) -> None:
        # The service has set the many-to-many values already; form.save_m2m() would bypass it.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        type(self).delete_with(actor=request.user, **{self.opts.model_name: obj})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class DriverForm(ServiceForm):
    validate = services.driver_validate

    class Meta:
        model = Driver
        fields = ["first_name", "last_name", "tlc_license_number", "phone", "email", "status", "pay_to_mode"]


@admin.register(Driver)
class DriverAdmin(FleetAdmin):
    form = DriverForm
    change_form_template = "admin/leases/driver/change_form.html"  # with a link to the driver's account
    create_with = services.driver_create
    update_with = services.driver_update
    delete_with = services.driver_delete
    resource_classes = [resources.DriverResource]
    list_display = ("last_name", "first_name", "tlc_license_number", "phone", "status", "pay_to_mode")
    list_display_links = ("last_name", "first_name")
    list_filter = ("status", "pay_to_mode")
    search_fields = ("last_name", "first_name", "tlc_license_number", "=phone", "email")
    ordering = ("last_name", "first_name", "id")


class VehicleForm(ServiceForm):
    validate = services.vehicle_validate

    class Meta:
        model = Vehicle
        fields = ["vin", "plate_number", "make", "model", "year"]


@admin.register(Vehicle)
class VehicleAdmin(FleetAdmin):
    form = VehicleForm
    create_with = services.vehicle_create
    update_with = services.vehicle_update
    delete_with = services.vehicle_delete
    resource_classes = [resources.VehicleResource]
    list_display = ("vin", "plate_number", "make", "model", "year")
    list_filter = ("make", "year")
    search_fields = ("vin", "plate_number", "make", "model")


class MedallionForm(ServiceForm):
    validate = services.medallion_validate

    class Meta:
        model = Medallion
        fields = ["number", "medallion_type"]


@admin.register(Medallion)
class MedallionAdmin(FleetAdmin):
    form = MedallionForm
    create_with = services.medallion_create
    update_with = services.medallion_update
    delete_with = services.medallion_delete
    resource_classes = [resources.MedallionResource]
    list_display = ("number", "medallion_type")
    list_filter = ("medallion_type",)
    search_fields = ("number",)


class LeaseForm(ServiceForm):
    validate = services.lease_validate
    service_names = {
        "primary_driver": "driver_id",
        "additional_drivers": "additional_driver_ids",
        "vehicle": "vehicle_id",
        "medallion": "medallion_id",
    }

    class Meta:
        model = Lease
        fields = [
            "lease_type",
            "status",
            "primary_driver",
            "additional_drivers",
            "vehicle",
            "medallion",
            "start_date",
            "end_date",
            "weekly_rate",
        ]
        field_classes = {"weekly_rate": MoneyFormField}


@admin.register(Lease)
class LeaseAdmin(FleetAdmin):
    form = LeaseForm
    change_form_template = "admin/leases/lease/change_form.html"  # with a link to the lease's account
    create_with = services.lease_create
    update_with = services.lease_update
    delete_with = services.lease_delete
    resource_classes = [resources.LeaseResource]
    list_display = (
        "lease_number",
        "lease_type",
        "status",
        "primary_driver",
        "medallion",
        "vehicle",
        "start_date",
        "end_date",
        "weekly_rate",
    )
    list_filter = ("status", "lease_type", "medallion__medallion_type", "start_date")
    list_select_related = ("primary_driver", "vehicle", "medallion")
    search_fields = (
        "lease_number",
        "=medallion__number",
        "primary_driver__last_name",
        "=primary_driver__tlc_license_number",
        "=vehicle__vin",
        "=vehicle__plate_number",
    )
    autocomplete_fields = ("primary_driver", "additional_drivers", "vehicle", "medallion")
    readonly_fields = ("lease_number", "created_at", "updated_at")
    date_hierarchy = "start_date"
