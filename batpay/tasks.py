from celery import shared_task


@shared_task(name="batpay.ping")
def ping(value: str = "pong") -> str:
    """A no-op round trip through the broker: health checks and the worker test use it."""
    return value
