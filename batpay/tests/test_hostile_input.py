"""Hostile input, one class at a time, over every route that takes input (docs/rules.md, "Hostile input").

The routes and their fields are read from the OpenAPI schema — every request body's fields, nested
ones included, and every query parameter — not listed here; the real bodies and paths come from
`batpay.tests.api_world`. Each hostile value replaces one field of a body the route accepts (the
first test proves it does), so its refusal is that value's doing: a 400 in the error shape naming
the field, and nothing written (the database's fingerprint is unchanged, `check_ledger` passes).
Each class is swept with the values the issue names, then explored with hypothesis.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from batpay.money import MAX_AMOUNT
from batpay.periods import EARLIEST_DATE, LATEST_DATE
from batpay.tests.api_world import REAL_BODIES, World, database_fingerprint
from batpay.text import multiline_fields
from ledger.selectors import prepayment_credit

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "fields"}
SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
COMPONENTS = SCHEMA["components"]["schemas"]


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # the schema's path: /api/repairs/{repair_id}/
    url_name: str
    kwarg_names: tuple[str, ...]
    body: dict | None  # the request body's schema
    query: tuple[tuple[str, dict], ...]  # (name, schema) of each query parameter

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"

    def path(self, world: World) -> str:
        return reverse(self.url_name, kwargs=world.kwargs(self.url_name, self.kwarg_names))


def _operations() -> list[Operation]:
    found = []
    for template, item in SCHEMA["paths"].items():
        match = resolve(_sample(template))
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            query = tuple(
                (parameter["name"], parameter["schema"])
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "query"
            )
            found.append(
                Operation(
                    method, template, match.url_name, tuple(match.kwargs), _resolve(body) if body else None, query
                )
            )
    return found


def _sample(template: str) -> str:
    samples = {"{id}": "7", "{driver_id}": "7", "{repair_id}": "RPR-2025-1", "{loan_id}": "DL-2025-1",
               "{dtr_number}": "DTR-2025-1", "{case_no}": "CASE-2025-1", "{misc_id}": "MISC-2025-1",
               "{credit_id}": "MCR-2025-1", "{deposit_id}": "DEP-2025-1",
               "{export_id}": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}  # fmt: skip
    for name, value in samples.items():
        template = template.replace(name, value)
    assert "{" not in template, f"add a sample for the parameter of {template}"
    return template


OPERATIONS = _operations()
WITH_BODY = [operation for operation in OPERATIONS if operation.body is not None]
WITH_QUERY = [operation for operation in OPERATIONS if any(not name.startswith("page") for name, _ in operation.query)]


# --- the fields of a body, from its schema and its real value -------------------------------------


@dataclass(frozen=True)
class Slot:
    where: tuple  # keys into the body: ("allocations", 0, "amount")
    kind: str  # text | choice | date | week | money | decimal | integer | json

    @property
    def field(self) -> str:
        return self.where[0]

    @property
    def multiline(self) -> bool:
        return self.kind == "text" and next(k for k in reversed(self.where) if isinstance(k, str)) in multiline_fields()

    def __str__(self) -> str:
        return ".".join(map(str, self.where))


def _kind(schema: dict) -> str:
    schema = _resolve(schema)
    if "enum" in schema:
        return "choice"
    if "oneOf" in schema or "anyOf" in schema:
        return _kind((schema.get("oneOf") or schema.get("anyOf"))[0])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date":
            return "date"
        if schema.get("format") == "decimal":
            return "money" if "{0,10}" in schema.get("pattern", "") else "decimal"
        if "(YYYY-MM-DD)" in schema.get("description", ""):
            return "week"
        return "text"
    if kind in ("integer", "number"):
        return "integer"
    if kind in ("object", "array"):
        return kind
    return "json"


def _kind_of_text(value: str) -> str:
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return "date"
    if re.fullmatch(r"[0-9]+\.[0-9]{2}", value):
        return "money"
    return "text"


def slots(schema: dict, value: Any, where: tuple = ()) -> Iterator[Slot]:
    """Every field of the real body `value`, typed by the body's schema."""
    schema = _resolve(schema)
    kind = _kind(schema) if where else "object"
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        for name, item in value.items():
            yield from slots(properties.get(name, {}), item, (*where, name))
    elif kind == "array" and isinstance(value, list) and value:
        yield from slots(schema.get("items", {}), value[0], (*where, 0))
    elif kind == "json" and isinstance(value, dict):  # a JSON field: its strings typed by what they hold
        for name, item in value.items():
            if isinstance(item, str):
                yield Slot((*where, name), "week" if name == "start_week" else _kind_of_text(item))
    elif value is not None:
        yield Slot(where, kind)


