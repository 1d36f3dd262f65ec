from celery import shared_task

from batpay.jobs import task_actor, task_period, weekly_close


@shared_task(name="ledger.weekly_close")
def weekly_close_task(period: str | None = None, actor_id: int | None = None) -> dict:
    """The Sunday 05:00 job (SPEC §6): close `period` (default: the week just closed) — the posting
    jobs that have not run for it, then every registered close step."""
    closing = task_period(period)
    runs = weekly_close(period=closing, actor=task_actor(actor_id))
    return {
        "period": closing.isoformat(),
        "jobs": [{"job": run.job, "status": run.status, "count": run.count, "amount": str(run.amount)} for run in runs],
    }
