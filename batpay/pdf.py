"""PDFs of the back office drawn with WeasyPrint from a Django template (a cashier's receipt, a
driver's statement), with the fonts the DTRs ship (statements/fonts), so every machine prints them alike.

What does not change between two PDFs is built once per process and kept: WeasyPrint's font
configuration (loading fontconfig's view of the machine's fonts and each @font-face file) and the
stylesheets parsed from files. A worker renders its first PDF a little slower than the rest."""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string

FONT_DIR = settings.BASE_DIR / "statements" / "fonts"

# Per process (a forked worker builds its own: fontconfig and Pango objects are not shared across a fork).
_PROCESS: dict[str, object] = {"pid": None}
# Dropped before the interpreter tears its modules down (a FontConfiguration cleans up after itself then).
atexit.register(_PROCESS.clear)


def _cached(key: str, build):
    if _PROCESS["pid"] != os.getpid():
        _PROCESS.clear()
        _PROCESS["pid"] = os.getpid()
    if key not in _PROCESS:
        _PROCESS[key] = build()
    return _PROCESS[key]


def font_config():
    """This process's WeasyPrint FontConfiguration: the machine's fonts and every @font-face seen
    so far (WeasyPrint adds a face once, however often a document names it)."""
    from weasyprint.text.fonts import FontConfiguration

    return _cached("fonts", FontConfiguration)


def stylesheet(path: Path, *, base_url: Path = FONT_DIR):
    """The CSS file at `path`, parsed once per process (its @font-face rules registered with
    font_config()); relative URLs in it resolve against `base_url`."""

    def build():
        from weasyprint import CSS

        return CSS(filename=str(path), base_url=f"{base_url.as_uri()}/", font_config=font_config())

    return _cached(f"css:{path}", build)


def _document_class(user_agent: Path | None):
    """WeasyPrint's HTML, or (once per process) a subclass drawn with the cut-down user-agent
    stylesheet at `user_agent` instead of WeasyPrint's full one (HTML._ua_stylesheets, WeasyPrint 70)."""
    from weasyprint import HTML

    if user_agent is None:
        return HTML

    def build():
        sheet = stylesheet(user_agent)

        class LeanHTML(HTML):
            def _ua_stylesheets(self, forms=False):
                return [sheet]

        return LeanHTML

    return _cached(f"ua:{user_agent}", build)


def characters(font: Path) -> frozenset[str]:
    """The characters a font file draws (its cmap), read once per process."""

    def build():
        from fontTools.ttLib import TTFont

        return frozenset(map(chr, TTFont(font, lazy=True).getBestCmap()))

    return _cached(f"cmap:{font}", build)


def render_pdf(
    template: str,
    context: dict,
    *,
    stylesheets: tuple[Path, ...] = (),
    user_agent: Path | None = None,
    whole_fonts_for: frozenset[str] = frozenset(),
) -> bytes:
    """The template drawn as a PDF. Its own <style> is parsed on every render; styles in
    `stylesheets` (files) are parsed once per process, and so is the `user_agent` stylesheet that
    replaces WeasyPrint's own when given. When every character of the page is in `whole_fonts_for`,
    the fonts are embedded whole instead of subset (for small fonts that is much faster: WeasyPrint
    subsets with fontTools, a good part of a page's render time)."""
    html = render_to_string(template, {**context, "font_dir": FONT_DIR.as_uri()})
    document = _document_class(user_agent)(string=html, base_url=str(settings.BASE_DIR))
    return document.write_pdf(
        stylesheets=[stylesheet(path) for path in stylesheets],
        font_config=font_config(),
        full_fonts=bool(whole_fonts_for) and set(html) <= whole_fonts_for,
    )


def pdf_response(content: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
