"""The DTR as a PDF: WeasyPrint, letter size, the project's own fonts, stored after commit."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from ledger import services
from ledger.models import Category
from statements.close import close_earnings
from statements.dtr import generate_dtrs, void_dtr
from statements.models import DriverTransactionReport
from statements.pdf import pdf_bytes, pdf_is_current
from statements.tasks import render_dtr_pdfs
from statements.tests.trip_files import import_lines, worked_example

P1 = dt.date(2025, 9, 28)
LETTER = (612, 792)  # points


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dtr(fleet):
    lease = fleet.lease()
    lease.primary_driver.first_name, lease.primary_driver.last_name = "Amadou", "Diallo"
    lease.primary_driver.save()
    import_lines(worked_example(lease, P1))
    for category, amount, ref in [(Category.EZPASS, "31.22", "EZP-1"), (Category.LEASE, "500.00", "LEASE-1")]:
        services.create_obligation(
            category=category, amount=D(amount), source_reference=ref, driver=lease.primary_driver, lease=lease,
            period=P1,
        )  # fmt: skip
    close_earnings(period=P1)
    summary = generate_dtrs(period=P1, render=False)
    return DriverTransactionReport.objects.get(pk=summary.dtr_ids[0])


def text_of(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_opens_and_holds_the_number_the_driver_and_the_totals(dtr):
    content = pdf_bytes(dtr)

    reader, text = text_of(content)
    assert content.startswith(b"%PDF")
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == LETTER
    assert dtr.dtr_number in text
    assert "Amadou Diallo" in text
    assert dtr.snapshot["driver"]["tlc_license"] in text
    for figure in ("465.00", "191.25", "31.22", "500.00", "242.53", "257.47", "722.47", "Total due to driver"):
        assert figure in text, figure
    # The summary, then the detail of TAXES, EZPASS and LEASE following each other: two pages at most.
    assert len(reader.pages) <= 2
    # Only the fonts shipped in statements/fonts are embedded (the cut-down Latin faces, whole, for a
    # name in Latin letters), never a system font.
    fonts = {
        str(font["/BaseFont"]).split("+", 1)[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].get_object().values()
    }
    assert fonts == {"DTR-Statement", "DTR-Statement-Bold"}


def test_the_pdf_is_stored_and_served_from_storage_until_the_dtr_changes(dtr, django_capture_on_commit_callbacks):
    assert not pdf_is_current(dtr)
    assert render_dtr_pdfs([dtr.pk]) == 1
    dtr.refresh_from_db()
    assert pdf_is_current(dtr) and dtr.pdf.name == f"dtrs/2025/{dtr.dtr_number}.pdf"
    assert render_dtr_pdfs([dtr.pk]) == 0  # a redelivered task does nothing twice

    with django_capture_on_commit_callbacks() as queued:
        voided, replacement = void_dtr(dtr_number=dtr.dtr_number, reason="Lease charge was entered twice", actor=None)
    assert len(queued) == 1  # one render task for the voided DTR and its replacement
    voided.refresh_from_db()
    assert not pdf_is_current(voided)  # drawn before the void: it lacks the VOID mark
    _, text = text_of(pdf_bytes(voided))
    assert "VOID" in text and replacement.dtr_number in text
    voided.refresh_from_db()
    assert pdf_is_current(voided)


def test_a_missing_stored_file_is_rendered_again_on_demand(dtr):
    render_dtr_pdfs([dtr.pk])
    dtr.refresh_from_db()
    dtr.pdf.storage.delete(dtr.pdf.name)

    _, text = text_of(pdf_bytes(dtr))

    assert dtr.dtr_number in text
    dtr.refresh_from_db()
    assert dtr.pdf.storage.exists(dtr.pdf.name)
