"""The OpenAPI schema's own rules (drf-spectacular), so the schema says what the API answers.

`AutoSchema` is the project's DEFAULT_SCHEMA_CLASS. On top of drf-spectacular's reading of each
view it documents, for every operation at once:

- **the errors**: each 4xx the operation can give, with the one error shape of `batpay.errors`
  (`Error`: `code`, `message`, `fields`; `fields` nests for nested input), derived from what the
  operation is — input → 400, not open to anyone → 401 and 403, a path parameter or a page → 404,
  a write → 409, a body → 413 and 415, throttles → 429. A view never lists them itself.
- **a page**: a collection action that pages (`GET /repairs/installments/unposted`) answers a page
  of rows, like `list`.
- **a possibly empty read-only value**: DRF drops `allow_blank` from read-only model fields, so an
  e-mail the model allows to be blank is documented as an e-mail or "".
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent, is_basic_type
from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers

from batpay.errors import ErrorCode

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

ERROR_DESCRIPTIONS = {
    400: "The input is not valid: `fields` names each problem (a body field, a query parameter).",
    401: "No valid credentials: send `Authorization: Bearer <token>` from POST /api/auth/token/.",
    403: "Your role does not allow this.",
    404: "No such resource, or a page past the last.",
    409: "The request conflicts with the current state (a transition not allowed now, a duplicate, "
    "a record still referred to); nothing was written.",
    413: "The body is over the upload limits (its size, its number of fields).",
    415: "The body is not in a media type this operation reads.",
    429: "Too many requests; retry after the number of seconds in `Retry-After`.",
}

# Nested input nests its errors: a field of a nested object, or an item of a list (keyed by its
# index), has the same shape again.
FIELD_ERRORS = ResolvedComponent(
    name="FieldErrors",
    type=ResolvedComponent.SCHEMA,
    object="FieldErrors",
    schema={
        "type": "object",
        "description": "The problems by field: a list of messages, or for a nested object or a list "
        "of them the same shape again (list items keyed by their index).",
        "additionalProperties": {
            "anyOf": [
                {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/FieldErrors"}]},
                },
                {"$ref": "#/components/schemas/FieldErrors"},
            ]
        },
    },
)


@extend_schema_field(FIELD_ERRORS.ref)
class FieldErrorsField(serializers.DictField):
    pass


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (`batpay.errors`)."""

    code = serializers.ChoiceField(choices=[(code.value, code.name) for code in ErrorCode])
    message = serializers.CharField()
    fields = FieldErrorsField()

    class Meta:
        ref_name = "Error"


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self.registry.register_on_missing(FIELD_ERRORS)
        responses = operation["responses"]
        for status in self.error_statuses(operation):
            responses.setdefault(
                str(status),
                self._get_response_for_code(
                    ErrorSerializer, str(status), media_types=["application/json"], direction="response"
                )
                | {"description": ERROR_DESCRIPTIONS[status]},
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def error_statuses(self, operation: dict[str, Any]) -> list[int]:
        """The 4xx statuses this operation can answer, read from what it takes and how it is guarded."""
        takes_body = "requestBody" in operation
        locations = {parameter["in"] for parameter in operation.get("parameters", [])}
        statuses = []
        if takes_body or locations & {"query", "header"}:
            statuses.append(400)
        if not all(isinstance(permission, permissions.AllowAny) for permission in self.view.get_permissions()):
            statuses += [401, 403]
        if "path" in locations or (self._is_list_view() and self._get_paginator() is not None):
            statuses.append(404)
        if self.method in WRITE_METHODS:
            statuses.append(409)
        if takes_body:
            statuses += [413, 415]
        if self.view.get_throttles():
            statuses.append(429)
        return statuses

    def _is_list_view(self, serializer=None) -> bool:
        # A collection action (detail=False) that pages answers a page of rows, as `list` does;
        # statistics and exports set no paginator.
        if serializer is None:
            serializer = self.get_response_serializers()
        if (
            self.method == "GET"
            and getattr(self.view, "detail", None) is False
            and getattr(self.view, "pagination_class", None) is not None
            and not is_basic_type(serializer)
        ):
            return True
        return super()._is_list_view(serializer)

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            schema
            and field.read_only
            and schema.get("type") == "string"
            and ("format" in schema or "pattern" in schema)
            and _model_field_allows_blank(field)
        ):
            outer_keys = {"readOnly", "nullable", "description", "title"}
            inner = {key: schema.pop(key) for key in list(schema) if key not in outer_keys}
            schema["oneOf"] = [inner, {"type": "string", "maxLength": 0}]
        return schema


def _model_field_allows_blank(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or "." in field.source:
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False
