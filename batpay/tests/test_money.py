"""The one money-input parser (batpay.money.parse_money) and the API and form fields built on it."""

import io
from decimal import Decimal as D

import pytest
from django import forms
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import ParseError

from batpay.money import (
    MAX_AMOUNT,
    ExponentNumber,
    MoneyField,
    MoneyFormField,
    MoneyInputError,
    MoneyProblem,
    parse_money,
)
from batpay.parsers import DecimalJSONParser

NOT_AN_AMOUNT = [
    "3e2",
    "3E2",
    "1e-2",
    "٣٠٠",  # Arabic-Indic digits
    "３００",  # fullwidth digits
    "३००",  # Devanagari digits
    "\u00a0300",  # a no-break space is not an ASCII space
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "",
    " ",
    "1,000.00",
    "+5",
    "5.",
    ".5",
    "1.2.3",
    "--5",
    "12 50",
    "0x10",
    "1_000",
    "9" * 41,
    1.5,
    float("nan"),
    True,
    False,
    None,
    [],
    {"amount": "1.00"},
    ExponentNumber("3e2"),
    D("NaN"),
    D("Infinity"),
    D("-Infinity"),
]
FRACTION_OF_A_CENT = ["1.234", "1.500", "0.001", "-0.005", D("1.234"), D("1.500"), D("0.001")]


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("125.50", D("125.50")),
        ("125.5", D("125.5")),
        (" 300 ", D("300")),
        ("\t42.00\n", D("42.00")),
        ("-5", D("-5")),
        ("0", D("0")),
        ("007.10", D("7.10")),
        ("99999999999999", D("99999999999999")),  # size is the caller's rule
        (300, D("300")),
        (-1, D("-1")),
        (D("12.5"), D("12.5")),
        (D("5E+2"), D("500")),  # a Decimal made by arithmetic, not a written exponent
    ],
)
def test_plain_decimals_are_read_exactly(value, amount):
    parsed = parse_money(value)

    assert parsed == amount
    assert type(parsed) is D


@pytest.mark.parametrize("value", NOT_AN_AMOUNT, ids=repr)
def test_anything_else_is_not_an_amount(value):
    with pytest.raises(MoneyInputError) as caught:
        parse_money(value)
    assert caught.value.problem is MoneyProblem.NOT_AN_AMOUNT


@pytest.mark.parametrize("value", FRACTION_OF_A_CENT, ids=repr)
def test_more_than_two_decimals_is_a_fraction_of_a_cent(value):
    with pytest.raises(MoneyInputError) as caught:
        parse_money(value)
    assert caught.value.problem is MoneyProblem.FRACTION_OF_A_CENT


cents = st.decimals(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False)


@given(cents)
def test_any_amount_in_cents_reads_back_as_itself_written_or_sent(amount):
    assert parse_money(format(amount, "f")) == amount
    assert parse_money(amount) == amount
    assert parse_money(f"  {amount:f} ") == amount


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_any_whole_number_is_exact(number):
    assert parse_money(number) == D(number)
    assert parse_money(str(number)) == D(number)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=-30, max_value=30), st.sampled_from("eE"))
def test_any_exponent_is_refused(mantissa, exponent, e):
    with pytest.raises(MoneyInputError):
        parse_money(f"{mantissa}{e}{exponent}")


@given(cents, st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()))
def test_a_digit_other_than_ascii_anywhere_is_refused(amount, digit):
    text = format(abs(amount), "f")
    for position in range(len(text) + 1):
        with pytest.raises(MoneyInputError):
            parse_money(text[:position] + digit + text[position:])


@given(st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: d.as_tuple().exponent < -2))
def test_a_decimal_with_more_than_two_places_is_refused(value):
    with pytest.raises(MoneyInputError) as caught:
        parse_money(value)
    assert caught.value.problem is MoneyProblem.FRACTION_OF_A_CENT


# --- the DRF field ------------------------------------------------------------------------------


class Body(serializers.Serializer):
    amount = MoneyField()
    fee = MoneyField(required=False, allow_null=True, min_value=D("0.00"))


@pytest.mark.parametrize(("value", "expected"), [("125.5", D("125.50")), (300, D("300.00")), (D("0.10"), D("0.10"))])
def test_the_api_field_reads_money_and_quantizes_it(value, expected):
    body = Body(data={"amount": value})

    assert body.is_valid(), body.errors
    assert body.validated_data["amount"] == expected
    assert str(body.validated_data["amount"]) == str(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3e2", "valid number"),
        ("٣٠٠", "valid number"),
        ("３００", "valid number"),
        ("NaN", "valid number"),
        (ExponentNumber("3e2"), "valid number"),
        (True, "valid number"),
        ("1.234", "2 decimal places"),
        (D("1.500"), "2 decimal places"),
        ("100000000000.00", "12 digits"),
    ],
    ids=repr,
)
def test_the_api_field_names_itself_with_drf_s_messages(value, message):
    body = Body(data={"amount": value})

    assert not body.is_valid()
    assert list(body.errors) == ["amount"]
    assert message in str(body.errors["amount"][0])


def test_the_api_field_keeps_its_bounds_and_empties():
    assert not Body(data={"amount": "1", "fee": "-1"}).is_valid()
    empty = Body(data={"amount": "1", "fee": ""})
    assert empty.is_valid() and empty.validated_data["fee"] is None
    assert Body().fields["amount"].to_representation(D("5")) == "5.00"


# --- the form field -----------------------------------------------------------------------------


class Form(forms.Form):
    amount = MoneyFormField()


@pytest.mark.parametrize(("value", "code"), [("3e2", "invalid"), ("٣٠٠", "invalid"), ("1.234", "max_decimal_places")])
def test_the_form_field_refuses_what_the_api_refuses(value, code):
    form = Form(data={"amount": value})

    assert not form.is_valid()
    assert form.errors.as_data()["amount"][0].code == code


def test_the_form_field_reads_money():
    form = Form(data={"amount": " 250.5 "})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == D("250.50")


def test_every_admin_form_that_takes_money_uses_the_form_field():
    from lease_schedules.admin import TerminateForm
    from leases.admin import LeaseForm
    from ledger.forms import InterimPaymentForm
    from loans.admin import LoanForm
    from repairs.admin import RepairInvoiceForm

    fields = [
        LeaseForm().fields["weekly_rate"],
        RepairInvoiceForm().fields["repair_amount"],
        LoanForm().fields["loan_amount"],
        TerminateForm().fields["cancellation_fee"],
        InterimPaymentForm(balances=[]).fields["amount"],
        InterimPaymentForm(data={"alloc_7": "1.00"}, balances=[]).fields["alloc_7"],
    ]

    assert all(isinstance(field, MoneyFormField) for field in fields)


# --- JSON bodies --------------------------------------------------------------------------------


def parse(text: str):
    return DecimalJSONParser().parse(io.BytesIO(text.encode()))


def test_json_numbers_are_exact_and_an_exponent_is_marked():
    body = parse('{"fraction": 1.25, "whole": 7, "exponent": 3e2, "small": 1E-2}')

    assert type(body["fraction"]) is D and body["fraction"] == D("1.25")
    assert type(body["whole"]) is int
    assert isinstance(body["exponent"], ExponentNumber) and body["exponent"] == 300
    assert isinstance(body["small"], ExponentNumber)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant):
    with pytest.raises(ParseError):
        parse(f'{{"amount": {constant}}}')
