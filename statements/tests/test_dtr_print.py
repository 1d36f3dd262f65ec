"""The DTR on paper: a normal week on one or two pages with every detail line, categories flowing after
each other, detail headings that wrap inside their columns; and a period's DTRs downloaded at once."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.test import Client
from pypdf import PdfReader

from ledger import services
from ledger.models import Category
from statements.close import close_earnings
from statements.dtr import generate_dtrs, void_dtr
from statements.models import DriverTransactionReport
from statements.pdf import render_pdf
from statements.tests.trip_files import import_lines, worked_example

P1 = dt.date(2025, 9, 28)

# A busy but normal week: the lease, a week of tolls, two repairs, a loan, tickets and a fee.
CHARGES = [
    (Category.LEASE, "500.00", "LS-000001-2025-09-28", "Lease LS-000001 week of 2025-09-28"),
    *[
        (Category.EZPASS, f"{6 + n}.{n}5", f"EZP-2025-{n:04d}", f"E-ZPass toll, Verrazzano bridge, day {n}")
        for n in range(9)
    ],
    (Category.REPAIRS, "200.00", "RPR-2025-014-02", "Repair RPR-2025-014 installment 2 of 5"),
    (Category.REPAIRS, "100.00", "RPR-2025-031-01", "Repair RPR-2025-031 installment 1 of 3"),
    (Category.LOANS, "126.37", "LOAN-2025-007-04", "Loan LOAN-2025-007 installment 4 (principal and interest)"),
    (Category.PVB, "65.00", "PVB-4412098871", "Parking violation, 5th Ave & 42nd St, no standing"),
    (Category.PVB, "115.00", "PVB-4412098999", "Parking violation, bus lane camera"),
    (Category.TLC, "50.00", "TLC-FH2025-118", "TLC summons: partition light"),
    (Category.MISC, "25.00", "MISC-2025-0091", "Replacement credit-card reader cable"),
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def busy_week(fleet):
    lease = fleet.lease()
    import_lines(worked_example(lease, P1))
    for category, amount, reference, description in CHARGES:
        services.create_obligation(
            category=category, amount=D(amount), source_reference=reference, driver=lease.primary_driver,
            lease=lease, period=P1, description=description,
        )  # fmt: skip
    close_earnings(period=P1)
    summary = generate_dtrs(period=P1, render=False)
    return DriverTransactionReport.objects.get(pk=summary.dtr_ids[0])


def test_a_busy_normal_week_prints_on_two_pages_at_most_with_every_detail_line(busy_week, tmp_path):
    content = render_pdf(busy_week)
    (tmp_path / "dtr.pdf").write_bytes(content)

    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)

    assert len(reader.pages) <= 2
    for _, amount, reference, _ in CHARGES:
        assert reference in text and amount in text, reference
    # Each category's detail follows the one before on the same page, not on a page of its own.
    details = [page.extract_text().count("— detail") for page in reader.pages]
    assert sum(details) == len({category for category, *_ in CHARGES} | {Category.TAXES})
    assert max(details) >= 3
    call_command("check_ledger")


def test_detail_headings_stay_inside_the_page_and_their_columns(busy_week):
    """Every word printed lies on the page; the numeric headings wrap instead of running into the next."""
    reader = PdfReader(io.BytesIO(render_pdf(busy_week)))
    width = float(reader.pages[0].mediabox.width)
    placed = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            # Where the text starts on the page: its matrix within the current transformation.
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            placed.append((text.strip(), x, y))

    for page in reader.pages:
        page.extract_text(visitor_text=visit)

    assert placed and [item for item in placed if not 0 <= item[1] < width] == []
    # "Paid from earnings" is broken over lines in its narrow column: its words sit on different lines.
    rows = {y for text, _, y in placed if text in ("Paid from", "earnings", "Paid from earnings")}
    assert len(rows) >= 2, placed[:80]


@pytest.fixture
def closed_week(fleet):
    """Two leases with their week closed: two DTRs in force, and one voided and replaced."""
    leases = [fleet.lease(), fleet.lease()]
    for lease in leases:
        import_lines(worked_example(lease, P1, prefix=lease.lease_number))
        services.create_obligation(
            category=Category.LEASE, amount=D("500.00"), source_reference=f"{lease.lease_number}-W1",
            driver=lease.primary_driver, lease=lease, period=P1,
        )  # fmt: skip
    close_earnings(period=P1)
    generate_dtrs(period=P1, render=False)
    first = DriverTransactionReport.objects.get(lease=leases[0])
    _, replacement = void_dtr(dtr_number=first.dtr_number, reason="Re-issued for the audit", actor=None)
    return sorted([replacement.dtr_number, DriverTransactionReport.objects.get(lease=leases[1]).dtr_number])


def zipped(content: bytes) -> dict[str, str]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    return {name: PdfReader(io.BytesIO(archive.read(name))).pages[0].extract_text() for name in archive.namelist()}


def test_managers_download_a_period_s_dtrs_in_force_as_one_zip(closed_week, make_user, api_client_for):
    manager = api_client_for(make_user("Manager"))

    response = manager.get("/api/dtrs/download", {"period": P1.isoformat()})

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="dtrs-2025-09-28.zip"'
    files = zipped(b"".join(response.streaming_content))
    # The voided version is left out: the zip holds what is in force.
    assert sorted(files) == [f"{number}.pdf" for number in closed_week]
    assert all(number in files[f"{number}.pdf"] for number in closed_week)
    call_command("check_ledger")


@pytest.mark.parametrize(
    ("role", "query", "status", "field"),
    [
        ("Cashier", {"period": "2025-09-28"}, 403, None),
        ("Manager", {}, 400, "period"),
        ("Manager", {"period": "2025-09-30"}, 400, "period"),
        ("Manager", {"period": "soon"}, 400, "period"),
    ],
)
def test_the_download_refuses_other_roles_and_a_period_that_is_not_a_sunday(
    db, make_user, api_client_for, role, query, status, field
):
    response = api_client_for(make_user(role)).get("/api/dtrs/download", query)

    assert response.status_code == status
    if field:
        assert field in response.json()["fields"]


def test_the_dtr_list_exports_and_downloads_for_managers(closed_week, make_user):
    manager = make_user("Manager")
    manager.is_staff = True
    manager.save()
    client = Client()
    client.force_login(manager)
    url = "/admin/statements/drivertransactionreport/"

    page = client.get(url, {"period": P1.isoformat()})
    html = page.content.decode()
    assert "Download the DTRs of the week of 2025-09-28 (zip of PDFs)" in html
    # Totals of the filtered rows: the three DTRs' card earnings (each lease 465.00), voided one included.
    assert page.context["cl"].totals_row[page.context["cl"].list_display.index("card_earnings")] == "1,395.00"
    download = client.get(f"{url}download/", {"period": P1.isoformat()})
    assert sorted(zipped(b"".join(download.streaming_content))) == [f"{number}.pdf" for number in closed_week]

    ids = list(DriverTransactionReport.objects.values_list("pk", flat=True))
    exported = client.post(url, {"action": "export_csv", "_selected_action": ids})
    rows = list(csv.DictReader(io.StringIO(exported.getvalue().decode())))
    assert sorted(row["Status"] for row in rows) == ["Issued", "Issued", "Voided"]
    assert {row["Card earnings"] for row in rows} == {"465.00"}
    chosen = client.post(url, {"action": "download_pdfs", "_selected_action": ids})
    assert len(zipped(b"".join(chosen.streaming_content))) == 3
