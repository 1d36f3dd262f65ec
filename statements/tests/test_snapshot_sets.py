"""DTR snapshots read set-based (issue 16): the same JSON as the builder that read each lease's whole
history (`snapshots_before`, the oracle), a shard of leases by id range, and a query count that
grows neither with the batch nor with the weeks of history."""

import datetime as dt
import random
import threading
from decimal import Decimal as D

import pytest
from django.db import connection
from django.utils import timezone

from batpay.errors import InvalidInput
from batpay.periods import WEEK, period_start
from ledger import services
from ledger.models import Category, Posting, Receipt
from statements.close import close_earnings
from statements.dtr import generate_dtrs, void_dtr
from statements.models import DriverTransactionReport as DTR
from statements.snapshots import build_snapshots
from statements.tests import snapshots_before

P1 = dt.date(2025, 9, 28)
WEEKS = [P1 + n * WEEK for n in range(4)]
CENT = D("0.01")


def _cents(rng: random.Random, lo: int, hi: int) -> D:
    return D(rng.randint(lo, hi)) * CENT


def live_weeks(fleet, rng: random.Random, *, leases: int, weeks: list[dt.date]) -> list:
    """A varied fleet lived through the real services: charges of several categories (some on an
    additional driver), card earnings too small or too large, cashier payments, prepayments,
    charge voids, payment voids that hand earnings back, a Controller's use of credit."""
    fleet_leases = []
    for n in range(leases):
        extra = fleet.driver() if n % 3 == 0 else None
        fleet_leases.append(fleet.lease(additional_driver_ids=[extra.pk] if extra else []))
    extras = {lease.pk: list(lease.additional_drivers.all()) for lease in fleet_leases}
    for week in weeks:
        rows = []
        for lease in fleet_leases:
            common = {"lease_id": lease.pk, "period": week}
            rows.append(
                services.ObligationRow(
                    category=Category.LEASE, source_reference=f"LEASE-{lease.pk}-{week}", amount=D("500.00"),
                    description="Weekly lease", driver_id=lease.primary_driver_id, **common,
                )
            )  # fmt: skip
            for category in (Category.EZPASS, Category.MISC, Category.REPAIRS, Category.DEPOSIT):
                if rng.random() < 0.4:
                    driver = rng.choice([lease.primary_driver, *extras[lease.pk]])
                    rows.append(
                        services.ObligationRow(
                            category=category, source_reference=f"{category}-{lease.pk}-{week}",
                            amount=_cents(rng, 500, 30000), description=f"{category.label} charge",
                            driver_id=driver.pk, **common,
                        )
                    )  # fmt: skip
        services.post_obligations(rows=rows)
        for lease in fleet_leases:
            if rng.random() < 0.3:
                services.apply_interim_payment(
                    driver=lease.primary_driver, lease=lease, amount=_cents(rng, 1000, 40000), method="CASH",
                    received_on=week + dt.timedelta(days=rng.randint(1, 5)),
                )  # fmt: skip
            if rng.random() < 0.15:
                services.record_prepayment(
                    driver=lease.primary_driver, lease=lease, amount=_cents(rng, 1000, 60000), method="CHECK",
                    received_on=week + dt.timedelta(days=2),
                )  # fmt: skip
        services.apply_earnings_bulk(
            rows=[
                services.EarningsRow(driver_id=driver.pk, lease_id=lease.pk, period=week, amount=_cents(rng, 0, 120000))
                for lease in fleet_leases
                for driver in [lease.primary_driver, *extras[lease.pk]]
                if rng.random() < 0.9
            ]
        )
    # Later corrections, effective today: a charge voided, payments voided (earnings handed back).
    charges = list(Posting.objects.filter(entry_type="DEBIT", receipt=None, reverses=None, status="POSTED"))
    for posting in rng.sample(charges, k=min(3, len(charges))):
        services.void_posting(posting=posting, reason="Charged to the wrong lease")
    payments = list(Posting.objects.filter(entry_type="CREDIT", reverses=None, status="POSTED").exclude(receipt=None))
    for posting in rng.sample(payments, k=min(3, len(payments))):
        if Posting.objects.filter(pk=posting.pk, status="POSTED").exists():
            services.void_posting(posting=posting, reason="Payment entered twice")
    credit = Receipt.objects.filter(unapplied__gt=0).order_by("pk").first()
    if credit is not None:
        open_balance = (
            credit.driver.obligations.filter(status="OPEN").exclude(category=Category.TAXES).order_by("pk").first()
        )
        if open_balance is not None:
            services.apply_credit(receipt_id=credit.pk, balance_id=open_balance.pk, reason="Controller applied it")
    return fleet_leases


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_set_based_snapshots_equal_the_whole_history_builder(fleet, seed):
    leases = live_weeks(fleet, random.Random(seed), leases=7, weeks=WEEKS)
    ids = [lease.pk for lease in leases]
    for period in [*WEEKS, period_start(timezone.localdate())]:
        new = build_snapshots(period=period, lease_ids=ids)
        old = snapshots_before.build_snapshots(period=period, lease_ids=ids)
        assert new == old, period
    lines = sum(len(c["lines"]) for s in new.values() for c in s["categories"])
    assert lines > 0


