"""`manage.py bench exports` (issue 16): peak memory and time of a 400,000-row export, before and after.

The list is the repair installments (the issue's 2.9 GB csv): 45,000 invoices are bulk-inserted
with their schedules (operations.bench.repairs.seed), about 400,000 installments. Each export then
runs in a fresh subprocess — the old in-memory exporter (kept here, for this comparison only: the
whole list loaded, the whole file built in memory, then copied into the response) and the new one
(batpay.exports: a server-side cursor, csv/json streamed, xlsx in write-only mode to a temporary
file; the response is read to its end as a client would) — and reports its own peak RSS
(getrusage ru_maxrss) and seconds; the six run at once. A process that only starts Django is measured too: the floor.

    python -m operations.bench.exports {idle|old|new} {csv|json|xlsx}   # one child (DATABASE_URL set)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

from operations.bench import Report, benchmark

FORMATS = ("csv", "json", "xlsx")
# About 8.9 installments per invoice: 45,000 invoices make the 400,000 rows.
INVOICES = 45_000
BUDGET_MB = 200


# --- the exporter as it was before streaming (batpay.exports at 2f7544b) -------------------------


def _old_xlsx(columns, rows, title) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from batpay.exports import _XLSX_SHOWN_WIDTH, XLSX_FORMATS, XLSX_MAX_WIDTH, _text, _xlsx_value, totals

    values = [[_xlsx_value(column.value(row), column.kind) for column in columns] for row in rows]
    sums = totals(columns, rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, column in enumerate(columns):
        longest = max(
            [len(column.header)]
            + [_XLSX_SHOWN_WIDTH.get(column.kind) or len(_text(row[index], column.kind)) for row in values]
            + ([len(f"{sums[index]:,.2f}")] if index in sums else [])
        )
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(longest, XLSX_MAX_WIDTH) + 2
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(values) + 1}"
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
        label = [("Total", None)] + [(sums.get(index), columns[index]) for index in range(1, len(columns))]
        if 0 in sums:
            label[0] = (sums[0], columns[0])
        sheet.append(cells(label, font=bold))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _old_csv(columns, rows) -> bytes:
    import csv
    import io

    from batpay.exports import _text

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.header for column in columns])
    for row in rows:
        writer.writerow([_text(column.value(row), column.kind) for column in columns])
    return out.getvalue().encode("utf-8")


def _old_json(columns, rows) -> bytes:
    from batpay.exports import _json_value

    records = [{column.header: _json_value(column.value(row), column.kind) for column in columns} for row in rows]
    return json.dumps(records, indent=1).encode("utf-8")


def old_render(fmt: str, columns, rows, title: str) -> bytes:
    return (
        _old_xlsx(columns, rows, title)
        if fmt == "xlsx"
        else _old_csv(columns, rows)
        if fmt == "csv"
        else _old_json(columns, rows)
    )


# --- one export in this process ----------------------------------------------------------------


def child(variant: str, fmt: str) -> dict:
    import resource
    import time

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "batpay.settings")
    django.setup()
    from django.http import HttpResponse

    from batpay.exports import export_file_response
    from repairs import selectors
    from repairs.api.views import RepairInstallmentViewSet

    spec = RepairInstallmentViewSet().export_spec()
    queryset = selectors.installment_list().order_by("period_start", "pk")
    started = time.perf_counter()
    size = rows = 0
    if variant == "old":
        listed = list(queryset)  # the old view: every row loaded, then the whole file built
        rows = len(listed)
        response = HttpResponse(old_render(fmt, spec.columns, listed, spec.title))
        size = len(response.content)
    elif variant == "new":
        rows = queryset.count()
        response = export_file_response(fmt=fmt, spec=spec, rows=queryset, expected_rows=rows)
        for chunk in response:  # what the server sends, read to its end
            size += len(chunk)
        response.close()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"variant": variant, "fmt": fmt, "rows": rows, "bytes": size, "seconds": seconds, "peak_mb": peak_mb}


def _run_child(database_url: str, variant: str, fmt: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "batpay.settings"}
    done = subprocess.run(
        [sys.executable, "-m", "operations.bench.exports", variant, fmt],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{variant} {fmt} export failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@benchmark("exports")
def bench_exports(report: Report) -> None:
    from django.db import connection

    from operations.bench.repairs import seed
    from repairs.models import RepairInstallment

    with report.timed("seed"):
        seed(invoices=report.n(INVOICES))
    rows = RepairInstallment.objects.count()
    report.line("repair installments to export", f"{rows:,} rows (seeded in {report.figures['seed']:.1f} s)")
    parts = urlsplit(os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/")
    database_url = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    connection.close()  # the children read the scratch database while this process waits
    floor = _run_child(database_url, "idle", "csv")
    report.line("a process that only starts Django (the floor)", f"{floor['peak_mb']:7.0f} MB peak")
    # The six exports run at once, each in its own process (a peak is its process's own; on a 2-core
    # machine the seconds are those of six processes sharing it).
    with ThreadPoolExecutor(max_workers=len(FORMATS) * 2) as pool:
        runs = {(v, fmt): pool.submit(_run_child, database_url, v, fmt) for fmt in FORMATS for v in ("old", "new")}
    report.write(
        f"  {'format':<8} {'old peak':>10} {'old time':>10} {'new peak':>10} {'new time':>10}   new/old memory"
    )
    for fmt in FORMATS:
        old, new = runs["old", fmt].result(), runs["new", fmt].result()
        if old["bytes"] != new["bytes"] and fmt != "xlsx":
            raise RuntimeError(f"{fmt}: the new file has {new['bytes']} bytes, the old {old['bytes']}")
        report.figures[f"{fmt}_old_mb"], report.figures[f"{fmt}_new_mb"] = old["peak_mb"], new["peak_mb"]
        report.write(
            f"  {fmt:<8} {old['peak_mb']:7.0f} MB {old['seconds']:8.1f} s {new['peak_mb']:7.0f} MB "
            f"{new['seconds']:8.1f} s   {new['peak_mb'] / old['peak_mb']:.2f} ({new['bytes'] / 1e6:,.1f} MB file)"
        )
    worst = max(report.figures[f"{fmt}_new_mb"] for fmt in FORMATS)
    report.budget(
        f"new exports' peak memory for {rows:,} rows", worst <= BUDGET_MB, f"{worst:.0f} MB, budget {BUDGET_MB} MB"
    )


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