def replaced(body: dict, where: tuple, value: Any) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return body


@dataclass(frozen=True)
class Raw:
    """A JSON number written as is (`3e2`), not as a string."""

    text: str

    def __str__(self) -> str:
        return self.text


def send(world: World, operation: Operation, body: dict | None, *, path: str | None = None):
    path = path or operation.path(world)
    text = json.dumps(body, default=lambda raw: f"@@{raw}@@")  # ensure_ascii: a lone surrogate goes as \\ud800
    if body is not None:
        for raw in _raws(body):
            text = text.replace(json.dumps(f"@@{raw}@@"), str(raw))
    return getattr(world.api, operation.method)(
        path, text if body is not None else None, content_type="application/json"
    )


def _raws(value: Any) -> Iterator[Raw]:
    if isinstance(value, Raw):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _raws(item)
    elif isinstance(value, list):
        for item in value:
            yield from _raws(item)


def _with_raw(body: dict, where: tuple, value: Any) -> dict:
    body = replaced(body, where, None)
    target = body
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value  # not through JSON: a Raw stays a Raw
    return body


def problem(response, *names: str) -> str | None:
    """None if the response is a 400 in the error shape naming one of `names`, else what is wrong."""
    if response.status_code != 400:
        return f"{response.status_code} {response.content[:300]!r}"
    body = response.json()
    if set(body) != ERROR_KEYS or not body["message"]:
        return f"not the error shape: {body}"
    if not set(names) & set(body["fields"]):
        return f"names {sorted(body['fields'])}, not {names}: {body['message']}"
    return None


@contextmanager
def rolled_back():
    """The block in a savepoint, rolled back. Marked as Django's TestCase marks its own atomic blocks,
    so that the services' durable blocks run inside it as they run inside any test."""
    atomic = transaction.atomic()
    atomic._from_testcase = True
    with atomic:
        yield
        transaction.set_rollback(True)


def real_body(world: World, operation: Operation) -> dict:
    make = REAL_BODIES.get((operation.url_name, operation.method))
    assert make is not None, f"add a real body for {operation} ({operation.url_name}) to api_world.REAL_BODIES"
    return make(world)


def _names(slot: Slot) -> tuple[str, ...]:
    leaf = next(k for k in reversed(slot.where) if isinstance(k, str))
    return (slot.field, leaf)


# --- the classes ----------------------------------------------------------------------------------

NOT_TEXT = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\ud800", "\udfff"]  # hypothesis tries the others
LINE_BREAKS = ["\n", "\r", "\t"]
OUT_OF_RANGE_DATES = ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"]
OUT_OF_RANGE_WEEKS = ["0001-01-07", "9999-12-26", "1999-12-26", "2100-01-03"]
NOT_PLAIN_DECIMALS = [
    "3e2",
    "3E2",
    "1e400",
    "٣٠٠",
    "３００",
    "३००",
    "NaN",
    "Infinity",
    Raw("3e2"),
    Raw("1E+2"),
    Raw("1e400"),
]


