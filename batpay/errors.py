"""One error shape for the whole API: {"code": …, "message": …, "fields": {…}}.

Services raise `DomainError`s; the exception handler turns them (and DRF's and Django's own
errors) into that shape. The codes are an enum so clients can rely on them.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("batpay.errors")


class ErrorCode(StrEnum):
    INVALID = "invalid"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    TOO_LARGE = "too_large"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    DUPLICATE_INVOICE = "duplicate_invoice"
    INVALID_TRANSITION = "invalid_transition"
    ALREADY_POSTED = "already_posted"
    ALREADY_VOIDED = "already_voided"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
    SERVER_ERROR = "server_error"


class DomainError(Exception):
    """A business rule refused the request. Nothing was written."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = ErrorCode.INVALID

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        fields: dict[str, list[str] | str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = {k: v if isinstance(v, list) else [v] for k, v in (fields or {}).items()}


class InvalidInput(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = ErrorCode.INVALID


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_code = ErrorCode.CONFLICT


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = ErrorCode.NOT_FOUND


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": str(code), "message": message, "fields": fields or {}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            if key in ("non_field_errors", "__all__"):
                return inner
            return f"{key}: {inner}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def _plain(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(item) for item in detail]
    return str(detail)


_DRF_CODES = {
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: ErrorCode.THROTTLED,
}


# Django's refusals of a body too big to read, raised while a parser reads it.
TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, TOO_LARGE):
        return Response(error_body(ErrorCode.TOO_LARGE, str(exc) or "The request is too large."), status=413)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        message = _first_message(fields) if fields else "; ".join(exc.messages)
        return Response(error_body(ErrorCode.INVALID, message, fields), status=400)
    if isinstance(exc, IntegrityError):
        # Services check rules before writing; this is the database's backstop (a race).
        logger.warning("integrity error reached the API", extra={"error": str(exc)})
        return Response(
            error_body(ErrorCode.CONFLICT, "The request conflicts with the current state; retry."),
            status=409,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = _plain(exc.detail)
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = error_body(ErrorCode.INVALID, _first_message(detail), fields)
        return response
    if isinstance(exc, Http404):
        code = ErrorCode.NOT_FOUND
    elif isinstance(exc, DjangoPermissionDenied):
        code = ErrorCode.PERMISSION_DENIED
    else:
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), ErrorCode.INVALID)
    detail = getattr(exc, "detail", None)
    message = _first_message(_plain(detail)) if detail is not None else str(exc) or code.value
    response.data = error_body(code, message)
    return response


def is_api_request(request) -> bool:
    """The API's paths, and /metrics, answer errors in the error shape; the admin answers with pages."""
    return request.path.startswith("/api/") or request.path.rstrip("/") == "/metrics"


def api_not_found(request, exception=None):
    return JsonResponse(error_body(ErrorCode.NOT_FOUND, f"No such resource: {request.path}"), status=404)


def api_server_error(request):
    return JsonResponse(error_body(ErrorCode.SERVER_ERROR, "Unexpected server error; it has been logged."), status=500)
