from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from operations import jobs  # noqa: F401  (registers the job metrics collector)
        from operations.jobs import ensure_beat_schedule_after_migrate

        # Once per migrate (sender: this app), after every app's tables exist.
        post_migrate.connect(
            ensure_beat_schedule_after_migrate, sender=self, dispatch_uid="operations.ensure_beat_schedule"
        )
