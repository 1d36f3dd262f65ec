from celery import shared_task

from batpay.jobs import posting_task


@shared_task(name="loans.post_due_installments")
def post_due_installments(
    period: str | None = None, actor_id: int | None = None, batch_size: int | None = None
) -> dict:
    """The Sunday 04:45 job (SPEC §6): loan installments due up to `period` (default: the week just
    closed), their totals due posted as LOANS, as a recorded run locked per period (`batpay.jobs`)."""
    return posting_task(source="loans", period=period, actor_id=actor_id, batch_size=batch_size)
