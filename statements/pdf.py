"""A Driver Transaction Report's PDF: drawn with WeasyPrint from a Django template, its stylesheet
(templates/statements/report.css) and the fonts shipped in statements/fonts, stored under MEDIA_ROOT,
and redrawn only when out of date. The stylesheet and fonts are parsed once per process (batpay.pdf)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from batpay import pdf
from statements.models import DriverTransactionReport

DTR = DriverTransactionReport
FONT_DIR = Path(__file__).resolve().parent / "fonts"
STYLESHEET = settings.BASE_DIR / "templates" / "statements" / "report.css"
USER_AGENT_STYLESHEET = settings.BASE_DIR / "templates" / "statements" / "report-ua.css"
LATIN_FONT = FONT_DIR / "DTRSansLatin.ttf"  # and its bold: the same characters (fonts/make_latin.py)


def statement_context(dtr: DTR) -> dict:
    """What the PDF and the admin page show: the snapshot, and the DTR's own number and state."""
    snapshot = dtr.snapshot
    return {
        "dtr": dtr,
        "s": snapshot,
        "detail_categories": [c for c in snapshot["categories"] if c["lines"]],
        "voided": dtr.status == DTR.Status.VOIDED,
        "generated_at": timezone.localtime(dtr.generated_at) if dtr.generated_at else None,
        "font_dir": FONT_DIR.as_uri(),
    }


def render_pdf(dtr: DTR) -> bytes:
    """The DTR as a letter-size PDF, drawn with the fonts shipped in statements/fonts."""
    return pdf.render_pdf(
        "statements/report.html",
        statement_context(dtr),
        stylesheets=(STYLESHEET,),
        user_agent=USER_AGENT_STYLESHEET,
        # Embedded whole when the statement is written in the cut-down fonts' characters alone (nearly
        # always); a name in another script is drawn from the whole DejaVu Sans, subset as it used to be.
        whole_fonts_for=pdf.characters(LATIN_FONT) | {"\n", "\t", "\r"},
    )


def pdf_is_current(dtr: DTR) -> bool:
    """A stored PDF that exists and was drawn after the DTR's last change (its void)."""
    if not dtr.pdf or dtr.pdf_rendered_at is None or not dtr.pdf.storage.exists(dtr.pdf.name):
        return False
    return dtr.voided_at is None or dtr.pdf_rendered_at >= dtr.voided_at


def store_pdf(dtr: DTR) -> bytes:
    """Render the PDF and keep it (replacing an older one); returns its bytes."""
    content = render_pdf(dtr)
    storage = DTR._meta.get_field("pdf").storage
    old = dtr.pdf.name if dtr.pdf else ""
    name = storage.save(f"dtrs/{dtr.period:%Y}/{dtr.dtr_number}.pdf", ContentFile(content))
    rendered_at = timezone.now()
    DTR.objects.filter(pk=dtr.pk).update(pdf=name, pdf_rendered_at=rendered_at)
    dtr.pdf.name, dtr.pdf_rendered_at = name, rendered_at
    if old and old != name:
        storage.delete(old)
    return content


def pdf_bytes(dtr: DTR) -> bytes:
    """The stored PDF, or one rendered (and stored) now when it is missing or out of date."""
    if pdf_is_current(dtr):
        with dtr.pdf.open("rb") as stored:
            return stored.read()
    return store_pdf(dtr)


# --- a period's DTRs at once (Managers' bulk download) ------------------------------------------


class _Drain(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come: a zip written into it is sent
    file by file instead of being built whole in memory."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def zip_name(period) -> str:
    return f"dtrs-{period:%Y-%m-%d}.zip"


def pdfs_zip(dtrs: Iterable[DTR]) -> Iterator[bytes]:
    """The DTRs' PDFs (stored, or rendered now) as one zip, yielded one PDF at a time. A PDF is
    already compressed: the zip stores them as they are."""
    drain = _Drain()
    with zipfile.ZipFile(drain, "w", compression=zipfile.ZIP_STORED) as archive:
        for dtr in dtrs:
            archive.writestr(f"{dtr.dtr_number}.pdf", pdf_bytes(dtr))
            yield drain.take()
    yield drain.take()
