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


def render_period_pdfs(*, period, lease_range: tuple[int, int]) -> int:
    """Render the PDFs of the period's DTRs of the leases with lo <= id <= hi that are not
    current (the weekly close's PDF step, one shard); returns how many were drawn."""
    lo, hi = lease_range
    ids = DriverTransactionReport.objects.filter(period=period, lease_id__gte=lo, lease_id__lte=hi).values_list(
        "pk", flat=True
    )
    return render_dtr_pdfs(list(ids))


def queue_period_pdfs(period, *, chunk: int = 25) -> int:
    """Queue the period's DTRs that have no PDF yet for the workers to draw, `chunk` per task
    (a close run without its PDF step); returns how many were queued."""
    ids = list(
        DriverTransactionReport.objects.filter(period=period, pdf="").order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), chunk):
        render_dtr_pdfs.delay_on_commit(ids[start : start + chunk])
    return len(ids)
