"""Text typed in: what a string may hold, one rule for the API, the admin and the trips file.

Text never holds a control character — C0 (U+0000–U+001F) but tab, line feed and carriage return,
DEL (U+007F), C1 (U+0080–U+009F) — nor half of a UTF-16 surrogate pair (U+D800–U+DFFF), which JSON
can spell (`"\\ud800"`) but which is not a character. Each would reach an export, a header, a PDF or
the database and fail there (PostgreSQL refuses NUL in text; an .xlsx cell refuses control
characters; a surrogate cannot be written as UTF-8). Tab, line feed and carriage return are text
only in a multi-line field: one a model stores in a TextField (a description, a reason, a purpose);
every other text is a single line.

Where it is enforced: `batpay.parsers` (every API body, JSON or form), `batpay.middleware` (every
query string, and every form body outside the API — the admin), `statements.trips` (each cell of a
trips file). Each refusal names the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE = re.compile("[\t\n\r]")


@cache
def multiline_fields() -> frozenset[str]:
    """The names of the fields that may hold several lines: every TextField of an installed model."""
    from django.apps import apps
    from django.db import models

    return frozenset(
        field.name
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField)
    )


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be text (of a multi-line field, if `multiline`), or None if it can."""
    if found := _REFUSED.search(value):
        char = found.group()
        if "\ud800" <= char <= "\udfff":
            return f"Contains U+{ord(char):04X}, half of a UTF-16 surrogate pair, which is not a character."
        return f"Contains the control character U+{ord(char):04X}, which text cannot hold."
    if not multiline and (found := _LINE.search(value)):
        return f"Contains a tab or a line break (U+{ord(found.group()):04X}); this field is a single line."
    return None


def field_problem(name: str, value: str) -> str | None:
    """`text_problem` for the value of the field `name`: multi-line if the name is a multi-line field's."""
    return text_problem(value, multiline=name in multiline_fields())


def shown(name: str) -> str:
    """A field name as an error can show it: a name that is not text itself is escaped ("a\\x00")."""
    return name if text_problem(name) is None else name.encode("unicode_escape").decode("ascii")


def _problems(value: Any, where: str, name: str) -> Iterator[tuple[str, str]]:
    """(where, problem) for each string in a parsed body that is not text; `name` is the key holding it."""
    if isinstance(value, str):
        if problem := field_problem(name, value):
            yield where, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            path = f"{where}.{shown(key)}"
            if problem := text_problem(key):
                yield path, f"The name of a field: {problem[0].lower()}{problem[1:]}"
            else:
                yield from _problems(item, path, key)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _problems(item, f"{where}[{index}]", name)


def body_problems(fields: Iterable[tuple[str, Any]]) -> dict[str, list[str]]:
    """{field: [problem]} for the (name, value) pairs of a request body or query string, nested values
    included (a list's items, an object's keys and values); empty if every string is text."""
    found: dict[str, list[str]] = {}
    for name, value in fields:
        name = str(name)
        top = shown(name)
        if problem := text_problem(name):
            found.setdefault(top, []).append(f"The name of a field: {problem[0].lower()}{problem[1:]}")
            continue
        for where, problem in _problems(value, top, name):
            found.setdefault(top, []).append(problem if where == top else f"{where}: {problem}")
    return found
