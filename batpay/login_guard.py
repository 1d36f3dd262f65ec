"""The login guard (docs/rules.md, "Logins and tokens"): django-axes counts failed logins — the API's
token and the admin's login form alike — per username and client address (`client_ip`), in the
database every web process shares (`AXES_*` settings). A locked-out login is refused before its
password is checked: the API's token view raises `LoginLocked` (429 `throttled`), the admin's login
gets `lockout_response` (a lockout page, 429); both say when to try again (Retry-After).
"""

from __future__ import annotations

import ipaddress
import math

from django.conf import settings
from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework import exceptions

from batpay.errors import ErrorCode, error_body


def client_ip(request: HttpRequest) -> str | None:
    """The address failed logins are counted by: the connection's, or — behind TRUSTED_PROXY_COUNT
    proxies — the one the outermost of them appended to X-Forwarded-For (a client can prepend any
    entries it likes, but not replace the ones the proxies append)."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


def lockout_seconds(request, credentials: dict | None) -> int:
    """Seconds until a locked-out username and address may try again: a cool-off after the last
    counted failure (attempts while locked out are not counted)."""
    from axes.handlers.proxy import AxesProxyHandler
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    if cool_off is None:
        return 0
    attempts = AxesProxyHandler.get_implementation().get_user_attempts(request, credentials)
    last = max(
        (found for found in (qs.aggregate(last=Max("attempt_time"))["last"] for qs in attempts) if found),
        default=None,
    )
    if last is None:
        return math.ceil(cool_off.total_seconds())
    return max(1, math.ceil((last + cool_off - timezone.now()).total_seconds()))


class LoginLocked(exceptions.Throttled):
    """The API's answer to a locked-out login: 429 `throttled` with Retry-After."""

    default_detail = "Too many failed logins for this username from this address; even the right password is refused."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: what a login the guard refused gets from the middleware (the admin's
    login form; the API's token view raises LoginLocked itself)."""
    wait = lockout_seconds(request, credentials)
    if request.path.startswith("/api/"):
        message = f"{LoginLocked.default_detail} {LoginLocked.extra_detail_plural.format(wait=wait)}"
        response = JsonResponse(error_body(ErrorCode.THROTTLED, message), status=429)
    else:
        context = {**admin.site.each_context(request), "title": "Login locked", "wait_minutes": math.ceil(wait / 60)}
        response = render(request, "registration/lockout.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
