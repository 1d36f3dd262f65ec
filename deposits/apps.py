from django.apps import AppConfig


class DepositsConfig(AppConfig):
    name = "deposits"
    verbose_name = "Security deposits"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded (batpay/registry.py says why hooks exist).
        from deposits import metrics  # noqa: F401  (registers the metrics collector)
        from deposits.plan import DEPOSITS
        from plans.services import register_source
        from plans.source import PLAN_SOURCES

        register_source(DEPOSITS)
        # After the other sources (leases, repairs, loans) wherever they are listed and run.
        PLAN_SOURCES.register(DEPOSITS.name, DEPOSITS, order=10)
