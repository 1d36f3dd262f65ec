"""`manage.py bench ledger|…|all`: benchmarks on a fresh scratch database, figures printed.

The scratch database (`<name>_bench`) is created, migrated, used and dropped, so a benchmark
never touches real data and always starts from the same empty state.
"""

import importlib
import pkgutil
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from operations import bench
from operations.bench import BENCHMARKS, Report


def _load_benchmarks() -> None:
    """Import every module of operations.bench: each registers its benchmarks."""
    for module in pkgutil.iter_modules(bench.__path__):
        importlib.import_module(f"{bench.__name__}.{module.name}")


class Command(BaseCommand):
    help = "Run benchmarks on a scratch database and print their figures."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="+", help="benchmark names, or 'all'")
        parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes (quick runs)")
        parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
        parser.add_argument("--leases", type=int, help="fleet size, for the benchmarks that take one (default: theirs)")
        parser.add_argument(
            "--workers", type=int, nargs="+", default=[1, 2], help="worker processes to compare (default 1 2)"
        )
        parser.add_argument("--weeks", type=int, default=0, help="weeks of history before the measured week")
        parser.add_argument(
            "--no-pdfs",
            dest="pdfs",
            action="store_false",
            help="sunday_scale: measure the Sunday up to the close, without drawing the DTR PDFs",
        )

    def handle(self, *args, names, scale, keep, leases, workers, weeks, pdfs, **options):
        _load_benchmarks()
        chosen = sorted(BENCHMARKS) if names == ["all"] else names
        unknown = [name for name in chosen if name not in BENCHMARKS]
        if unknown:
            raise CommandError(f"Unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(sorted(BENCHMARKS))}.")
        if not 0 < scale <= 1:
            raise CommandError("--scale is a fraction in (0, 1].")
        if leases is not None and leases < 1:
            raise CommandError("--leases is a number of leases, 1 or more.")
        if any(count < 1 for count in workers):
            raise CommandError("--workers takes numbers of worker processes, each 1 or more.")
        if not 0 <= weeks <= 104:
            raise CommandError("--weeks is a number of weeks of history, from 0 to 104.")
        sizes = {"leases": leases, "workers": tuple(dict.fromkeys(workers)), "weeks": weeks, "pdfs": pdfs}
        original = connection.settings_dict["NAME"]
        for name in chosen:
            # Each benchmark gets a fresh scratch database of its own.
            connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{original}_bench"
            self.stdout.write(f"Creating scratch database {original}_bench …")
            connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
            try:
                heading = f"bench {name} (scale {scale:g}, {weeks} weeks of history)"
                self.stdout.write(self.style.MIGRATE_HEADING(heading))
                started = time.perf_counter()
                BENCHMARKS[name](Report(write=self.stdout.write, scale=scale, **sizes))
                self.stdout.write(f"  ({name} took {time.perf_counter() - started:.1f} s in all)")
            finally:
                if keep:
                    self.stdout.write(f"Kept scratch database {original}_bench.")
                else:
                    connection.creation.destroy_test_db(original, verbosity=0)
