"""Bank routing numbers and what a NACHA file may hold as text."""

from __future__ import annotations

import re

_ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)
_NACHA_TEXT = re.compile(r"[^A-Z0-9 .,&/()'-]")


def routing_problem(value) -> str:
    """Why `value` is not an ABA routing number ("" when it is): 9 digits whose weighted sum
    3·d1 + 7·d2 + d3 + 3·d4 + … is a multiple of 10 (the ninth digit is the check digit)."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{9}", value):
        return "A routing number is 9 digits."
    if sum(int(d) * w for d, w in zip(value, _ABA_WEIGHTS, strict=True)) % 10:
        return "This routing number's check digit is wrong (a typing error?)."
    return ""


def account_problem(value) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4,17}", value):
        return "An account number is 4 to 17 digits."
    return ""


def nacha_text(value: str, width: int) -> str:
    """Upper-case ASCII a bank's file accepts, cut or padded to `width`."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode().upper()
    return _NACHA_TEXT.sub(" ", plain)[:width].ljust(width)
