"""The admin kit of records entered once through a service and corrected only by a service
(misc charges and credits, deposits): an add form the service checks, read-only afterwards,
exports, and list actions that ask for a reason first."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from batpay.errors import DomainError
from batpay.forms import service_values
from batpay.lists import ExportAdminMixin


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="At least 10 characters.")


def reason_action(model_admin, request, queryset, *, action: str, title: str, explanation: str, apply):
    """Ask for the reason on a confirmation page, then `apply(obj, reason)` each selected row."""
    form = ReasonForm(request.POST if "confirm" in request.POST else None)
    if form.is_bound and form.is_valid():
        done = []
        for obj in queryset.order_by("pk"):
            try:
                apply(obj, form.cleaned_data["reason"])
            except DomainError as exc:
                model_admin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            else:
                done.append(str(obj))
        if done:
            model_admin.message_user(request, f"{title}: {', '.join(done)}.", messages.SUCCESS)
        return None
    objects = list(queryset.order_by("pk"))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "explanation": explanation,
        "rows": [model_admin.describe(obj) for obj in objects],
        "objects": objects,
        "form": form,
        "action": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/plans/reason_action.html", context)


class ServiceAdmin(ExportAdminMixin, admin.ModelAdmin):
    """Add through a service; everything read-only afterwards."""

    entry_fields: tuple[str, ...]
    form_renames: dict[str, str] = {"driver": "driver_id", "lease": "lease_id"}

    def export_rows(self, queryset):
        return self.get_queryset(None).filter(pk__in=queryset.values("pk"))

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_fields(self, request, obj=None):
        return self.entry_fields if obj is None else self.shown_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.shown_fields

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The services open their own durable transaction; the admin's wrapping atomic block would nest them.
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change: bool) -> None:
        saved = self.create(
            actor=request.user, **service_values(form.cleaned_data, self.entry_fields, self.form_renames)
        )
        for field in self.opts.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        """Nothing: the service saved everything."""

    @admin.display(description="Driver", ordering="driver__last_name")
    def driver_name(self, obj) -> str:
        return obj.driver.full_name

    @admin.display(description="Lease", ordering="lease__lease_number")
    def lease_number(self, obj) -> str:
        return obj.lease.lease_number
