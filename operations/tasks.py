"""The Sunday run's Celery tasks (SPEC §6). Their names are interfaces (beat entries, operators'
scripts and the admin's "Run now" refer to them), so they keep the names of the apps whose work
they run, whatever module defines them."""

from celery import shared_task

from operations.jobs import (
    charge_task,
    posting_task,
    prepare_payouts,
    run_deposit_release,
    shard_helper_task,
    task_actor,
    task_period,
    weekly_close,
)


@shared_task(name="leases.post_due_installments")
def post_lease_installments(
    period: str | None = None,
    actor_id: int | None = None,
    batch_size: int | None = None,
    shard_leases: int | None = None,
) -> dict:
    """Sunday 04:00: lease installments due up to `period` (default: the week just closed), after
    adopting unscheduled leases and rolling every schedule's horizon forward."""
    return posting_task(
        source="leases", period=period, actor_id=actor_id, batch_size=batch_size, shard_leases=shard_leases
    )


@shared_task(name="tolls.post_due")
def post_due_tolls(period: str | None = None, actor_id: int | None = None) -> dict:
    """Sunday 04:15: tolls due up to `period` (default: the week just closed) charged as EZPASS, refunds
    applied."""
    return charge_task(job="tolls.post_due", period=period, actor_id=actor_id)


@shared_task(name="repairs.post_due_installments")
def post_repair_installments(
    period: str | None = None,
    actor_id: int | None = None,
    batch_size: int | None = None,
    shard_leases: int | None = None,
) -> dict:
    """Sunday 04:30: repair installments due up to `period` (default: the week just closed)."""
    return posting_task(
        source="repairs", period=period, actor_id=actor_id, batch_size=batch_size, shard_leases=shard_leases
    )


@shared_task(name="loans.post_due_installments")
def post_loan_installments(
    period: str | None = None,
    actor_id: int | None = None,
    batch_size: int | None = None,
    shard_leases: int | None = None,
) -> dict:
    """Sunday 04:45: loan installments due up to `period`, their totals due posted as LOANS."""
    return posting_task(
        source="loans", period=period, actor_id=actor_id, batch_size=batch_size, shard_leases=shard_leases
    )


@shared_task(name="deposits.post_due_installments")
def post_deposit_installments(
    period: str | None = None,
    actor_id: int | None = None,
    batch_size: int | None = None,
    shard_leases: int | None = None,
) -> dict:
    """Sunday 04:50: deposit installments due up to `period` (installments after a lease's end are cancelled first)."""
    return posting_task(
        source="deposits", period=period, actor_id=actor_id, batch_size=batch_size, shard_leases=shard_leases
    )


@shared_task(name="deposits.release_due")
def release_due_deposits_task(actor_id: int | None = None) -> dict:
    """Daily 03:00: release the deposits whose lease ended DEPOSIT_HOLD_DAYS ago or more."""
    run = run_deposit_release(actor=task_actor(actor_id))
    return {"day": run.details.get("day"), "deposits": run.count, "returned": str(run.amount)}


@shared_task(name="ledger.weekly_close")
def weekly_close_task(period: str | None = None, actor_id: int | None = None, pdfs: bool = True) -> dict:
    """Sunday 05:00: close `period` (default: the week just closed) — the posting jobs that have not
    run for it, then every registered close step. With `pdfs` false the close leaves out its PDF
    step and queues the PDFs for the workers instead (see `weekly_close`)."""
    closing = task_period(period)
    runs = weekly_close(period=closing, actor=task_actor(actor_id), pdfs=pdfs)
    return {
        "period": closing.isoformat(),
        "jobs": [{"job": run.job, "status": run.status, "count": run.count, "amount": str(run.amount)} for run in runs],
    }


@shared_task(name="payouts.prepare")
def prepare_payouts_task(period: str | None = None, actor_id: int | None = None) -> dict:
    """Sunday 06:00: the payout run of `period` (default: the week just closed), for a Controller
    to approve."""
    run = prepare_payouts(period=task_period(period), actor=task_actor(actor_id))
    return {"period": run.period.isoformat(), "payouts": run.count, "amount": str(run.amount), **run.details}


@shared_task(name="operations.work_on_shards", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def work_on_shards(
    job: str, period: str, generation: int, run_id: int | None = None, actor_id: int | None = None
) -> int:
    """A helper of a sharded Sunday step (operations.shards): work on the step's free shards, then
    stop. A worker killed mid-shard leaves the message to be redelivered, and the shard (rolled
    back, its lock gone with the session) to whoever takes it next."""
    return shard_helper_task(job=job, period=period, generation=generation, run_id=run_id, actor_id=actor_id)