def test_a_shard_issues_only_its_leases_and_two_shards_make_one_run(fleet):
    leases = live_weeks(fleet, random.Random(7), leases=6, weeks=WEEKS[:2])
    ids = sorted(lease.pk for lease in leases)
    close_earnings(period=WEEKS[1])

    first = generate_dtrs(period=WEEKS[1], lease_range=(ids[0], ids[2]), render=False)
    assert sorted(DTR.objects.values_list("lease_id", flat=True)) == ids[:3]
    second = generate_dtrs(period=WEEKS[1], lease_range=(ids[3], ids[-1] + 1000), render=False)
    again = generate_dtrs(period=WEEKS[1], render=False)

    assert (first.generated, second.generated, again.generated) == (3, 3, 0)
    issued = {dtr.lease_id: dtr for dtr in DTR.objects.all()}
    whole = build_snapshots(period=WEEKS[1], lease_ids=ids)
    assert {lease_id: dtr.snapshot for lease_id, dtr in issued.items()} == whole
    assert first.card_earnings + second.card_earnings == sum(D(s["card_earnings"]) for s in whole.values())
    for dtr in issued.values():
        snapshot = dtr.snapshot
        assert (dtr.card_earnings, dtr.total_due_to_driver, dtr.balance_carried_forward) == (
            D(snapshot["card_earnings"]),
            D(snapshot["total_due_to_driver"]),
            D(snapshot["totals"]["balance_carried_forward"]),
        )
        assert (dtr.driver_id, dtr.version, dtr.status, dtr.generated_at is not None) == (
            snapshot["driver"]["id"], 1, "ISSUED", True,
        )  # fmt: skip
    year = timezone.localdate().year
    assert sorted(dtr.dtr_number for dtr in issued.values()) == [f"DTR-{year}-{n:06d}" for n in range(1, 7)]

    voided, replacement = void_dtr(dtr_number=issued[ids[4]].dtr_number, reason="Reissued for the audit")
    assert (replacement.version, replacement.supersedes_id, replacement.dtr_number) == (
        2, voided.pk, f"DTR-{year}-000007",
    )  # fmt: skip
    assert replacement.snapshot == whole[ids[4]]


def test_a_lease_range_must_be_two_ids_in_order(fleet):
    fleet.lease()
    close_earnings(period=P1)
    for bad in ((5, 1), ("a", 2), (1,)):
        with pytest.raises(InvalidInput):
            generate_dtrs(period=P1, lease_range=bad, render=False)
    assert not DTR.objects.exists()


@pytest.mark.parametrize(("leases", "weeks"), [(2, 1), (9, 4)])
def test_queries_per_batch_grow_neither_with_leases_nor_with_history(
    fleet, django_assert_max_num_queries, leases, weeks
):
    fleet_leases = live_weeks(fleet, random.Random(11), leases=leases, weeks=WEEKS[:weeks])
    period = WEEKS[weeks - 1]
    close_earnings(period=period)

    # The same count for 2 leases a week deep and 9 leases four weeks deep: the run's reads (period
    # closed, leases due, those issued), then the batch's — its first-DTR check and lock, those
    # taken, seven reads of the snapshots, the write lock, the check again, the numbers, the ids and
    # the audit row (the COPY is not counted).
    with django_assert_max_num_queries(21):
        summary = generate_dtrs(period=period, render=False)
    assert summary.generated == leases
    with django_assert_max_num_queries(8):
        build_snapshots(period=period, lease_ids=[lease.pk for lease in fleet_leases])


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_issue_each_lease_once_with_gap_free_numbers(fleet):
    leases = [fleet.lease() for _ in range(7)]
    ids = sorted(lease.pk for lease in leases)
    close_earnings(period=P1)
    # The period's first DTR: the runs below need not wait for the period's lock, only for each
    # other's turn to write.
    generate_dtrs(period=P1, lease_range=(ids[0], ids[0]), render=False)
    start = threading.Barrier(2)
    summaries, errors = [], []

    def run():
        try:
            start.wait()
            summaries.append(generate_dtrs(period=P1, render=False, batch_size=2))
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(summary.generated for summary in summaries) == 6
    assert sorted(DTR.objects.values_list("lease_id", flat=True)) == ids
    year = timezone.localdate().year
    assert sorted(DTR.objects.values_list("dtr_number", flat=True)) == [f"DTR-{year}-{n:06d}" for n in range(1, 8)]