def hostile(slot: Slot, base: Any, input_class: str) -> list[Any]:
    """The values of `input_class` for the field `slot` whose real value is `base`."""
    text = base if isinstance(base, str) else ""
    if input_class == "text":
        values = [text + char for char in NOT_TEXT] + ["\ud800"]
        if not slot.multiline:
            values += [f"{text[:1]}{char}{text[1:]}" for char in LINE_BREAKS]
        return values
    if input_class == "dates":
        return {"date": OUT_OF_RANGE_DATES, "week": OUT_OF_RANGE_WEEKS}.get(slot.kind, [])
    if input_class == "money":
        if slot.kind == "decimal":
            return NOT_PLAIN_DECIMALS + ["1000"]
        if slot.kind == "money":
            largest = Decimal("1000000.00")
            return NOT_PLAIN_DECIMALS + [f"{largest + Decimal('0.01')}", f"{MAX_AMOUNT}", "10000000000.00", "-1.00"]
        return []
    raise ValueError(input_class)


def _sweep(world: World, input_class: str, operations: list[Operation]) -> tuple[list[str], int]:
    """Every hostile value of the class in every field of every operation: (what went wrong, how many)."""
    wrong, tried = [], 0
    for operation in operations:
        body = real_body(world, operation)
        path = operation.path(world)
        cases = [
            (slot, value)
            for slot in slots(operation.body, body)
            for value in hostile(slot, _at(body, slot.where), input_class)
        ]
        before = database_fingerprint()
        for slot, value in cases:
            tried += 1
            response = send(world, operation, _with_raw(body, slot.where, value), path=path)
            if found := problem(response, *_names(slot)):
                wrong.append(f"{operation} {slot} = {value!r}: {found}")
        if database_fingerprint() != before:
            wrong.append(f"{operation}: a refused request wrote to the database")
    return wrong, tried


def _at(body: Any, where: tuple) -> Any:
    for key in where:
        body = body[key]
    return body


# --- the real bodies are accepted ---------------------------------------------------------------------


def test_every_route_that_takes_a_body_accepts_its_real_body(world):
    """The control of every test below: each real body, sent as it is, is accepted (each in a savepoint
    rolled back, so each route sees the world as built)."""
    refused = []
    for operation in WITH_BODY:
        with rolled_back():
            response = send(world, operation, real_body(world, operation))
        if response.status_code not in (200, 201):
            refused.append(f"{operation}: {response.status_code} {response.content[:300]!r}")

    assert not refused, "\n".join(refused)
    assert {(operation.url_name, operation.method) for operation in WITH_BODY} == set(REAL_BODIES)


def test_the_schema_gives_every_class_fields_to_try(world):
    kinds = {slot.kind for operation in WITH_BODY for slot in slots(operation.body, real_body(world, operation))}
    multiline = {str(slot) for op in WITH_BODY for slot in slots(op.body, real_body(world, op)) if slot.multiline}

    assert {"text", "choice", "date", "week", "money", "decimal", "integer"} <= kinds
    assert {"repair_description", "purpose", "reason", "data.repair_description"} <= multiline
    assert "note" not in multiline  # a receipt's note is one line (a CharField)


# --- control characters, NUL, lone surrogates, line breaks outside multi-line text -------------------


def test_text_that_is_not_text_is_a_400_naming_the_field_in_every_body(world):
    wrong, tried = _sweep(world, "text", WITH_BODY)

    assert not wrong, "\n".join(wrong)
    assert tried > 500
    call_command("check_ledger")


def test_line_breaks_are_text_in_multi_line_fields_only(world):
    operation = next(op for op in WITH_BODY if op.url_name == "repair-list")
    body = real_body(world, operation)

    with rolled_back():
        kept = send(world, operation, {**body, "repair_description": "Brakes\r\n\tand rotors"})
    refused = send(world, operation, {**body, "invoice_number": "INV\n7"})

    assert kept.status_code == 201, kept.content
    assert kept.json()["repair_description"] == "Brakes\r\n\tand rotors"
    assert problem(refused, "invoice_number") is None


