from django.core.management.base import BaseCommand, CommandError

from ledger.invariants import CHECKS, violations
from ledger.models import ObligationBalance, Posting, Receipt


class Command(BaseCommand):
    help = "Verify the ledger invariants of SPEC §3 over the whole ledger; exit non-zero on any violation."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=50, help="violations shown per check")

    def handle(self, *args, limit: int, **options):
        found = violations(limit=limit, analyze=True)
        for line in found:
            self.stderr.write(self.style.ERROR(line))
        counts = (
            f"{Posting.objects.count()} postings, {ObligationBalance.objects.count()} balances, "
            f"{Receipt.objects.count()} receipts"
        )
        if found:
            raise CommandError(f"{len(found)} ledger invariant violation(s) over {counts}.")
        self.stdout.write(self.style.SUCCESS(f"Ledger sound: {len(CHECKS)} invariant checks passed over {counts}."))
