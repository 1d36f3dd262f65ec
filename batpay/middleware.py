"""Hostile input refused before any view runs (docs/rules.md, "Hostile input").

`RequestLimits`, first after Django's SecurityMiddleware:
- a body larger than the limit is a 413 — in the API's error shape under /api/ and /metrics, a short
  page elsewhere — before a byte of it is read: API bodies and forms up to DATA_UPLOAD_MAX_MEMORY_SIZE,
  the admin's file uploads (a trips file) up to UPLOAD_MAX_SIZE;
- a query string, and outside the API a form's body (every admin form, whichever app it comes
  from), whose text is not text (`batpay.text`) is a 400 naming the field. API bodies are the
  parsers' (`batpay.parsers`).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from batpay.errors import TOO_LARGE, ErrorCode, error_body, is_api_request
from batpay.text import body_problems

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refusal(request: HttpRequest, status: int, code: ErrorCode, message: str, fields=None) -> HttpResponse:
    if is_api_request(request):
        return JsonResponse(error_body(code, message, fields), status=status)
    title = "Request too large" if status == 413 else "Bad request"
    lines = "".join(f"<li>{escape(name)}: {escape(' '.join(found))}</li>" for name, found in (fields or {}).items())
    page = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{escape(message)}</p><ul>{lines}</ul>"
    return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")


def body_limit(request: HttpRequest) -> int | None:
    """The largest body this request may have, in bytes (None: no limit)."""
    if not is_api_request(request) and request.content_type == "multipart/form-data":
        return settings.UPLOAD_MAX_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _pairs(query_dict):
    return ((name, value) for name, values in query_dict.lists() for value in values)


class RequestLimits:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return _refusal(
                request, 413, ErrorCode.TOO_LARGE, f"The body is {length:,} bytes; at most {limit:,} are accepted here."
            )
        try:
            problems = body_problems(_pairs(request.GET))
            if not problems and not is_api_request(request) and request.content_type in FORM_TYPES:
                problems = body_problems(_pairs(request.POST))
                problems = problems or body_problems((name, upload.name) for name, upload in request.FILES.items())
        except TOO_LARGE as exc:
            return _refusal(request, 413, ErrorCode.TOO_LARGE, str(exc) or "The request is too large.")
        if problems:
            first = next(iter(problems))
            return _refusal(request, 400, ErrorCode.INVALID, f"{first}: {problems[first][0]}", problems)
        return self.get_response(request)
