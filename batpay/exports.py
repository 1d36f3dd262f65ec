"""Exports of every list as xlsx, csv, json or pdf (SPEC §7): one exporter for all, one table
definition (a list of `Column`) per list, shared by its API route and its admin actions.

Numbers stay numbers: money is written to xlsx as a numeric cell with a two-place format and to
json as a decimal string (the API's money convention); dates are dates in xlsx and ISO text elsewhere.
Values are what people read: a column gives a status's label ("Open"), not its code ("OPEN").
The xlsx has its columns sized to their contents, the header frozen, an autofilter and a totals row
under the money columns; the pdf (WeasyPrint, templates/exports/table.html) is landscape and wraps
cells so that every column fits the page, with the same totals.

Memory stays flat whatever the length of the list: rows are read through a server-side cursor a
chunk at a time (`export_rows`), csv and json are streamed as they are written, xlsx goes through
openpyxl's write-only mode into a temporary file (its widths measured on the first rows, its totals
summed on the way). Above `inline_limit` rows (EXPORT_INLINE_MAX_ROWS, an xlsx a fifth) an API export or an admin export
action does not answer with the file but starts a job that writes it (batpay.export_jobs): never a
request long enough to time out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
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


# The column widths of a long xlsx are measured on its first rows (a write-only sheet takes its layout
# before its first row, and the rows are never all in memory); a list this short is measured whole.
XLSX_WIDTH_SAMPLE = 1000


def _xlsx_cells(sheet, items, *, font=None) -> list:
    from openpyxl.cell import WriteOnlyCell

    out = []
    for value, column in items:
        formatted = column is not None and column.kind in XLSX_FORMATS and value is not None
        if not formatted and font is None:
            out.append(value)  # a plain cell: no style to carry, so no cell object to build
            continue
        cell = WriteOnlyCell(sheet, value=value)
        if formatted:
            cell.number_format = XLSX_FORMATS[column.kind]
        if font is not None:
            cell.font = font
        out.append(cell)
    return out


def write_xlsx(out, columns: Sequence[Column], rows: Iterable[Any], title: str, *, expected_rows: int | None = None):
    """Write the workbook to the binary file `out`, reading `rows` once (openpyxl's write-only mode
    keeps only the row being written). Returns the number of rows written."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    rows = iter(rows)
    sums = {index: ZERO for index, column in enumerate(columns) if column.totalled}

    def values_of(row) -> list:
        values = [column.value(row) for column in columns]
        for index in sums:
            sums[index] += values[index] or ZERO
        return [_xlsx_value(value, column.kind) for value, column in zip(values, columns, strict=True)]

    sample = [values_of(row) for row in islice(rows, XLSX_WIDTH_SAMPLE)]
    whole = len(sample) < XLSX_WIDTH_SAMPLE
    # The totals' widths: exact when the sample is the whole list, else as wide as the largest amount
    # of the sample times the rows to come could make them (a total never shows as "####").
    widest = dict(sums)
    if not whole:
        rows_in_all = max(expected_rows or 0, len(sample))
        for index in sums:
            largest = max((abs(row[index]) for row in sample if isinstance(row[index], Decimal | int)), default=ZERO)
            widest[index] = max(abs(sums[index]), largest * rows_in_all)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, column in enumerate(columns):
        longest = max(
            [len(column.header)]
            + [_XLSX_SHOWN_WIDTH.get(column.kind) or len(_text(row[index], column.kind)) for row in sample]
            + ([len(f"{to_money(widest[index]):,.2f}")] if index in sums else [])
        )
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(longest, XLSX_MAX_WIDTH) + 2
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append(_xlsx_cells(sheet, ((column.header, None) for column in columns), font=bold))
    count = 0
    for row in sample:
        sheet.append(_xlsx_cells(sheet, zip(row, columns, strict=True)))
        count += 1
    for row in rows:
        sheet.append(_xlsx_cells(sheet, zip(values_of(row), columns, strict=True)))
        count += 1
    # The autofilter is written after the rows (the sheet's tail): its range is known by then.
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    if sums:
        # Below the autofilter's range, so sorting the rows never moves it.
        sums = {index: to_money(total) for index, total in sums.items()}
        label = [("Total", None)] + [(sums.get(index), columns[index]) for index in range(1, len(columns))]
        if 0 in sums:
            label[0] = (sums[0], columns[0])
        sheet.append(_xlsx_cells(sheet, label, font=bold))
    workbook.save(out)
    return count


# Rows per piece of a streamed csv or json: few enough pieces that writing them costs nothing, small
# enough that a piece is a few hundred kilobytes.
STREAM_ROWS = 500


