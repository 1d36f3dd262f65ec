from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = "Driver loans"

    def ready(self) -> None:
        from loans import cases  # noqa: F401  (registers the guided-entry flow)
        from loans.plan import LOANS
        from plans.services import register_source

        register_source(LOANS)
