"""`manage.py bench pdf`: DTR PDFs per second per core, before and after, side by side.

A small fleet gets a week like weekly_close's (LEASE charges, EZPASS on about half, trips through
the import, the close and the DTR snapshots); then the same sample of DTRs is rendered in this one
process (so the rates are per core) two ways, in alternating rounds so that a busy machine weighs on
both alike:
- before: the path of session 19, kept here only for this comparison: the template as it was
  (pdf_before/, its styles inline, two detail tables' worth of headings per category, flex boxes,
  automatic table layout) and a new FontConfiguration per PDF, subsetting the whole DejaVu Sans;
- after: statements.pdf.render_pdf as the workers run it.
"""

from __future__ import annotations

import io
import random
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine
from pypdf import PdfReader

from batpay.periods import last_closed_period, period_end
from operations.bench import Report, benchmark
from operations.bench.weekly import TRIPS_PER_LEASE, _charges, _fleet, write_trips
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport
from statements.pdf import render_pdf, statement_context
from statements.trips import import_trips

PDF_SAMPLE = 50
ROUNDS = 5
BEFORE = Path(__file__).resolve().parent / "pdf_before"


def seed_week(report: Report, leases: int) -> None:
    period = last_closed_period()
    rng = random.Random(20250928)
    fleet = _fleet(report, leases, period)
    _charges(fleet, period, rng)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trips.csv"
        write_trips(path, fleet, period, TRIPS_PER_LEASE, rng)
        with path.open("rb") as stream:
            import_trips(stream=stream, file_name=path.name)
    close_earnings(period=period)
    generate_dtrs(period=period, render=False)
    report.line("week", f"{period} – {period_end(period)}: {leases:,} leases, their DTR snapshots")


def render_before(dtr: DriverTransactionReport, engine: Engine) -> bytes:
    """The DTR PDF as session 19 drew it (for the comparison only)."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    html = engine.get_template("statements/report.html").render(Context(statement_context(dtr)))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=FontConfiguration())


def pages(pdfs: list[bytes]) -> list[int]:
    return [len(PdfReader(io.BytesIO(content)).pages) for content in pdfs]


@benchmark("pdf")
def pdf_benchmark(report: Report) -> None:
    seed_week(report, max(PDF_SAMPLE, report.n(200)))
    sample = list(DriverTransactionReport.objects.order_by("pk")[:PDF_SAMPLE])
    engine = Engine(dirs=[str(BEFORE)])
    paths = {"before": lambda dtr: render_before(dtr, engine), "after": render_pdf}
    for render in paths.values():
        render(sample[0])  # loads WeasyPrint; the new path also builds its fonts and stylesheet here
    per_round = max(1, len(sample) // ROUNDS)
    seconds = dict.fromkeys(paths, 0.0)
    cpu = dict.fromkeys(paths, 0.0)  # this process's CPU time: what a core spent, however busy the machine
    made: dict[str, list[bytes]] = {name: [] for name in paths}
    for start in range(0, len(sample), per_round):
        chunk = sample[start : start + per_round]
        for name, render in paths.items():
            began, began_cpu = time.perf_counter(), time.process_time()
            made[name] += [render(dtr) for dtr in chunk]
            seconds[name] += time.perf_counter() - began
            cpu[name] += time.process_time() - began_cpu
    rates = {name: len(sample) / seconds[name] for name in paths}
    cpu_rates = {name: len(sample) / cpu[name] for name in paths}
    for name in paths:
        counts = pages(made[name])
        one = sum(1 for count in counts if count == 1)
        size = sum(map(len, made[name])) / len(made[name]) / 1024
        report.line(
            f"DTR PDFs {name:<6} ({len(sample)}: {sum(counts)} pages, {one} on one page, {size:.0f} KB each)",
            f"{seconds[name]:6.2f} s = {rates[name]:5.1f} PDFs/s "
            f"({cpu[name]:.2f} CPU s = {cpu_rates[name]:.1f} per CPU second)",
        )
    speedup, cpu_speedup = rates["after"] / rates["before"], cpu_rates["after"] / cpu_rates["before"]
    report.line("  after / before", f"× {speedup:.2f} (in CPU time × {cpu_speedup:.2f})")
    report.line("  a week's PDFs for 10,000 leases on one core, after", f"{10_000 / rates['after'] / 60:.0f} min")
    report.budget(
        "budget: ≥ 10 one-page DTR PDFs per second per core",
        rates["after"] >= 10,
        f"{rates['after']:.1f} per second",
    )
