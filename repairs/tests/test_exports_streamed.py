"""Exports that stream (issue 16): the files are the old exporter's, byte for byte (csv, json) and cell
for cell (xlsx), with bounded memory; a list above EXPORT_INLINE_MAX_ROWS is written by a job whose
file only the user who asked may download."""

import csv
import io
import json
import uuid
from decimal import Decimal as D

import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.test import Client
from openpyxl import load_workbook

from batpay import exports
from batpay.export_jobs import export_cleanup, job_rows
from batpay.models import ExportFile
from batpay.tasks import export_file
from operations.bench.exports import old_render
from repairs import selectors
from repairs.exports import INSTALLMENT_COLUMNS, REPAIR_COLUMNS
from repairs.models import RepairInstallment
from repairs.plan import REPAIRS

INSTALLMENTS = "/api/repairs/installments/export"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def api(finance, api_client_for):
    return api_client_for(finance)


@pytest.fixture
def invoices(make_repair):
    """Seven repairs, 10,788.42 in all, each with its weekly installments."""
    made = [make_repair(amount, invoice_number=f"ST-{n}") for n, amount in enumerate(
        ["1200.00", "99.99", "2500.55", "310.10", "4400.00", "777.77", "1500.01"]
    )]  # fmt: skip
    return made


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks, pieces and the width sample smaller than the list, so every boundary is crossed."""
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 3)
    monkeypatch.setattr(exports, "STREAM_ROWS", 4)
    monkeypatch.setattr(exports, "XLSX_WIDTH_SAMPLE", 5)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def sheet_of(content: bytes):
    return load_workbook(io.BytesIO(content)).active


def old_installments(fmt: str) -> bytes:
    rows = list(selectors.installment_list().order_by("period_start", "pk"))
    return old_render(fmt, INSTALLMENT_COLUMNS, rows, "Repair installments")


@pytest.mark.parametrize("chunked", [False, True])
def test_csv_and_json_stream_the_old_files_byte_for_byte(api, invoices, request, chunked):
    if chunked:
        request.getfixturevalue("small_chunks")
    for fmt in ("csv", "json"):
        response = api.get(INSTALLMENTS, {"format": fmt})
        assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
        assert body(response) == old_installments(fmt)
    records = json.loads(old_installments("json"))
    assert len(records) > 12 and sum(D(r["Amount"]) for r in records) == D("10788.42")


def test_the_plans_export_gives_each_chunk_its_totals(api, invoices, small_chunks, finance):
    from plans.selectors import attach_totals
    from plans.services import post_due_installments

    post_due_installments(source=REPAIRS, period=invoices[0].start_week, actor=finance)
    plans = attach_totals(source=REPAIRS, plans=list(selectors.repair_list().order_by("-created_at", "-pk")))
    response = api.get("/api/repairs/export", {"format": "json"})
    assert isinstance(response, StreamingHttpResponse)
    assert body(response) == old_render("json", REPAIR_COLUMNS, plans, "Repair invoices")
    rows = json.loads(old_render("json", REPAIR_COLUMNS, plans, "Repair invoices"))
    assert sum(D(r["Outstanding"]) for r in rows) == D("10788.42")  # charged, nothing paid yet
    assert sorted(r["Installments"] for r in rows) == sorted(len(plan.installments.all()) for plan in plans)


@pytest.mark.parametrize("chunked", [False, True])
def test_the_xlsx_is_the_old_workbook_written_from_a_temporary_file(api, invoices, request, chunked):
    if chunked:
        request.getfixturevalue("small_chunks")
    response = api.get(INSTALLMENTS, {"format": "xlsx"})
    assert response.status_code == 200 and isinstance(response, FileResponse)
    new, old = sheet_of(body(response)), sheet_of(old_installments("xlsx"))
    assert list(new.iter_rows(values_only=True)) == list(old.iter_rows(values_only=True))
    assert (
        (new.freeze_panes, new.auto_filter.ref)
        == (old.freeze_panes, old.auto_filter.ref)
        == ("A2", f"A1:M{RepairInstallment.objects.count() + 1}")
    )
    last = new.max_row
    header = [cell.value for cell in new[1]]
    amount = header.index("Amount") + 1
    assert new.cell(last, 1).value == "Total" and D(str(new.cell(last, amount).value)) == D("10788.42")
    assert new.cell(2, amount).number_format == "#,##0.00" and new.cell(last, amount).font.bold
    widths = {letter: new.column_dimensions[letter].width for letter in "ABCDEFGHIJKLM"}
    if not chunked:  # measured on the whole list: exactly the old widths
        assert widths == {letter: old.column_dimensions[letter].width for letter in widths}
    else:  # measured on the first rows, the total's width estimated: never narrower than the total
        assert widths["J"] >= len("10,788.42") + 2 and widths["A"] >= len(header[0]) + 2


def test_a_long_export_is_a_job_whose_file_only_its_owner_downloads(
    api, invoices, settings, make_user, api_client_for, django_capture_on_commit_callbacks
):
    expected = old_installments("csv")
    settings.EXPORT_INLINE_MAX_ROWS = 10  # fewer than the installments

    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = api.get(INSTALLMENTS, {"format": "csv", "ordering": "period_start"})
    assert started.status_code == 202, started.content
    job = started.json()
    assert (job["status"], job["status_label"], job["rows"], job["download_url"]) == (
        "QUEUED",
        "Queued",
        RepairInstallment.objects.count(),
        None,
    )
    assert len(queued) == 1  # the task is sent once the transaction commits
    poll = api.get(job["url"])
    assert poll.status_code == 200 and poll.json()["status"] == "QUEUED"
    assert api.get(f"/api/exports/{job['id']}/download/").status_code == 404  # not ready yet

    assert export_file(job["id"]) == "DONE"  # the task's body, as a worker runs it
    done = api.get(job["url"]).json()
    assert (done["status"], done["status_label"]) == ("DONE", "Ready") and done["download_url"]
    download = api.get(done["download_url"])
    assert download.status_code == 200 and isinstance(download, FileResponse)
    assert download["Content-Disposition"].startswith('attachment; filename="repairs-installments-')
    assert body(download) == expected
    assert export_file(job["id"]) == "DONE"  # a retried task changes nothing

    stranger = api_client_for(make_user("Manager"))
    assert stranger.get(job["url"]).status_code == 404
    assert stranger.get(done["download_url"]).status_code == 404
    assert stranger.get(f"/api/exports/{uuid.uuid4()}/").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(job["url"]).status_code == 401

    cashier = api_client_for(make_user("Cashier"))
    assert cashier.get(INSTALLMENTS, {"format": "csv"}).status_code == 403
    assert ExportFile.objects.count() == 1


def test_a_job_exports_the_list_as_it_was_filtered_in_every_format(api, invoices, settings):
    settings.EXPORT_INLINE_MAX_ROWS = 1
    started = api.get(
        "/api/repairs/export", {"format": "xlsx", "workshop_type": "BIG_APPLE", "ordering": "repair_amount"}
    )
    assert started.status_code == 202
    job = ExportFile.objects.get(pk=started.json()["id"])
    assert job.filters == {"workshop_type": "BIG_APPLE", "ordering": "repair_amount"}
    assert [plan.invoice_number for plan in job_rows(job)][:2] == ["ST-1", "ST-3"]
    export_file(str(job.pk))
    sheet = sheet_of(body(api.get(started.json()["url"] + "download/")))
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[rows[0].index("Invoice number")] for row in rows[1:-1]] == [
        "ST-1", "ST-3", "ST-5", "ST-0", "ST-6", "ST-2", "ST-4"
    ]  # fmt: skip
    assert D(str(rows[-1][rows[0].index("Repair amount")])) == D("10788.42")


def test_bad_formats_and_pdfs_too_long_are_refused_with_a_message(api, invoices, monkeypatch, settings):
    response = api.get(INSTALLMENTS, {"format": "docx"})
    assert response.status_code == 400 and "format must be one of xlsx, csv, json, pdf" in response.json()["message"]
    count = RepairInstallment.objects.count()
    monkeypatch.setattr(exports, "PDF_MAX_ROWS", count - 1)
    settings.EXPORT_INLINE_MAX_ROWS = 10  # a pdf is never a job: it is refused before
    response = api.get(INSTALLMENTS, {"format": "pdf"})
    assert response.status_code == 400
    assert f"{count} rows are too many for a PDF (at most {count - 1})" in response.json()["message"]
    assert ExportFile.objects.count() == 0


def test_the_admin_prepares_a_long_export_and_lists_it_for_its_owner_only(invoices, finance, make_user, settings):
    settings.EXPORT_INLINE_MAX_ROWS = 5
    finance.is_staff = True
    finance.save()
    staff = Client()
    staff.force_login(finance)
    ids = [invoice.pk for invoice in invoices]

    response = staff.post(
        "/admin/repairs/repairinvoice/", {"action": "export_csv", "_selected_action": ids}, follow=True
    )
    said = [str(message) for message in response.context["messages"]]
    assert "Your export of 7 rows is being prepared; it will be listed under Exports." in said
    job = ExportFile.objects.get()
    assert (job.created_by, job.fmt, job.rows) == (finance, "csv", 7)
    export_file(str(job.pk))

    listing = staff.get("/admin/batpay/exportfile/").content.decode()
    assert "Repair invoices" in listing and "Ready" in listing and job.filename in listing
    download = staff.get(f"/admin/batpay/exportfile/{job.pk}/download/")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body(download).decode())))
    assert sorted(r["Invoice number"] for r in rows) == [f"ST-{n}" for n in range(7)]

    other = make_user("Manager")
    other.is_staff = True
    other.save()
    client = Client()
    client.force_login(other)
    assert job.filename not in client.get("/admin/batpay/exportfile/").content.decode()
    assert client.get(f"/admin/batpay/exportfile/{job.pk}/download/").status_code == 404

    # Short selections still come back at once, streamed.
    response = staff.post("/admin/repairs/repairinvoice/", {"action": "export_csv", "_selected_action": ids[:3]})
    assert isinstance(response, StreamingHttpResponse) and len(body(response).decode().splitlines()) == 4


def test_old_export_files_are_removed(api, invoices, settings):
    import datetime as dt

    from django.utils import timezone

    settings.EXPORT_INLINE_MAX_ROWS = 1
    job_id = api.get(INSTALLMENTS, {"format": "json"}).json()["id"]
    export_file(job_id)
    job = ExportFile.objects.get(pk=job_id)
    path = job.path
    ExportFile.objects.filter(pk=job_id).update(
        created_at=timezone.now() - dt.timedelta(days=settings.EXPORT_KEEP_DAYS + 1)
    )
    assert export_cleanup() == 1
    assert not ExportFile.objects.exists() and not (settings.MEDIA_ROOT / path).exists()


def test_an_xlsx_is_a_job_from_a_fifth_of_the_rows_a_stream_is(api, invoices, settings):
    count = RepairInstallment.objects.count()
    settings.EXPORT_INLINE_MAX_ROWS = count * 2  # a stream: at once; an xlsx (written whole first): a job
    assert isinstance(api.get(INSTALLMENTS, {"format": "csv"}), StreamingHttpResponse)
    response = api.get(INSTALLMENTS, {"format": "xlsx"})
    assert response.status_code == 202 and response.json()["format"] == "xlsx"
