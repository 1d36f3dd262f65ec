from celery import shared_task

from batpay.periods import last_closed_period, parse_period
from repairs.services import repair_installments_post_due


@shared_task(name="repairs.post_due_installments")
def post_due_installments(period: str | None = None) -> dict:
    """The Sunday 04:30 job (SPEC §6): repair installments due up to `period` (default: the week just closed)."""
    summary = repair_installments_post_due(period=parse_period(period) if period else last_closed_period())
    return {
        "source": summary.source,
        "period": summary.period.isoformat(),
        "installments": summary.installments,
        "amount": str(summary.amount),
    }