def test_a_field_name_that_is_not_text_is_a_400_naming_it(world):
    before = database_fingerprint()
    wrong = []
    for operation in WITH_BODY:
        for key in ("\ud800", "a\x00", "b\x1b"):
            response = send(world, operation, {**real_body(world, operation), key: "1"})
            if found := problem(response, key.encode("unicode_escape").decode()):
                wrong.append(f"{operation} {key!r}: {found}")

    assert not wrong, "\n".join(wrong)
    assert database_fingerprint() == before


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_form_bodies_are_held_to_the_same_text(world, content_type):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
    from django.utils.http import urlencode

    before = database_fingerprint()
    wrong = []
    for operation in WITH_BODY:
        body = real_body(world, operation)
        flat = {name: value for name, value in body.items() if isinstance(value, str)}
        for name in flat:
            form = {**flat, name: flat[name] + "\x00"}
            if content_type == MULTIPART_CONTENT.split(";")[0]:
                data, kind = encode_multipart(BOUNDARY, form), MULTIPART_CONTENT
            else:
                data, kind = urlencode(form), content_type
            response = getattr(world.api, operation.method)(operation.path(world), data, content_type=kind)
            if found := problem(response, name):
                wrong.append(f"{operation} {name}: {found}")

    assert not wrong, "\n".join(wrong)
    assert database_fingerprint() == before


def test_query_parameters_are_held_to_the_same_text(world):
    before = database_fingerprint()
    wrong, tried = [], 0
    for operation in WITH_QUERY:
        path = operation.path(world)
        for name, _ in operation.query:
            for char in ("\x00", "\x01", "\x1b", "\x7f", "\x85", "\n", "\t"):
                tried += 1
                response = world.api.get(path, {name: f"A{char}"})
                if found := problem(response, name):
                    wrong.append(f"GET {path}?{name}=A{char!r}: {found}")
        response = world.api.get(path, {"a\x00": "1"})
        if found := problem(response, "a\\x00"):
            wrong.append(f"GET {path} with a parameter named a\\x00: {found}")

    assert not wrong, "\n".join(wrong)
    assert tried > 300
    assert database_fingerprint() == before


_printable = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=4)
_not_text = st.characters(categories=["Cc", "Cs"]).filter(lambda char: char not in "\t\n\r")


@hypothesis_settings(max_examples=40)
@given(data=st.data(), text=st.builds(lambda *parts: "".join(parts), _printable, _not_text, _printable))
def test_any_string_holding_a_control_character_or_a_surrogate_is_a_400(world, data, text):
    operation = data.draw(st.sampled_from(WITH_BODY), label="operation")
    body = real_body(world, operation)
    slot = data.draw(st.sampled_from(list(slots(operation.body, body))), label="field")
    before = database_fingerprint()

    response = send(world, operation, replaced(body, slot.where, text))

    assert problem(response, *_names(slot)) is None, problem(response, *_names(slot))
    assert database_fingerprint() == before


# --- dates out of range ----------------------------------------------------------------------------


def test_dates_out_of_range_are_a_400_naming_the_field_in_every_body(world):
    wrong, tried = _sweep(world, "dates", WITH_BODY)

    assert not wrong, "\n".join(wrong)
    assert tried >= 40
    call_command("check_ledger")


def _parameter_names(name: str) -> tuple[str, str]:
    """A range filter's parameter (`start_date_after`) is named by its filter (`start_date`) in errors."""
    return name, name.rsplit("_", 1)[0]


def test_date_query_parameters_out_of_range_are_a_400_naming_them(world):
    wrong, tried = [], 0
    for operation in WITH_QUERY:
        path = operation.path(world)
        for name, schema in operation.query:
            if schema.get("format") != "date":
                continue
            for day in OUT_OF_RANGE_DATES + OUT_OF_RANGE_WEEKS:
                tried += 1
                if found := problem(world.api.get(path, {name: day}), *_parameter_names(name)):
                    wrong.append(f"GET {path}?{name}={day}: {found}")

    assert not wrong, "\n".join(wrong)
    assert tried > 100


def test_the_first_and_the_last_date_anybody_may_enter_are_accepted(world):
    operation = next(op for op in WITH_BODY if op.url_name == "ledger-interim-payment")
    body = {**real_body(world, operation), "allocations": []}

    with rolled_back():
        first = send(world, operation, {**body, "received_on": EARLIEST_DATE.isoformat()})
    last = world.api.get(f"/api/ledger/drivers/{world.driver.pk}/balances", {"as_of": LATEST_DATE.isoformat()})

    assert first.status_code == 201, first.content
    assert last.status_code == 200, last.content


