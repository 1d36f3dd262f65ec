from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Installment plans"

    def ready(self) -> None:
        from plans import metrics  # noqa: F401  (registers the collector of every plan source)
