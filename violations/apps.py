from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ViolationsConfig(AppConfig):
    name = "violations"
    verbose_name = "Violations and summonses"

    def ready(self) -> None:
        from batpay.reference import reference_rows
        from violations import metrics  # noqa: F401  (registers the /metrics collector)
        from violations.models import TLC_VIOLATION_TYPES

        types = reference_rows("violations", "TlcViolationType", [{"name": name} for name in TLC_VIOLATION_TYPES])
        post_migrate.connect(types, sender=self, weak=False, dispatch_uid="violations.tlc_violation_types")
