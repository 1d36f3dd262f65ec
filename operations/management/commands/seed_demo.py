"""`manage.py seed_demo --leases N [--seed S] [--as-of DATE] [--history-weeks W] [--with-users]`: a demo fleet.

The fleet (see `operations.demo`) is deterministic for a seed and an as-of date. Each lease gets its
schedule, billed from the first week of its history (the demo goes live then), and the fleet lives
through W weeks (default 8) of history before the as-of date (`operations.demo_history`: repairs,
loans, trips, cashier payments, every week closed with its DTRs, a void); `--history-weeks 0`
leaves a bare fleet billed from the week of the as-of date. It only fills an
empty fleet: with any driver, vehicle, medallion or lease already on file the command refuses
rather than mixing demo rows into real ones. `--with-users` adds one user per role (finance,
cashier, manager, controller; password `demo-pass-1`), leaving existing users untouched; with
`--leases 0` it adds only the users. `--with-charges` also agrees a security deposit on each of the
first 100 active leases and enters misc charges and credits on the first ten.
"""

import datetime as dt
import sys
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from batpay.audit import AuditAction, audit
from batpay.roles import CASHIER, CONTROLLER, FINANCE, MANAGER
from charges.demo import seed_demo_charges
from deposits.demo import seed_demo_deposits
from lease_schedules.services import lease_schedules_adopt, lease_schedules_extend
from leases.models import Driver, Lease, Medallion, Vehicle
from operations import demo, demo_history
from tolls.demo import seed_demo_tolls
from violations.demo import seed_demo_violations

DEMO_PASSWORD = "demo-pass-1"
DEMO_USERS = {"finance": FINANCE, "cashier": CASHIER, "manager": MANAGER, "controller": CONTROLLER}


class OperationsAction(AuditAction):
    SEED_DEMO = "fleet.seed_demo"


