from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from batpay.jobs import register_close_step
        from ledger.weekly import close_earnings_step, generate_dtrs_step

        # The Sunday run's close (SPEC §6): taxes and earnings first, then the DTRs that read them.
        register_close_step("ledger.close_earnings", close_earnings_step, order=10)
        register_close_step("ledger.generate_dtrs", generate_dtrs_step, order=20)
