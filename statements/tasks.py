"""The statements' Celery task: DTR PDFs, rendered after the DTRs commit. The task keeps the name
it had when the ledger app issued DTRs."""

from collections.abc import Iterable

from celery import shared_task

from statements.models import DriverTransactionReport
from statements.pdf import pdf_is_current, store_pdf


@shared_task(name="ledger.render_dtr_pdfs")
def render_dtr_pdfs(dtr_ids: Iterable[int]) -> int:
    """Render and store the PDFs of these DTRs (queued after they commit). A DTR whose PDF is
    already current is skipped, so a redelivered task does no work twice."""
    rendered = 0
    for dtr in DriverTransactionReport.objects.filter(pk__in=list(dtr_ids)).order_by("pk"):
        if pdf_is_current(dtr):
            continue
        store_pdf(dtr)
        rendered += 1
    return rendered