class Command(BaseCommand):
    help = "Load a deterministic demo fleet into an empty database (and, with --with-users, one user per role)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leases", type=int, default=50, help="how many ACTIVE leases (default 50)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="date the lease dates count back from, YYYY-MM-DD (default today)",
        )
        parser.add_argument(
            "--history-weeks",
            type=int,
            default=demo_history.DEFAULT_WEEKS,
            help=f"weeks of history before the as-of date (default {demo_history.DEFAULT_WEEKS}; 0: none)",
        )
        parser.add_argument(
            "--no-violations", dest="violations", action="store_false",
            help="leave out the demo parking violations and TLC summonses (they put charges in the ledger)",
        )  # fmt: skip
        parser.add_argument("--with-users", action="store_true", help=f"add demo users, password {DEMO_PASSWORD!r}")
        parser.add_argument(
            "--no-tolls", action="store_true", help="leave out the week of E-ZPass tolls (charged in the ledger)"
        )
        parser.add_argument(
            "--no-charges", dest="charges", action="store_false",
            help="leave out the demo security deposits, misc charges and credits (ledger entries)",
        )  # fmt: skip

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        leases: int = options["leases"]
        if not 0 <= leases <= demo.MEDALLION_CAPACITY:
            raise CommandError(
                f"--leases must be between 0 and {demo.MEDALLION_CAPACITY}: each lease needs its own medallion "
                "and numbers like 2Y47 run out there."
            )
        weeks: int = options["history_weeks"]
        if not 0 <= weeks <= demo_history.MAX_WEEKS:
            raise CommandError(f"--history-weeks must be between 0 and {demo_history.MAX_WEEKS}.")
        if leases:
            self._ensure_empty_fleet()
            as_of = options["as_of"] or timezone.localdate()
            if weeks and as_of > timezone.localdate():
                raise CommandError("History is lived through the real services: --as-of cannot be in the future.")
            self._seed(leases=leases, seed=options["seed"], as_of=as_of, weeks=weeks, verbosity=options["verbosity"])
            # After the fleet's transaction: the imports and entries are durable transactions of their own.
            if not options["no_tolls"]:
                tolls = seed_demo_tolls(as_of=as_of, seed=options["seed"])
                self.stdout.write(f"{tolls.charges} E-ZPass tolls for the week before {as_of.isoformat()}.")
            if options["violations"]:
                seed_demo_violations(as_of=as_of, seed=options["seed"])
            if options["charges"]:
                self._charges()
        if options["with_users"]:
            self._users()
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"seed_demo finished in {elapsed:.2f} s."))

    def _ensure_empty_fleet(self) -> None:
        counts = {
            model._meta.verbose_name_plural: model.objects.count() for model in (Driver, Vehicle, Medallion, Lease)
        }
        if any(counts.values()):
            on_file = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
            raise CommandError(
                f"The fleet already has data ({on_file}). seed_demo only fills an empty fleet; "
                "use a fresh database (e.g. BATPAY_DB_NAME=demo) or --leases 0 for the users alone."
            )

    def _seed(self, *, leases: int, seed: int, as_of: dt.date, weeks: int, verbosity: int) -> None:
        fleet = demo.build_fleet(leases=leases, seed=seed, as_of=as_of)
        live_from = demo_history.history_periods(as_of=as_of, weeks=weeks)[0] if weeks else as_of
        with (
            tqdm(total=fleet.rows, unit="row", file=sys.stderr, disable=verbosity == 0, desc="seed_demo") as bar,
            transaction.atomic(),
        ):
            demo.insert_fleet(fleet, progress=bar.update)
            # The demo engine goes live in the first week of its history: earlier weeks were billed elsewhere.
            lease_schedules_adopt(billed_from=live_from, actor=None)
            installments = lease_schedules_extend(actor=None)
            audit(
                action=OperationsAction.SEED_DEMO,
                actor=None,
                payload={
                    "seed": seed,
                    "as_of": as_of.isoformat(),
                    "leases": leases,
                    "drivers": len(fleet.drivers),
                    "history_weeks": weeks,
                },
            )
        self.stdout.write(
            f"Seeded {len(fleet.leases)} leases, {len(fleet.drivers)} drivers, {len(fleet.vehicles)} vehicles "
            f"and {len(fleet.medallions)} medallions (seed {seed}, as of {as_of.isoformat()}); "
            f"{installments} lease installments scheduled from the week of {live_from.isoformat()}."
        )
        if weeks:
            self._history(fleet=fleet, seed=seed, as_of=as_of, weeks=weeks, verbosity=verbosity)

    def _history(self, *, fleet: demo.Fleet, seed: int, as_of: dt.date, weeks: int, verbosity: int) -> None:
        started = time.perf_counter()
        leases = list(
            Lease.objects.filter(pk__in=[lease.pk for lease in fleet.leases])
            .select_related("primary_driver", "medallion")
            .order_by("pk")
        )
        plan = demo_history.plan_history(leases=leases, seed=seed, as_of=as_of, weeks=weeks)
        with tqdm(total=weeks + 1, unit="step", file=sys.stderr, disable=verbosity == 0, desc="history") as bar:
            lived = demo_history.live_history(plan, leases=leases, progress=lambda step: bar.update())
        self.stdout.write(
            f"History: {lived.weeks} weeks closed ({plan.periods[0].isoformat()} to {plan.periods[-1].isoformat()}), "
            f"{lived.repairs} repairs, {lived.loans} loans, {lived.trips} trips, {lived.payments} cashier payments, "
            f"{lived.dtrs} DTRs, voided {lived.voided or 'nothing'} ({time.perf_counter() - started:.2f} s)."
        )

    def _charges(self) -> None:
        # Each deposit, charge and credit is its own durable write, after the fleet committed. They are
        # ledger entries, which are never deleted: an option, so the plain fleet can be wiped and reseeded.
        active = list(Lease.objects.filter(status=Lease.Status.ACTIVE).order_by("lease_number")[:100])
        deposits = seed_demo_deposits(leases=active)
        misc = seed_demo_charges(leases=active)
        self.stdout.write(
            f"{deposits} security deposits and {misc} misc charges and credits entered on the first leases."
        )

    def _users(self) -> None:
        User = get_user_model()
        for username, role in DEMO_USERS.items():
            if User.objects.filter(username=username).exists():
                self.stdout.write(f"User {username!r} exists; left as it is.")
                continue
            user = User.objects.create_user(username, f"{username}@example.com", DEMO_PASSWORD, is_staff=True)
            user.groups.add(Group.objects.get(name=role))
            self.stdout.write(f"Created user {username!r} ({role}) with password {DEMO_PASSWORD!r}.")
