"""The admin kit's form pieces: admin forms clean what is typed and hand it to the services, and a
service's refusal comes back on the form's fields — the same rules, the same words as the API's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.db.models import Model, QuerySet

from batpay.errors import DomainError


def service_values(cleaned: Mapping[str, Any], names: Iterable[str], renames: Mapping[str, str]) -> dict[str, Any]:
    """Form values → service arguments: a chosen row becomes its id, several rows their ids, and a
    form field named otherwise than the service's argument (`driver` → `driver_id`) is renamed."""
    values: dict[str, Any] = {}
    for name in names:
        if name not in cleaned:
            continue
        value = cleaned[name]
        if isinstance(value, Model):
            value = value.pk
        elif isinstance(value, QuerySet):
            value = [obj.pk for obj in value]
        values[renames.get(name, name)] = value
    return values


class ServiceErrorsMixin:
    """For a Form or ModelForm: `add_domain_error(exc)` puts each field a DomainError names on the
    form field it comes from (through `service_names`, form field → service argument), and a
    refusal that names none at the top of the form."""

    #: Form field → service argument, where the names differ.
    service_names: Mapping[str, str] = {}

    def add_domain_error(self: forms.BaseForm, exc: DomainError) -> None:
        form_names = {service: form for form, service in self.service_names.items()}
        for name, messages in exc.fields.items():
            field = form_names.get(name, name)
            self.add_error(field if field in self.fields else None, messages)
        if not exc.fields:
            self.add_error(None, exc.message)
