"""PDFs of the back office drawn with WeasyPrint from a Django template (a cashier's receipt, a
driver's statement), with the fonts the DTRs ship (statements/fonts), so every machine prints them alike."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string

FONT_DIR = settings.BASE_DIR / "statements" / "fonts"


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    html = render_to_string(template, {**context, "font_dir": FONT_DIR.as_uri()})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=FontConfiguration())


def pdf_response(content: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
