"""`manage.py bench payouts`: a payout run and its NACHA file for 10,000 drivers (budget 10 s).

A seed_demo fleet of 10,000 leases; every driver gets a bank account (two in three paid by ACH, the
rest by check), the week's LEASE charge and card earnings, a few of them less than the rent. The
week is closed; then the run is prepared (debts paid first from money due, one payout per driver),
approved (trace and check numbers, PAYOUT postings through the ledger) and its NACHA file built and
read back. The budget covers prepare + approve + NACHA file.
"""

from __future__ import annotations

import io
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from batpay.periods import last_closed_period, period_end
from leases.models import Driver, Lease
from ledger import services as ledger
from ledger.categories import Category
from operations.bench import BARE_FLEET, Report, benchmark
from payouts import crypto, nacha, services
from payouts.models import AccountType, BankAccount
from statements.close import close_earnings

CENT = Decimal("0.01")
ROUTINGS = ("021000021", "021000089", "026009593", "011000138")


@benchmark("payouts")
def bench_payouts(report: Report) -> None:
    drivers = report.n(10_000)
    period = last_closed_period()
    rng = random.Random(14)
    with report.timed("seed") as seeded:
        call_command(
            "seed_demo",
            leases=drivers,
            as_of=period_end(period),
            **BARE_FLEET,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    report.rate("fleet: seed_demo leases", drivers, seeded["seconds"])
    leases = list(Lease.objects.select_related("primary_driver").order_by("pk"))
    ach = {lease.primary_driver_id for lease in leases if rng.random() < 2 / 3}
    Driver.objects.filter(pk__in=ach).update(pay_to_mode=Driver.PayTo.ACH)
    Driver.objects.exclude(pk__in=ach).update(pay_to_mode=Driver.PayTo.CHECK)
    with report.timed("accounts") as accounts:
        BankAccount.objects.bulk_create(
            [
                BankAccount(
                    driver_id=driver_id,
                    routing_number=rng.choice(ROUTINGS),
                    account_number_encrypted=crypto.encrypt(number),
                    account_last4=number[-4:],
                    account_type=rng.choice(AccountType.values),
                )
                for driver_id in sorted(ach)
                for number in [f"{rng.randint(10**7, 10**12)}"]
            ],
            batch_size=2000,
        )
    report.rate("bank accounts encrypted and stored", len(ach), accounts["seconds"])
    rows = [
        ledger.ObligationRow(
            category=Category.LEASE,
            source_reference=f"BENCH-PAYOUT-{lease.pk}",
            amount=Decimal("400.00"),
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            period=period,
            description="Weekly lease",
        )
        for lease in leases
    ]
    ledger.post_obligations(rows=rows)
    ledger.apply_earnings_bulk(
        rows=[
            ledger.EarningsRow(
                driver_id=lease.primary_driver_id,
                lease_id=lease.pk,
                period=period,
                amount=Decimal(rng.randint(30_000, 200_000)) * CENT,
            )
            for lease in leases
        ]
    )
    close_earnings(period=period)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    checker = get_user_model().objects.create_user("bench-controller")

    with report.timed("prepare") as prepare:
        run, _ = services.prepare_run(period=period)
    report.rate("prepare_run: debts first, one payout per driver", run.payout_count, prepare["seconds"])
    report.line(
        "  payouts ACH / check / carried",
        f"{run.ach_count:,} ({run.ach_total:,}) / {run.check_count:,} ({run.check_total:,}) / {run.carried_count:,}",
    )
    with report.timed("approve") as approve:
        run = services.approve_run(run_id=run.pk, actor=checker)
    report.rate("approve_run: numbers, PAYOUT postings, statements paid", run.payout_count, approve["seconds"])
    with report.timed("nacha") as nacha_time:
        text = services.nacha_file(run)
    report.rate("NACHA file built (entries)", run.ach_count, nacha_time["seconds"])
    total = prepare["seconds"] + approve["seconds"] + nacha_time["seconds"]
    scaled = total * 10_000 / drivers
    report.line("prepare + approve + NACHA file", f"{total:.2f} s for {drivers:,} drivers")
    report.budget("budget: a run and its NACHA file for 10,000 drivers < 10 s", scaled < 10, f"{scaled:.1f} s")
    parsed = nacha.parse(text)
    if len(parsed.entries) != run.ach_count or parsed.total_credit != run.ach_total:
        raise RuntimeError("the NACHA file does not hold the run's ACH payouts")
    report.line("NACHA file read back and checked", f"{parsed.record_count:,} records, {parsed.block_count:,} blocks")
    with report.timed("csv") as csv_time:
        services.positive_pay_csv(run)
    report.rate("positive-pay CSV", run.check_count, csv_time["seconds"])
    call_command("check_ledger", stdout=io.StringIO())
    report.line("check_ledger", "sound")
