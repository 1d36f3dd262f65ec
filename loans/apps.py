from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = "Driver loans"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from loans import cases  # noqa: F401  (registers the guided-entry flow)
        from loans.plan import LOANS
        from plans.services import register_source

        register_source(LOANS)
