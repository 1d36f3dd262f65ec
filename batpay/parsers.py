"""The API's body parsers: JSON with exact numbers, and forms; every one refuses text that is not text.

Every string a body carries — a value at any depth, or the name of a field — is checked once here by
`batpay.text` (control characters, NUL, lone surrogates, line breaks outside multi-line fields), so
no view, serializer or service ever sees one. A refusal is a 400 naming the field.
"""

import json
from decimal import Decimal

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from batpay.text import body_problems


class ExponentNumber(Decimal):
    """A JSON number written with an exponent (`3e2`, `1e400`): exact, but never an amount of money.

    `batpay.parsers.DecimalJSONParser` reads such numbers as this type, so `parse_money` can refuse
    them like the string "3e2" while other fields take them as the Decimal they are.
    """


def _number(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exactly; `batpay.money` refuses exponents as money."""
    return ExponentNumber(text) if "e" in text or "E" in text else Decimal(text)


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON value")


def refuse_bad_text(fields) -> None:
    """A 400 naming every field (of (name, value) pairs) with a string that is not text."""
    if problems := body_problems(fields):
        raise ValidationError(problems)


def _form_fields(query_dict):
    return ((name, value) for name, values in query_dict.lists() for value in values)


class DecimalJSONParser(parsers.JSONParser):
    """JSON numbers with a fraction become Decimal, never float: money stays exact end to end.

    NaN and Infinity, which Python's json module would read as floats, are not JSON and are refused.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF's choice of charset: a text encoding only (a compression codec would inflate the body).
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.loads(stream.read().decode(encoding), parse_float=_number, parse_constant=_not_json)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: bad input too
            raise ParseError(f"The body is not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            refuse_bad_text(data.items())
        else:
            refuse_bad_text([("non_field_errors", data)])
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_bad_text(_form_fields(data))
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refuse_bad_text(_form_fields(parsed.data))
        refuse_bad_text((name, upload.name) for name, upload in parsed.files.items())
        return parsed
