from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ChargesConfig(AppConfig):
    name = "charges"
    verbose_name = "Miscellaneous charges and credits"

    def ready(self) -> None:
        from batpay.reference import reference_rows
        from charges import metrics  # noqa: F401  (registers the metrics collector)
        from charges.models import MISC_CHARGE_TYPES

        types = reference_rows(
            "charges",
            "MiscChargeType",
            [{"name": name, "description": description} for name, description in MISC_CHARGE_TYPES],
        )
        post_migrate.connect(types, sender=self, weak=False, dispatch_uid="charges.misc_charge_types")
