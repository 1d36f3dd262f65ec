from django.apps import AppConfig


class RepairsConfig(AppConfig):
    name = "repairs"
    verbose_name = "Repairs"

    def ready(self) -> None:
        from plans.services import register_source
        from repairs import cases  # noqa: F401  (registers the guided-entry flow)
        from repairs.plan import REPAIRS

        register_source(REPAIRS)
