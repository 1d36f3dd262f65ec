from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = "Driver loans"

    def ready(self) -> None:
        from batpay.plans.source import register_source
        from loans import cases  # noqa: F401  (registers the guided-entry flow)
        from loans.plan import LOANS

        register_source(LOANS)
