from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BatpayConfig(AppConfig):
    name = "batpay"
    verbose_name = "BAT Payment Engine"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from batpay import checks, metrics  # noqa: F401  (register the system checks and the collectors)
        from batpay.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="batpay.sync_role_permissions")
