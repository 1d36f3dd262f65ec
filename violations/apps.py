from django.apps import AppConfig


class ViolationsConfig(AppConfig):
    name = "violations"
    verbose_name = "Violations and summonses"

    def ready(self) -> None:
        from violations import metrics  # noqa: F401  (registers the /metrics collector)
