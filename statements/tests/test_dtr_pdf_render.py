"""How a DTR's PDF is drawn fast: its stylesheet, user-agent stylesheet and fonts built once per
process and reused; the cut-down fonts embedded whole when a statement needs nothing else, and the
whole DejaVu Sans (subset) when a name is written in another script; a normal week on one page."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from pypdf import PdfReader
from weasyprint import CSS

from batpay import pdf as batpay_pdf
from ledger import services
from ledger.models import Category
from statements import pdf
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport
from statements.tests.trip_files import import_lines, worked_example

P1 = dt.date(2025, 9, 28)


def issue_dtr(fleet, *, first_name="Amadou", last_name="Diallo", extra_driver=None) -> DriverTransactionReport:
    lease = fleet.lease()
    lease.primary_driver.first_name, lease.primary_driver.last_name = first_name, last_name
    lease.primary_driver.save()
    if extra_driver is not None:
        lease.additional_drivers.add(extra_driver)
    import_lines(worked_example(lease, P1, prefix=lease.lease_number, extra_driver=extra_driver))
    for category, amount, ref in [(Category.EZPASS, "31.22", "EZP-1"), (Category.LEASE, "500.00", "LEASE-1")]:
        services.create_obligation(
            category=category, amount=D(amount), source_reference=f"{ref}-{lease.lease_number}",
            driver=lease.primary_driver, lease=lease, period=P1,
        )  # fmt: skip
    close_earnings(period=P1)
    generate_dtrs(period=P1, render=False)
    return DriverTransactionReport.objects.get(lease=lease)


def fonts_of(reader: PdfReader) -> dict[str, bytes]:
    """The embedded font files by their font's name, less WeasyPrint's tag (ABCDEF+DTR-Sans-Bold)."""
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"]).split("+", 1)[1]] = descriptor["/FontFile2"].get_object().get_data()
    return fonts


def test_a_normal_week_with_two_drivers_prints_on_one_page_with_every_figure(fleet):
    dtr = issue_dtr(fleet, extra_driver=fleet.driver())

    reader = PdfReader(io.BytesIO(pdf.render_pdf(dtr)))
    text = reader.pages[0].extract_text()

    assert len(reader.pages) == 1
    for shown in (
        dtr.dtr_number, "Amadou Diallo", "Trips by driver", "Account balance", "Payment summary",
        "Taxes — detail", "EZ-Pass tolls — detail", "Lease — detail", f"EZP-1-{dtr.snapshot['lease']['number']}",
        "465.00", "191.25", "31.22", "500.00", "Total due to driver", "Page 1 of 1",
    ):  # fmt: skip
        assert shown in text, shown
    # The page's footer names the DTR and its lease (a string set from the page, not a per-DTR stylesheet).
    assert f"{dtr.dtr_number} · {dtr.snapshot['lease']['number']}" in text


def test_the_stylesheets_and_fonts_are_built_once_per_process_and_reused(fleet):
    dtr = issue_dtr(fleet)
    pdf.render_pdf(dtr)
    fonts = batpay_pdf.font_config()
    sheet = batpay_pdf.stylesheet(pdf.STYLESHEET)
    user_agent = batpay_pdf.stylesheet(pdf.USER_AGENT_STYLESHEET)

    pdf.render_pdf(dtr)

    assert batpay_pdf.font_config() is fonts
    assert batpay_pdf.stylesheet(pdf.STYLESHEET) is sheet
    assert batpay_pdf.stylesheet(pdf.USER_AGENT_STYLESHEET) is user_agent
    # A forked worker builds its own: the cache belongs to the process that filled it.
    batpay_pdf._PROCESS["pid"] = -1
    assert batpay_pdf.font_config() is not fonts


def test_a_statement_in_latin_letters_embeds_the_cut_down_fonts_whole(fleet):
    dtr = issue_dtr(fleet, first_name="José", last_name="Núñez-Øberg")
    # The process has drawn a receipt before: its "DTR Sans" faces (the whole DejaVu Sans) are in the
    # shared font configuration, and must not stand in for the statement's fonts.
    CSS(
        string='@font-face { font-family: "DTR Sans"; src: url("DejaVuSans.ttf"); }'
        '@font-face { font-family: "DTR Sans"; font-weight: bold; src: url("DejaVuSans-Bold.ttf"); }',
        base_url=f"{pdf.FONT_DIR.as_uri()}/",
        font_config=batpay_pdf.font_config(),
    )

    reader = PdfReader(io.BytesIO(pdf.render_pdf(dtr)))

    assert "José Núñez-Øberg" in reader.pages[0].extract_text()
    # Only the cut-down fonts are used, each embedded as the file it is (not subset on this render).
    shipped = {"DTR-Statement": pdf.LATIN_FONT, "DTR-Statement-Bold": pdf.FONT_DIR / "DTRSansLatin-Bold.ttf"}
    assert {name: len(data) for name, data in fonts_of(reader).items()} == {
        name: path.stat().st_size for name, path in shipped.items()
    }


@pytest.mark.parametrize("name", [("Дмитрий", "Иванов"), ("Νίκος", "Παπαδόπουλος")])
def test_a_name_in_another_script_prints_from_the_whole_dejavu_font(fleet, name):
    dtr = issue_dtr(fleet, first_name=name[0], last_name=name[1])

    reader = PdfReader(io.BytesIO(pdf.render_pdf(dtr)))

    assert " ".join(name) in reader.pages[0].extract_text()
    fonts = fonts_of(reader)
    # The name (in bold) is drawn from the whole DejaVu Sans; every font is then subset, as it used to be.
    assert "DTR-Statement-All-Bold" in fonts, sorted(fonts)
    assert len(fonts["DTR-Statement-All-Bold"]) < (pdf.FONT_DIR / "DejaVuSans-Bold.ttf").stat().st_size / 10
    assert len(fonts["DTR-Statement"]) < pdf.LATIN_FONT.stat().st_size
