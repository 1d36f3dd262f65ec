from django.apps import AppConfig


class StatementsConfig(AppConfig):
    name = "statements"
    verbose_name = "Statements"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from ledger.effective import REPORTED_PERIODS, ReportedPeriods
        from statements.close import (
            DTR_SHARDS,
            EARNINGS_SHARDS,
            PDF_SHARDS,
            PDF_STEP,
            close_earnings_step,
            generate_dtrs_step,
            register_close_step,
            render_pdfs_step,
        )
        from statements.dtr import reported_periods
        from statements.review import register_review_queues

        # A charge due in a week whose DTRs are issued is late: the ledger dates it today.
        REPORTED_PERIODS.register("statements.dtr", ReportedPeriods(reported=reported_periods))

        # The Sunday run's close (SPEC §6): taxes and earnings first, then the DTRs that read them.
        # The names are those the job runs have carried since the close began (`ledger.…`).
        # Each runs in shards over ranges of leases on every worker (operations.shards); the PDFs
        # are drawn by the close itself, after the DTRs, not by tasks each DTR batch queues.
        register_close_step(
            "ledger.close_earnings",
            close_earnings_step,
            order=10,
            label="Taxes and card earnings",
            sharded=EARNINGS_SHARDS,
        )
        register_close_step(
            "ledger.generate_dtrs", generate_dtrs_step, order=20, label="Generate the DTRs", sharded=DTR_SHARDS
        )
        register_close_step(PDF_STEP, render_pdfs_step, order=30, label="Draw the DTR PDFs", sharded=PDF_SHARDS)

        # The dashboard's "waiting for review" figure (batpay.cockpit).
        register_review_queues()