_outside = st.one_of(
    st.dates(max_value=EARLIEST_DATE - dt.timedelta(days=1)), st.dates(min_value=LATEST_DATE + dt.timedelta(days=1))
)


@hypothesis_settings(max_examples=40)
@given(data=st.data(), day=_outside)
def test_any_date_outside_the_range_is_a_400(world, data, day):
    choices = [
        (op, slot) for op in WITH_BODY for slot in slots(op.body, real_body(world, op)) if slot.kind in ("date", "week")
    ]
    operation, slot = data.draw(st.sampled_from(choices), label="field")
    before = database_fingerprint()

    response = send(world, operation, replaced(real_body(world, operation), slot.where, day.isoformat()))

    assert problem(response, *_names(slot)) is None, problem(response, *_names(slot))
    assert database_fingerprint() == before


# --- money: exponents, other digits, at and past the limits --------------------------------------------


def test_money_that_is_not_plain_or_past_the_largest_amount_is_a_400_naming_the_field_in_every_body(world):
    wrong, tried = _sweep(world, "money", WITH_BODY)

    assert not wrong, "\n".join(wrong)
    assert tried > 100
    call_command("check_ledger")


def test_decimal_query_parameters_refuse_exponents_and_other_digits(world):
    wrong = []
    for operation in WITH_QUERY:
        path = operation.path(world)
        for name, schema in operation.query:
            if schema.get("format") != "decimal":
                continue
            for value in ("3e2", "٣٠٠", "３００", "1e400", "NaN", "1" * 20):
                if found := problem(world.api.get(path, {name: value}), *_parameter_names(name)):
                    wrong.append(f"GET {path}?{name}={value}: {found}")

    assert not wrong, "\n".join(wrong)


_not_plain = st.one_of(
    st.builds("{}e{}".format, st.integers(0, 999), st.integers(-3, 3)),
    st.text(st.characters(categories=["Nd"]).filter(lambda char: not "0" <= char <= "9"), min_size=1, max_size=4),
    st.decimals(min_value=Decimal("1000000.01"), max_value=Decimal("1e15"), places=2).map(str),
)


@hypothesis_settings(max_examples=40)
@given(data=st.data(), value=_not_plain)
def test_any_amount_in_exponent_form_other_digits_or_past_the_largest_is_a_400(world, data, value):
    choices = [(op, slot) for op in WITH_BODY for slot in slots(op.body, real_body(world, op)) if slot.kind == "money"]
    operation, slot = data.draw(st.sampled_from(choices), label="field")
    before = database_fingerprint()

    response = send(world, operation, replaced(real_body(world, operation), slot.where, value))

    assert problem(response, *_names(slot)) is None, problem(response, *_names(slot))
    assert database_fingerprint() == before


def test_the_largest_payment_is_accepted_and_one_cent_more_is_not(world):
    operation = next(op for op in WITH_BODY if op.url_name == "ledger-interim-payment")
    body = {**real_body(world, operation), "allocations": []}

    with rolled_back():
        largest = send(world, operation, {**body, "amount": "1000000.00"})
    past = send(world, operation, {**body, "amount": "1000000.01"})

    assert largest.status_code == 201, largest.content
    assert problem(past, "amount") is None and "1000000.00" in past.json()["fields"]["amount"][0]


