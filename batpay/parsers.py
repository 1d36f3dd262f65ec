import json
from decimal import Decimal

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


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


class DecimalJSONParser(JSONParser):
    """JSON numbers with a fraction become Decimal, never float: money stays exact end to end.

    NaN and Infinity, which Python's json module would read as floats, are not JSON and are refused.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", "utf-8")
        try:
            return json.loads(stream.read().decode(encoding), parse_float=_number, parse_constant=_not_json)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: bad input too
            raise ParseError(f"The body is not valid JSON: {exc}") from exc
