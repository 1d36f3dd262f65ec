from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Installment plans"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from plans import metrics  # noqa: F401  (registers the collector of every plan source)
