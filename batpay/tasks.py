from celery import shared_task


@shared_task(name="batpay.ping")
def ping(value: str = "pong") -> str:
    """A no-op round trip through the broker: health checks and the worker test use it."""
    return value


@shared_task(name="batpay.export_file")
def export_file(job_id: str) -> str:
    """Write a long export's file (batpay.export_jobs); a retried task writes it again."""
    from batpay.export_jobs import export_run

    return export_run(job_id).status
