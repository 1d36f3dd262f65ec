"""API tokens (docs/rules.md, "Logins and tokens"): django-rest-knox tokens — the database keeps a
SHA-512 digest, never the token; each expires (`REST_KNOX["TOKEN_TTL"]`); `DELETE /api/auth/token/`
revokes one. Clients send `Authorization: Bearer <token>`. The login guard is batpay.login_guard.
"""

from __future__ import annotations

import re

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.signals import token_expired
from rest_framework import exceptions

# What knox issues: 64 lower-case hex digits. Anything else is refused before the database is asked.
_TOKEN_FORMAT = re.compile(rb"[0-9a-f]{64}")
UNKNOWN_TOKEN = "Unknown, expired or revoked token: get a new one with POST /api/auth/token/."


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>` with a token from POST /api/auth/token/ (knox's, hashed)."""

    def authenticate_credentials(self, token: bytes):
        if not _TOKEN_FORMAT.fullmatch(token):
            raise exceptions.AuthenticationFailed(UNKNOWN_TOKEN)
        try:
            return super().authenticate_credentials(token)
        except exceptions.AuthenticationFailed as exc:
            # knox deletes an expired token as it meets it; to the client it is gone like a revoked one.
            if exc.detail == "Invalid token.":
                raise exceptions.AuthenticationFailed(UNKNOWN_TOKEN) from exc
            raise

    def _cleanup_token(self, auth_token) -> bool:
        """An expired token is deleted as it is met. Unlike knox's own, this does not list the user's
        other tokens on every request (one query less each time): expired tokens of anybody are
        deleted at each login instead (batpay.views.ObtainTokenView)."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=auth_token.user.get_username(), source="auth_token")
            return True
        return False


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "batpay.auth.BearerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
