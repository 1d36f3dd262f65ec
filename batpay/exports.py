"""Exports of every list as xlsx, csv, json or pdf (SPEC §7): one exporter for all, one table
definition (a list of `Column`) per list, shared by its API route and its admin actions.

Numbers stay numbers: money is written to xlsx as a numeric cell with a two-place format and to
json as a decimal string (the API's money convention); dates are dates in xlsx and ISO text elsewhere.
Values are what people read: a column gives a status's label ("Open"), not its code ("OPEN").
The xlsx has its columns sized to their contents, the header frozen, an autofilter and a totals row
under the money columns; the pdf (WeasyPrint, templates/exports/table.html) is landscape and wraps
cells so that every column fits the page, with the same totals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from batpay.errors import InvalidInput
from batpay.money import ZERO, to_money
from batpay.text import shown, text_problem

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
}
# A printed list longer than this is not read by anyone; the spreadsheet formats have no limit.
PDF_MAX_ROWS = 5000


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    kind: str = "text"  # text | money | decimal | date | datetime | int
    # Money columns are summed in the totals row; a money-like figure that must not be (a rate)
    # is kind "decimal".

    @property
    def totalled(self) -> bool:
        return self.kind == "money"


def totals(columns: Sequence[Column], rows: Sequence[Any]) -> dict[int, Decimal]:
    """Column index → the sum of that money column over `rows` (empty cells count nothing)."""
    sums: dict[int, Decimal] = {}
    for index, column in enumerate(columns):
        if column.totalled:
            sums[index] = to_money(sum((column.value(row) or ZERO for row in rows), ZERO))
    return sums


# How each kind of column reads in the json export, for the OpenAPI schema.
_JSON_SCHEMAS = {
    "text": {"type": "string"},
    "money": {"type": "string", "format": "decimal"},
    "decimal": {"type": "string", "format": "decimal"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "int": {"type": "integer"},
}


def export_responses(columns: Sequence[Column]) -> dict[tuple[int, str], Any]:
    """The OpenAPI responses of an export of `columns`: a file per format, and the json rows
    column by column (a value is null where the row has none)."""
    from drf_spectacular.types import OpenApiTypes

    row = {
        "type": "object",
        "properties": {column.header: {**_JSON_SCHEMAS[column.kind], "nullable": True} for column in columns},
        "required": [column.header for column in columns],
    }
    return {
        (200, media): {"type": "array", "items": row} if fmt == "json" else OpenApiTypes.BINARY
        for fmt, media in FORMATS.items()
    }


def export_format(value: str | None) -> str:
    fmt = (value or "xlsx").strip().lower()
    if fmt not in FORMATS:
        raise InvalidInput(
            f"format must be one of {', '.join(FORMATS)}.", fields={"format": f"One of {', '.join(FORMATS)}."}
        )
    return fmt


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime" and isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# Column widths in characters: at least the header's, at most this (longer text wraps in the cell).
XLSX_MAX_WIDTH = 50
XLSX_FORMATS = {
    "money": "#,##0.00",
    "decimal": "0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "int": "0",
}
_XLSX_SHOWN_WIDTH = {"date": 10, "datetime": 16}


def _xlsx_value(value: Any, kind: str) -> Any:
    if kind == "datetime" and isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, str) and text_problem(value, multiline=True):
        return shown(value)  # stored before text was checked: an xlsx cell takes no control character
    return value


def _xlsx(columns: Sequence[Column], rows: Sequence[Any], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    values = [[_xlsx_value(column.value(row), column.kind) for column in columns] for row in rows]
    sums = totals(columns, rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    # A write-only sheet takes its layout before its first row.
    for index, column in enumerate(columns):
        longest = max(
            [len(column.header)]
            + [_XLSX_SHOWN_WIDTH.get(column.kind) or len(_text(row[index], column.kind)) for row in values]
            + ([len(f"{sums[index]:,.2f}")] if index in sums else [])
        )
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(longest, XLSX_MAX_WIDTH) + 2
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{len(values) + 1}"
    bold = Font(bold=True)

    def cells(items, *, font=None):
        out = []
        for value, column in items:
            cell = WriteOnlyCell(sheet, value=value)
            if column is not None and column.kind in XLSX_FORMATS and value is not None:
                cell.number_format = XLSX_FORMATS[column.kind]
            if font is not None:
                cell.font = font
            out.append(cell)
        return out

    sheet.append(cells(((column.header, None) for column in columns), font=bold))
    for row in values:
        sheet.append(cells(zip(row, columns, strict=True)))
    if sums:
        # Below the autofilter's range, so sorting the rows never moves it.
        label = [("Total", None)] + [(sums.get(index), columns[index]) for index in range(1, len(columns))]
        if 0 in sums:
            label[0] = (sums[0], columns[0])
        sheet.append(cells(label, font=bold))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv(columns: Sequence[Column], rows: Iterable[Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.header for column in columns])
    for row in rows:
        writer.writerow([_text(column.value(row), column.kind) for column in columns])
    return out.getvalue().encode("utf-8")


def _shown(value: Any, kind: str) -> str:
    """A printed cell: money with thousands separators, a time to the minute."""
    if value is None:
        return ""
    if kind == "money" and isinstance(value, Decimal):
        return f"{value:,.2f}"
    if kind == "datetime" and isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return _text(value, kind)


def _json_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return f"{value:.2f}" if kind == "money" else str(value)
    if isinstance(value, dt.date):
        return _text(value, kind)
    return value


def _json(columns: Sequence[Column], rows: Iterable[Any]) -> bytes:
    records = [{column.header: _json_value(column.value(row), column.kind) for column in columns} for row in rows]
    return json.dumps(records, indent=1).encode("utf-8")


def _pdf(columns: Sequence[Column], rows: Sequence[Any], title: str, filters: dict[str, str]) -> bytes:
    from weasyprint import HTML

    if len(rows) > PDF_MAX_ROWS:
        raise InvalidInput(
            f"{len(rows)} rows are too many for a PDF (at most {PDF_MAX_ROWS}); narrow the filters or use xlsx.",
            fields={"format": f"pdf holds at most {PDF_MAX_ROWS} rows."},
        )
    sums = totals(columns, rows)
    shown_rows = [[(_shown(column.value(row), column.kind), column.kind) for column in columns] for row in rows]
    totals_row = _pdf_totals(columns, sums)
    html = render_to_string(
        "exports/table.html",
        {
            "title": title,
            "company": settings.COMPANY_NAME,
            "generated_at": timezone.localtime(),
            "filters": filters,
            "headers": [(column.header, column.kind) for column in columns],
            "rows": shown_rows,
            "widths": _pdf_widths(columns, shown_rows, totals_row),
            "totals": totals_row,
            "count": len(rows),
            # The more columns, the smaller the type: every column stays on the page.
            "font_size": 7 if len(columns) <= 12 else 6 if len(columns) <= 18 else 5.5,
        },
    )
    return HTML(string=html).write_pdf()


# A printed column's share of the page, in characters: a figure or a date its longest value (on one
# line), a time of day under its date, text its longest value up to PDF_TEXT_CHARS (longer wraps);
# never less than the longest word of its heading.
PDF_TEXT_CHARS = 28


def _pdf_totals(columns: Sequence[Column], sums: dict[int, Decimal]) -> list[tuple[str, str]] | None:
    if not sums:
        return None
    return [
        ("Total" if index == 0 and index not in sums else _shown(sums.get(index), column.kind), column.kind)
        for index, column in enumerate(columns)
    ]


def _pdf_widths(
    columns: Sequence[Column], rows: Sequence[Sequence[tuple[str, str]]], totals_row: Sequence[tuple[str, str]] | None
) -> list[str]:
    """Each column's width in percent of the page, from the printed cells (bold ones a little wider)."""
    measures = []
    for index, column in enumerate(columns):
        longest = max((len(row[index][0]) for row in rows), default=0)
        if totals_row:
            longest = max(longest, len(totals_row[index][0]) * 1.1)
        if column.kind == "datetime":
            longest = min(longest, 10)
        elif column.kind == "text":
            longest = min(longest, PDF_TEXT_CHARS)
        if column.kind != "text" or not any(" " in row[index][0] for row in rows):
            longest *= 1.25  # digits, capitals and codes are wider than running text
        heading = max((len(word) for word in column.header.split()), default=1) * 1.4  # bold
        measures.append(max(longest, heading) + 2)  # the cell's padding
    whole = sum(measures)
    return [f"{100 * measure / whole:.2f}%" for measure in measures]


def render_export(
    *, fmt: str, columns: Sequence[Column], rows: Sequence[Any], title: str, filters: dict[str, str] | None = None
) -> bytes:
    if fmt == "xlsx":
        return _xlsx(columns, rows, title)
    if fmt == "csv":
        return _csv(columns, rows)
    if fmt == "json":
        return _json(columns, rows)
    return _pdf(columns, rows, title, filters or {})


def export_response(
    *, fmt: str, columns: Sequence[Column], rows: Sequence[Any], title: str, basename: str, filters=None
) -> HttpResponse:
    body = render_export(fmt=fmt, columns=columns, rows=rows, title=title, filters=filters)
    response = HttpResponse(body, content_type=FORMATS[fmt])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.{fmt}"'
    return response
