"""manage.py rotate_payout_keys

After a new key is put first in PAYOUT_ENCRYPTION_KEYS (the old ones after it), re-encrypt every
stored bank account number with it; then the old key can be removed. Safe to run again.
"""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from payouts.services import rotate_keys


class Command(BaseCommand):
    help = "Re-encrypt every stored bank account number with the current (first) payout key."

    def handle(self, *args, **options):
        bar = tqdm(desc="rotating", unit="row", disable=options["verbosity"] < 1, file=self.stderr._out)

        def progress(total: int, done: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            rows = rotate_keys(progress=progress)
        finally:
            bar.close()
        self.stdout.write(self.style.SUCCESS(f"{rows} account number(s) re-encrypted with the current key."))
