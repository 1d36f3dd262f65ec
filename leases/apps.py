from django.apps import AppConfig


class LeasesConfig(AppConfig):
    name = "leases"
    verbose_name = "Fleet"

    def ready(self) -> None:
        from batpay.plans.source import register_source
        from leases import metrics  # noqa: F401  (registers the collectors)
        from leases.plan import LEASES

        register_source(LEASES)
