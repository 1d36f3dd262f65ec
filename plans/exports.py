"""Exports of plan lists as xlsx, csv, json or pdf (SPEC §7), one table definition for all four.

Numbers stay numbers: money is written to xlsx as a numeric cell with a two-place format and to
json as a decimal string (the API's money convention); dates are dates in xlsx and ISO text elsewhere.
The pdf is drawn by WeasyPrint from templates/exports/table.html.
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
    kind: str = "text"  # text | money | date | datetime | int


# How each kind of column reads in the json export, for the OpenAPI schema.
_JSON_SCHEMAS = {
    "text": {"type": "string"},
    "money": {"type": "string", "format": "decimal"},
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


def _xlsx(columns: Sequence[Column], rows: Iterable[Any], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = {"money": "#,##0.00", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm", "int": "0"}
    for row in rows:
        cells = []
        for column in columns:
            value = column.value(row)
            if column.kind == "datetime" and isinstance(value, dt.datetime):
                value = timezone.localtime(value).replace(tzinfo=None)
            elif isinstance(value, str) and text_problem(value, multiline=True):
                value = shown(value)  # stored before text was checked: an xlsx cell takes no control character
            cell = WriteOnlyCell(sheet, value=value)
            if column.kind in formats and value is not None:
                cell.number_format = formats[column.kind]
            cells.append(cell)
        sheet.append(cells)
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
    html = render_to_string(
        "exports/table.html",
        {
            "title": title,
            "company": settings.COMPANY_NAME,
            "generated_at": timezone.localtime(),
            "filters": filters,
            "headers": [(column.header, column.kind) for column in columns],
            "rows": [[(_text(column.value(row), column.kind), column.kind) for column in columns] for row in rows],
            "count": len(rows),
        },
    )
    return HTML(string=html).write_pdf()


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
