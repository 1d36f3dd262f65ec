from django.apps import AppConfig


class TollsConfig(AppConfig):
    name = "tolls"
    verbose_name = "E-ZPass tolls"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded (batpay/registry.py says why hooks exist).
        from tolls import metrics  # noqa: F401  (registers the tolls collector)
