from celery import shared_task

from batpay.jobs import posting_task


@shared_task(name="leases.post_due_installments")
def post_due_installments(
    period: str | None = None, actor_id: int | None = None, batch_size: int | None = None
) -> dict:
    """The Sunday 04:00 job (SPEC §6): lease installments due up to `period` (default: the week just
    closed), after adopting unscheduled leases and rolling every schedule's horizon forward."""
    return posting_task(source="leases", period=period, actor_id=actor_id, batch_size=batch_size)
