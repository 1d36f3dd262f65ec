from django.apps import AppConfig


class StatementsConfig(AppConfig):
    name = "statements"
    verbose_name = "Statements"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from ledger.effective import REPORTED_PERIODS, ReportedPeriods
        from statements.close import close_earnings_step, generate_dtrs_step, register_close_step
        from statements.dtr import reported_periods
        from statements.review import register_review_queues

        # A charge due in a week whose DTRs are issued is late: the ledger dates it today.
        REPORTED_PERIODS.register("statements.dtr", ReportedPeriods(reported=reported_periods))

        # The Sunday run's close (SPEC §6): taxes and earnings first, then the DTRs that read them.
        # The names are those the job runs have carried since the close began (`ledger.…`).
        register_close_step("ledger.close_earnings", close_earnings_step, order=10, label="Taxes and card earnings")
        register_close_step("ledger.generate_dtrs", generate_dtrs_step, order=20, label="Generate the DTRs")

        # The dashboard's "waiting for review" figure (batpay.cockpit).
        register_review_queues()
