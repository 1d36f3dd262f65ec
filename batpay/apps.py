from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BatpayConfig(AppConfig):
    name = "batpay"
    verbose_name = "BAT Payment Engine"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from batpay import checks, metrics  # noqa: F401  (register the system checks and the collectors)
        from batpay.celery import app as celery_app
        from batpay.roles import sync_role_permissions

        # Every process knows every task, not only a worker: Celery imports the apps' `tasks`
        # modules when a worker starts, so without this the web process's "Run now" (which queues
        # a task by its name) fails with NotRegistered. Models are loaded, so the imports are safe.
        celery_app.autodiscover_tasks(force=True)

        post_migrate.connect(sync_role_permissions, dispatch_uid="batpay.sync_role_permissions")
