from celery import shared_task

from batpay.jobs import posting_task


@shared_task(name="repairs.post_due_installments")
def post_due_installments(
    period: str | None = None, actor_id: int | None = None, batch_size: int | None = None
) -> dict:
    """The Sunday 04:30 job (SPEC §6): repair installments due up to `period` (default: the week just
    closed), as a recorded run locked per period (`batpay.jobs`)."""
    return posting_task(source="repairs", period=period, actor_id=actor_id, batch_size=batch_size)
