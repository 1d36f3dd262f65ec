from django.apps import AppConfig


class RepairsConfig(AppConfig):
    name = "repairs"
    verbose_name = "Repairs"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from plans.services import register_source
        from repairs import cases  # noqa: F401  (registers the guided-entry flow)
        from repairs.plan import REPAIRS

        register_source(REPAIRS)