def csv_chunks(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    """The csv, piece by piece (utf-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.header for column in columns])
    for number, row in enumerate(rows, 1):
        writer.writerow([_text(column.value(row), column.kind) for column in columns])
        if number % STREAM_ROWS == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


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


def json_chunks(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    """The json array, piece by piece, byte for byte what `json.dumps(records, indent=1)` writes."""
    pieces = ["["]
    first = True
    for row in rows:
        record = {column.header: _json_value(column.value(row), column.kind) for column in columns}
        # A record's own lines one level in: its text has no raw newline (json escapes them).
        pieces.append(("\n " if first else ",\n ") + json.dumps(record, indent=1).replace("\n", "\n "))
        first = False
        if len(pieces) >= STREAM_ROWS:
            yield "".join(pieces).encode("utf-8")
            pieces = []
    pieces.append("]" if first else "\n]")
    yield "".join(pieces).encode("utf-8")


def _pdf(columns: Sequence[Column], rows: Sequence[Any], title: str, filters: dict[str, str]) -> bytes:
    from weasyprint import HTML

    if len(rows) > PDF_MAX_ROWS:
        raise too_many_for_pdf(len(rows))
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


@dataclass(frozen=True)
class ExportSpec:
    """What a list exports (its API view's or its admin's `export_spec()`): the table, the title, the
    file's name, and what its rows need computed before they are written (a plan's totals), given a
    chunk of rows at a time."""

    columns: Sequence[Column]
    title: str
    basename: str
    prepare: Callable[[list], Any] | None = None


# Rows fetched per round trip of a streamed export's server-side cursor, and given to `prepare` at once.
EXPORT_CHUNK_ROWS = 2000


def export_rows(rows: QuerySet | Iterable[Any], prepare: Callable[[list], Any] | None = None) -> Iterator[Any]:
    """The rows one by one: a queryset read through a server-side cursor a chunk at a time (never the
    whole list in memory), each chunk prepared before its rows are handed out."""
    source = rows.iterator(chunk_size=EXPORT_CHUNK_ROWS) if isinstance(rows, QuerySet) else iter(rows)
    if prepare is None:
        yield from source
        return
    while chunk := list(islice(source, EXPORT_CHUNK_ROWS)):
        prepare(chunk)
        yield from chunk


def render_export(
    *,
    fmt: str,
    columns: Sequence[Column],
    rows: QuerySet | Iterable[Any],
    title: str,
    filters: dict[str, str] | None = None,
    prepare: Callable[[list], Any] | None = None,
) -> bytes:
    """The whole file as bytes, for what is small by nature (a PDF, tests); a response streams instead."""
    out = io.BytesIO()
    spec = ExportSpec(columns=columns, title=title, basename="", prepare=prepare)
    write_export(out, fmt=fmt, spec=spec, rows=rows, filters=filters)
    return out.getvalue()


def write_export(out, *, fmt: str, spec: ExportSpec, rows, filters=None, expected_rows: int | None = None) -> None:
    """Write the file to the binary file `out`, the rows read as they are written (a pdf, a few
    thousand rows at most, is laid out whole)."""
    if fmt == "xlsx":
        write_xlsx(out, spec.columns, export_rows(rows, spec.prepare), spec.title, expected_rows=expected_rows)
    elif fmt == "pdf":
        out.write(_pdf(spec.columns, list(export_rows(rows, spec.prepare)), spec.title, filters or {}))
    else:
        for chunk in (csv_chunks if fmt == "csv" else json_chunks)(spec.columns, export_rows(rows, spec.prepare)):
            out.write(chunk)


def export_filename(basename: str, fmt: str) -> str:
    return f"{basename}-{timezone.localtime().strftime('%Y%m%d-%H%M')}.{fmt}"


def export_file_response(
    *, fmt: str, spec: ExportSpec, rows, filters=None, expected_rows: int | None = None
) -> HttpResponseBase:
    """The file as the response: csv and json streamed as they are written, xlsx written to a
    temporary file (deleted once sent), pdf (a few thousand rows at most) built whole."""
    filename = export_filename(spec.basename, fmt)
    if fmt in ("csv", "json"):
        chunks = csv_chunks if fmt == "csv" else json_chunks
        response = StreamingHttpResponse(
            chunks(spec.columns, export_rows(rows, spec.prepare)), content_type=FORMATS[fmt]
        )
    elif fmt == "xlsx":
        out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it, which deletes it)
        try:
            write_export(out, fmt=fmt, spec=spec, rows=rows, expected_rows=expected_rows)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        response = FileResponse(out, content_type=FORMATS[fmt])
    else:
        body = io.BytesIO()
        write_export(body, fmt=fmt, spec=spec, rows=rows, filters=filters)
        response = HttpResponse(body.getvalue(), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def too_many_for_pdf(count: int) -> InvalidInput:
    return InvalidInput(
        f"{count} rows are too many for a PDF (at most {PDF_MAX_ROWS}); narrow the filters or use xlsx.",
        fields={"format": f"pdf holds at most {PDF_MAX_ROWS} rows."},
    )


def inline_limit(fmt: str) -> int:
    """The most rows an export of `fmt` sends while the request waits; more is a job. An xlsx is
    written whole before its first byte goes (a zip), so it gets a fifth of what a stream gets."""
    limit = settings.EXPORT_INLINE_MAX_ROWS
    return max(limit // 5, 1) if fmt == "xlsx" else limit


def export_response(*, request, owner, rows: QuerySet) -> HttpResponseBase:
    """An API export (GET …/export?format=…) of `rows`, the filtered list of the view `owner`
    (which has `export_spec()`): the file itself, or — above `inline_limit(fmt)` rows —
    202 and a job preparing it (batpay.export_jobs), whose URL says when the file can be downloaded."""
    fmt = export_format(request.query_params.get("format"))
    filters = {k: v for k, v in request.query_params.items() if k != "format" and v}
    spec = owner.export_spec()
    count = rows.count()
    if fmt == "pdf" and count > PDF_MAX_ROWS:
        raise too_many_for_pdf(count)
    if fmt != "pdf" and count > inline_limit(fmt):
        from batpay import export_jobs  # its model and task: loaded once the apps are

        job = export_jobs.export_start(user=request.user, owner=owner, fmt=fmt, rows=rows, count=count, filters=filters)
        return JsonResponse(export_jobs.job_payload(job, request), status=202)
    return export_file_response(fmt=fmt, spec=spec, rows=rows, filters=filters, expected_rows=count)
