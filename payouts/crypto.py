"""Bank account numbers at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under keys
from the environment, as the NACHA rules for stored account numbers ask.

`PAYOUT_ENCRYPTION_KEYS` is a comma-separated list of Fernet keys, the first the current one:
MultiFernet encrypts with it and decrypts with any, so a new key is put first, `manage.py
rotate_payout_keys` re-encrypts every stored number with it, and the old key is then dropped.
Without the setting (a single-machine install) a key is derived from SECRET_KEY; production refuses
to start without one (system check payouts.E001). The clear number never leaves this module but
into a NACHA file; everything else shows the last four digits.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "keys_problem", "rotate"]


def _dev_key() -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(f"batpay-payouts:{settings.SECRET_KEY}".encode()).digest())


def configured_keys() -> list[str]:
    return [key for key in settings.PAYOUT_ENCRYPTION_KEYS if key]


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys] if keys else [Fernet(_dev_key())])


def fernet() -> MultiFernet:
    return _fernet(tuple(configured_keys()))


def keys_problem() -> str:
    """Why the configured keys cannot be used ("" when they can)."""
    for number, key in enumerate(configured_keys(), start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return f"key {number} of PAYOUT_ENCRYPTION_KEYS is not a Fernet key (32 url-safe base64-encoded bytes)"
    return ""


def encrypt(account_number: str) -> str:
    return fernet().encrypt(account_number.encode()).decode()


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same number encrypted under the current (first) key."""
    return fernet().rotate(token.encode()).decode()
