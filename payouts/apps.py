from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payouts"

    def ready(self) -> None:
        from payouts import checks, metrics  # noqa: F401  (registers the system check and the collectors)
