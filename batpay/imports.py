"""What every file import shares (trips now; tolls and violations when they come): a bad row is kept
for review with its reason and the rest of the file goes on, whether the row fails the import's
own checks or only the database.

- `text_problem(name, text)`: why a free-text cell (an id) cannot be taken as it is.
- `storable(text)`: a cell as it can be kept for review. PostgreSQL refuses NUL in text and in
  jsonb, and a lone surrogate cannot be encoded at all; each becomes U+FFFD, the character the
  file's decoder already puts for bytes that are not UTF-8.
- `column_order(header, columns, described=…)`: where each named column is in a file whose columns may come
  in any order and case (extra ones ignored); a missing or repeated one refuses the whole file.
- `write_or_isolate(items, write)`: one bulk write in a savepoint, the fast path of a good file;
  if the database refuses it, the halves are tried the same way down to single items, and the
  refused ones come back with the database's reason while the others are written. k bad rows
  among n cost about 2·k·log2(n) statements, not one per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

import psycopg
from django.db import DataError, IntegrityError, transaction

from batpay.errors import InvalidInput

T = TypeVar("T")
REPLACEMENT = "\ufffd"

# What a row's own values can make the database refuse: a constraint (IntegrityError), a value
# the column cannot hold (DataError: too long, out of range, NUL), or text psycopg cannot encode.
# Anything else (a lost connection, a deadlock, a bug) is not the row's fault and stops the import.
ROW_REFUSALS = (IntegrityError, DataError, psycopg.IntegrityError, psycopg.DataError, UnicodeEncodeError)


# Control characters (Unicode's Cc: C0, DEL, C1), lone surrogates, and the decoder's U+FFFD.
_UNFIT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(name: str, text: str) -> str | None:
    """Why an identifier from a file cannot be taken: a control character (NUL, tab, line break…),
    a lone surrogate, or a byte that was not UTF-8 (read as U+FFFD). None when it can."""
    found = _UNFIT.search(text)
    if found is None:
        return None
    bad = found.group()
    if bad == REPLACEMENT:
        return f"{name} holds bytes that are not UTF-8 text"
    kind = "a lone surrogate" if "\ud800" <= bad <= "\udfff" else "a control character"
    return f"{name} contains {kind} (U+{ord(bad):04X})"


def storable(text: str) -> str:
    """`text` with NUL and lone surrogates as U+FFFD: what PostgreSQL can keep of it."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def refusal_reason(exc: BaseException) -> str:
    """The database's own words for a refused row (its primary message, without the DETAIL that
    repeats the whole row)."""
    if isinstance(exc, UnicodeEncodeError):
        return "refused by the database: text that is not valid Unicode (a lone surrogate)"
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    diag = getattr(cause, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc).splitlines()[0]
    return f"refused by the database: {message}"


def write_or_isolate(items: Sequence[T], write: Callable[[Sequence[T]], object]) -> list[tuple[T, str]]:
    """Write `items` with `write`, each attempt in its own savepoint (see the module). Returns the
    items the database refused, with the reason, in their order; every other item is written.
    Call it inside a transaction with immediate constraints: a deferred one would fail at commit,
    where no savepoint can catch it."""
    if not items:
        return []
    try:
        with transaction.atomic():
            write(items)
        return []
    except ROW_REFUSALS as exc:
        if len(items) == 1:
            return [(items[0], refusal_reason(exc))]
    middle = len(items) // 2
    return write_or_isolate(items[:middle], write) + write_or_isolate(items[middle:], write)


_SPACES = re.compile(r"\s+")


def _column_key(name: str) -> str:
    return _SPACES.sub(" ", name.strip().lower())


def column_order(header: Sequence[str] | None, columns: Sequence[str], *, described: str) -> list[int]:
    """Where each of `columns` is in a file's first line: any order, any case and spacing, a byte-order mark
    dropped, other columns ignored. A missing or repeated column refuses the whole file (a 400 naming
    `file`): "The first line must name <described> (A, B, …): missing B."."""
    names = [_column_key(name) for name in (header or [])]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0].lstrip("\ufeff")
    keys = [_column_key(name) for name in columns]
    missing = [name for name, key in zip(columns, keys, strict=True) if key not in names]
    repeated = sorted({name for name, key in zip(columns, keys, strict=True) if names.count(key) > 1})
    if missing or repeated:
        problems = [
            f"{what} {', '.join(found)}" for what, found in (("missing", missing), ("repeated", repeated)) if found
        ]
        raise InvalidInput(
            f"The first line must name {described} ({', '.join(columns)}): {'; '.join(problems)}.",
            fields={"file": f"Columns: {'; '.join(problems)}."},
        )
    return [names.index(key) for key in keys]
