from django.apps import AppConfig


class LeasesConfig(AppConfig):
    name = "leases"
    verbose_name = "Fleet"

    def ready(self) -> None:
        from leases import metrics  # noqa: F401  (registers the collectors)
