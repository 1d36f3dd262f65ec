"""The one exporter (batpay/exports.py): a spreadsheet laid out for reading, and a PDF whose every column
fits the page — the table of a real list (loans, the widest), read back with openpyxl and pypdf."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from batpay.exports import Column, render_export, totals
from loans.exports import LOAN_COLUMNS


class Row:
    def __init__(self, n: int):
        self.name = f"Driver with a rather long name number {n}"
        self.amount = D("1234.50") + n
        self.rate = D("10.00")
        self.day = dt.date(2025, 9, 28)


COLUMNS = [
    Column("Name", lambda r: r.name),
    Column("Amount", lambda r: r.amount, "money"),
    Column("Interest rate %", lambda r: r.rate, "decimal"),
    Column("Week", lambda r: r.day, "date"),
]


def test_the_spreadsheet_has_sized_columns_a_frozen_header_a_filter_and_a_totals_row():
    rows = [Row(n) for n in range(3)]

    sheet = load_workbook(io.BytesIO(render_export(fmt="xlsx", columns=COLUMNS, rows=rows, title="Loans"))).active

    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D4"  # the header and the rows, not the totals below them
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCD"}
    assert widths["A"] >= len(rows[0].name) and widths["D"] >= len("2025-09-28") and widths["B"] < widths["A"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[-1] == ("Total", 3706.5, None, None)  # a rate is not summed
    assert sheet["B2"].number_format == "#,##0.00" and sheet["B5"].font.bold


@settings(max_examples=50, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False), max_size=30))
def test_the_totals_row_is_the_cent_exact_sum_of_the_rows(amounts):
    rows = [type("R", (), {"amount": amount})() for amount in amounts]

    assert totals([Column("Amount", lambda r: r.amount, "money")], rows) == {0: sum(amounts, D("0.00"))}


@pytest.mark.django_db
def test_every_column_of_the_widest_list_fits_the_pdf_page(fleet, finance):
    from loans import services
    from loans.plan import LOANS
    from plans.selectors import attach_totals

    lease = fleet.lease()
    loans = [
        services.loan_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            loan_amount=D("12345.67"),
            purpose="Down payment on a replacement vehicle after the accident on the BQE",
            start_week="2025-09-28",
            loan_date=dt.date(2025, 9, 25),
            actor=finance,
        )
        for _ in range(3)
    ]
    attach_totals(source=LOANS, plans=loans)

    content = render_export(fmt="pdf", columns=LOAN_COLUMNS, rows=loans, title="Driver loans")
    reader = PdfReader(io.BytesIO(content))
    page = reader.pages[0]
    width = float(page.mediabox.width)
    placed = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            placed.append((text.strip(), cm[0] * tm[4] + cm[2] * tm[5] + cm[4]))

    page.extract_text(visitor_text=visit)
    text = page.extract_text()

    assert width > float(page.mediabox.height)  # landscape
    assert [item for item in placed if not 0 <= item[1] < width] == []
    assert "Outstanding" in text and "Created" in text and "37,037.01" in text  # the last columns, the total