def test_payments_of_the_largest_amount_add_up_without_overflowing(world, settings):
    """With the largest amount a money column holds (what the system check still allows), payment after
    payment on one lease: each receipt fits its column, and the prepayment credit they add up to — more
    than any column holds — is shown whole. Before, the second such payment was committed and then
    answered with a 500, and so was every later one on the lease."""
    settings.MAX_TRANSACTION_AMOUNT = MAX_AMOUNT
    operation = next(op for op in WITH_BODY if op.url_name == "ledger-interim-payment")
    body = {**real_body(world, operation), "allocations": [], "amount": str(MAX_AMOUNT)}

    waiting = prepayment_credit(driver_id=world.driver.pk, lease_id=world.lease.pk)  # the world's own credit
    credits = []
    for _ in range(3):
        response = send(world, operation, body)
        assert response.status_code == 201, response.content
        credits.append(response.json()["prepayment_credit"])
    position = world.api.get(f"/api/ledger/receipts/?lease_id={world.lease.pk}&kind=INTERIM_PAYMENT")

    assert credits == [f"{waiting + MAX_AMOUNT * n:.2f}" for n in (1, 2, 3)]
    assert {row["amount"] for row in position.json()["results"] if row["id"] != world.credit.pk} == {"9999999999.99"}
    assert problem(send(world, operation, {**body, "amount": "10000000000.00"}), "amount") is None
    call_command("check_ledger")


# --- bodies over the limit -----------------------------------------------------------------------------


def _bodies_of(size: int) -> list[tuple[str, bytes | str]]:
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return [
        ("application/json", json.dumps({"note": "a" * size})),
        ("application/x-www-form-urlencoded", "note=" + "a" * size),
        (MULTIPART_CONTENT, encode_multipart(BOUNDARY, {"note": "a" * size})),
        ("text/plain", "a" * size),
    ]


def test_a_body_over_the_limit_is_a_413_in_the_error_shape_on_every_route(world, settings):
    from batpay.tests.test_api_conventions import ENDPOINTS

    settings.METRICS_TOKEN = ""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000  # the rule with a smaller limit: every route, every method
    before = database_fingerprint()
    wrong, tried = [], 0
    for endpoint in ENDPOINTS:
        path = reverse(endpoint.name, kwargs=world.kwargs(endpoint.name, endpoint.kwarg_names))
        for method in sorted(endpoint.methods - {"head", "options"}):
            for content_type, data in _bodies_of(10_001):
                tried += 1
                response = world.api.generic(method.upper(), path, data, content_type=content_type)
                body = response.json() if response["Content-Type"].startswith("application/json") else {}
                if response.status_code != 413 or body.get("code") != "too_large" or set(body) != ERROR_KEYS:
                    wrong.append(
                        f"{method.upper()} {path} ({content_type}): {response.status_code} {response.content[:200]!r}"
                    )

    assert not wrong, "\n".join(wrong)
    assert tried > 200
    assert database_fingerprint() == before


def test_a_body_within_the_limit_is_read_and_the_default_limit_is_django_s(world, settings):
    operation = next(op for op in WITH_BODY if op.url_name == "ledger-interim-payment")
    body = real_body(world, operation)
    padding = settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len(json.dumps({**body, "note": ""}))
    at_the_limit = json.dumps({**body, "note": "a" * padding})
    assert len(at_the_limit) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440

    read = world.api.post(operation.path(world), at_the_limit, content_type="application/json")
    past = world.api.post(operation.path(world), at_the_limit + " ", content_type="application/json")
    fields = world.api.post(
        operation.path(world),
        "&".join(f"f{n}=1" for n in range(1_001)),
        content_type="application/x-www-form-urlencoded",
    )

    assert problem(read, "note") is None  # read, and refused for what it says: a note of 2.6 million characters
    assert past.status_code == 413 and past.json()["code"] == "too_large"
    assert fields.status_code == 413 and fields.json()["code"] == "too_large"


def test_text_stored_before_it_was_checked_is_exported_escaped_not_a_500(world):
    """The services trust their callers (the boundary checks text), so a row written before the rule may
    hold a control character; an .xlsx cell cannot, and the export writes it escaped."""
    from openpyxl import load_workbook

    from repairs.services import repair_update

    repair_update(repair_id=world.repair_draft, changes={"repair_description": "Brakes\x01"}, actor=None)

    response = world.api.get("/api/repairs/export", {"format": "xlsx"})

    assert response.status_code == 200, response.content[:300]
    cells = {
        cell
        for row in load_workbook(io.BytesIO(response.getvalue())).active.iter_rows(values_only=True)
        for cell in row
    }
    assert "Brakes\\x01" in cells
