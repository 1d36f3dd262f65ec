from django.apps import AppConfig


class ChargesConfig(AppConfig):
    name = "charges"
    verbose_name = "Miscellaneous charges and credits"

    def ready(self) -> None:
        from charges import metrics  # noqa: F401  (registers the metrics collector)
