"""The NACHA writer and its parser: record by record, and a file that disagrees with itself is refused."""

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payouts import nacha
from payouts.banking import nacha_text, routing_problem

ORIGINATOR = nacha.Originator(
    company_name="BIG APPLE TAXI",
    company_id="1234567890",
    entry_description="DRIVER PAY",
    origin_routing="021000021",
    origin_name="BIG APPLE TAXI MGMT",
    destination_routing="021000021",
    destination_name="JPMORGAN CHASE BANK",
)
CREATED = dt.datetime(2025, 10, 5, 6, 30)


def entry(n, amount="10.00", account_type="CHECKING", routing="021000089"):
    return nacha.Entry(
        routing_number=routing, account_number=f"{1000 + n}", account_type=account_type, amount=D(amount),
        individual_id=str(n), name=f"Driver Número {n}", trace_number=f"02100002{n:07d}",
    )  # fmt: skip


def test_a_file_of_two_entries_record_by_record():
    text = nacha.build_file(
        originator=ORIGINATOR,
        entries=[entry(1, "700.00"), entry(2, "400.01", "SAVINGS", "026009593")],
        created=CREATED,
        effective_date=dt.date(2025, 10, 6),
        reference="20250001",
    )
    records = text.split("\r\n")[:-1]
    assert len(records) == 10 and all(len(r) == 94 for r in records)
    assert records[0] == (
        "101 021000021 0210000212510050630A094101JPMORGAN CHASE BANK    BIG APPLE TAXI MGMT    20250001"
    )
    assert records[1].startswith(
        "5220BIG APPLE TAXI  " + " " * 20 + "1234567890PPDDRIVER PAY251006251006   1021000020000001"
    )
    assert (
        records[2]
        == "622021000089"
        + "1001".ljust(17)
        + "0000070000"
        + "1".ljust(15)
        + "DRIVER NUMERO 1".ljust(22)
        + "  0021000020000001"
    )
    assert records[3][1:3] == "32"
    assert records[4] == "82200000020004700967000000000000000000110001" + "1234567890" + " " * 25 + "021000020000001"
    assert records[5].startswith("9000001000001000000020004700967000000000000000000110001")
    assert records[6:] == ["9" * 94] * 4
    parsed = nacha.parse(text)
    assert (parsed.total_credit, parsed.entry_hash, parsed.block_count) == (D("1100.01"), 4700967, 1)


def test_blocks_are_padded_to_a_multiple_of_ten_records():
    for count, blocks in ((0, 1), (6, 1), (7, 2), (16, 2), (17, 3)):
        text = nacha.build_file(
            originator=ORIGINATOR, entries=[entry(n) for n in range(count)], created=CREATED,
            effective_date=dt.date(2025, 10, 6),
        )  # fmt: skip
        parsed = nacha.parse(text)
        assert parsed.block_count == blocks and parsed.record_count == 10 * blocks


@given(st.lists(st.integers(min_value=1, max_value=99_999_999), min_size=1, max_size=40))
def test_any_file_reads_back_with_its_totals(cents):
    entries = [entry(n, f"{c / 100:.2f}") for n, c in enumerate(cents)]
    parsed = nacha.parse(
        nacha.build_file(originator=ORIGINATOR, entries=entries, created=CREATED, effective_date=dt.date(2025, 10, 6))
    )
    assert parsed.total_credit == sum(D(c) / 100 for c in cents)
    assert [e.amount for e in parsed.entries] == [D(c) / 100 for c in cents]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: r[:2] + [r[2][:-1]] + r[3:], "characters"),
        (lambda r: r[:2] + [r[2][:29] + "0000070001" + r[2][39:]] + r[3:], "total credits"),
        (lambda r: r[:2] + [r[2][:3] + "02600959" + r[2][11:]] + r[3:], "entry hash"),
        (lambda r: r[:-1], "multiple of 10"),
    ],
)
def test_a_file_that_disagrees_with_itself_is_refused(damage, message):
    text = nacha.build_file(originator=ORIGINATOR, entries=[entry(1, "700.00")], created=CREATED,
                            effective_date=dt.date(2025, 10, 6))  # fmt: skip
    with pytest.raises(ValueError, match=message):
        nacha.parse("\r\n".join(damage(text.split("\r\n")[:-1])))


def test_a_bank_return_file_gives_traces_and_codes():
    returned = (
        "626021000089" + "1001".ljust(17) + "0000070000" + "1".ljust(15) + "DRIVER".ljust(22) + "  1021000020000009"
    )
    addenda = "799R01021000020000001      02100002" + " " * 59
    assert nacha.returns_in("\r\n".join(["1" * 94, returned, addenda[:94]])) == [("021000020000001", "R01")]


def test_routing_numbers_and_text():
    assert routing_problem("021000021") == ""
    assert "check digit" in routing_problem("021000022")
    assert "9 digits" in routing_problem("02100002")
    assert nacha_text("José Ñuñez & Co.", 12) == "JOSE NUNEZ &"
