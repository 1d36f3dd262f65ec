"""The weekly close of SPEC §5: a week's trips become a TAXES charge and an EARNINGS receipt per
lease, paid through the waterfall, and every lease gets its DTR — end to end from a trips file."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connection

from batpay.errors import Conflict, InvalidInput
from batpay.periods import current_period
from leases import services as fleet_services
from leases.testing import FleetFactory
from ledger import services
from ledger.models import Category, ObligationBalance, Posting, Receipt
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport, EarningsClose
from statements.tests.trip_files import import_lines, worked_example

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)


def charge(lease, category, amount, ref, period=P1):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=lease.primary_driver,
        lease=lease,
        period=period,
    )


def close_week(period, actor=None):
    close_earnings(period=period, actor=actor)
    return generate_dtrs(period=period, actor=actor)


def category(dtr, name):
    return next(c for c in dtr.snapshot["categories"] if c["category"] == name)


def ledger_counts():
    return (Posting.objects.count(), ObligationBalance.objects.count(), Receipt.objects.count())


def test_the_worked_example_end_to_end_from_a_trips_file(fleet, make_user):
    lease = fleet.lease()
    batch = import_lines(worked_example(lease, P1))
    assert (batch.imported, batch.kept_for_review) == (40, 0)
    charge(lease, Category.EZPASS, "31.22", "EZP-TAG-0001-2025-09-30")
    charge(lease, Category.LEASE, "500.00", f"LEASE-{lease.lease_number}-2025-09-28")

    summary = close_earnings(period=P1, actor=make_user("Finance"))

    assert (summary.leases, summary.taxes, summary.earnings) == (1, D("191.25"), D("465.00"))
    taxes = ObligationBalance.objects.get(category="TAXES")
    assert (taxes.source_reference, taxes.original_amount) == (f"TAX-{lease.lease_number}-2025-09-28", D("191.25"))
    outstanding = dict(ObligationBalance.objects.values_list("category", "outstanding"))
    assert outstanding == {"TAXES": D("0.00"), "EZPASS": D("0.00"), "LEASE": D("257.47")}
    receipt = Receipt.objects.get(kind="EARNINGS")
    assert (receipt.amount, receipt.unapplied, receipt.driver_id) == (D("465.00"), D("0.00"), lease.primary_driver_id)

    dtrs = generate_dtrs(period=P1)
    dtr = DriverTransactionReport.objects.get(pk=dtrs.dtr_ids[0])
    s = dtr.snapshot
    assert dtr.dtr_number.startswith("DTR-") and len(dtr.dtr_number) == len("DTR-2025-000001")
    assert (s["card_earnings"], s["total_due_to_driver"]) == ("465.00", "0.00")
    assert [(c["category"], c["charges"], c["paid"], c["balance_carried_forward"]) for c in s["categories"][:3]] == [
        ("TAXES", "191.25", "191.25", "0.00"),
        ("EZPASS", "31.22", "31.22", "0.00"),
        ("LEASE", "500.00", "242.53", "257.47"),
    ]
    assert all(c["charges"] == "0.00" and not c["lines"] for c in s["categories"][3:])
    assert s["totals"] == {
        "prior_balance": "0.00",
        "charges": "722.47",
        "paid": "465.00",
        "paid_from_earnings": "465.00",
        "paid_other": "0.00",
        "payments_reversed": "0.00",
        "balance_carried_forward": "257.47",
    }
    assert (s["subtotal_of_deductions"], s["net"]) == ("722.47", "-257.47")
    assert s["trips"]["count"] == 40 and s["trips"]["card_count"] == 10 and s["trips"]["taxes_and_fees"] == "191.25"
    assert [line["source_reference"] for line in category(dtr, "TAXES")["lines"]] == [taxes.source_reference]
    assert (dtr.card_earnings, dtr.balance_carried_forward, dtr.total_due_to_driver) == (
        D("465.00"),
        D("257.47"),
        D("0.00"),
    )

    # The next week: no trips, the next lease charge; the 257.47 comes in as prior balance.
    charge(lease, Category.LEASE, "500.00", f"LEASE-{lease.lease_number}-2025-10-05", period=P2)
    close_week(P2)
    following = DriverTransactionReport.objects.get(period=P2)
    lease_p2 = category(following, "LEASE")
    assert (lease_p2["prior_balance"], lease_p2["charges"], lease_p2["paid"], lease_p2["balance_carried_forward"]) == (
        "257.47",
        "500.00",
        "0.00",
        "757.47",
    )
    assert following.snapshot["totals"]["prior_balance"] == "257.47"
    assert following.snapshot["total_due_to_driver"] == "0.00"
    assert following.dtr_number != dtr.dtr_number


def test_closing_a_week_twice_changes_nothing_and_dtrs_are_issued_once(fleet):
    lease = fleet.lease()
    import_lines(worked_example(lease, P1))
    charge(lease, Category.LEASE, "500.00", "LEASE-1")
    first = close_week(P1)
    before = ledger_counts()

    again = close_earnings(period=P1)
    dtrs_again = generate_dtrs(period=P1)

    assert again.already_closed and again.receipts == 0
    assert (first.generated, dtrs_again.generated) == (1, 0)
    assert ledger_counts() == before
    assert DriverTransactionReport.objects.count() == 1
    assert EarningsClose.objects.get().earnings == D("465.00")


def test_a_crash_while_applying_earnings_leaves_nothing_booked_and_the_rerun_completes(fleet, monkeypatch):
    lease = fleet.lease()
    import_lines(worked_example(lease, P1))
    charge(lease, Category.LEASE, "500.00", "LEASE-1")
    before = ledger_counts()

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "apply_earnings_bulk", crash)
    with pytest.raises(RuntimeError):
        close_earnings(period=P1)
    # The close had started (trips of the week are refused from then on) but booked nothing and
    # is not complete: no DTRs, no payouts yet.
    assert ledger_counts() == before
    assert EarningsClose.objects.get(period=P1).completed_at is None
    with pytest.raises(Conflict):
        generate_dtrs(period=P1)

    monkeypatch.undo()
    summary = close_earnings(period=P1)
    assert (summary.taxes, summary.earnings, summary.applied) == (D("191.25"), D("465.00"), D("465.00"))
    close = EarningsClose.objects.get(period=P1)
    assert close.completed_at is not None and (close.taxes, close.earnings) == (D("191.25"), D("465.00"))


def test_dtr_batches_commit_one_by_one_and_a_rerun_finishes_the_rest(fleet, monkeypatch):
    from statements import dtr as dtr_module

    leases = [fleet.lease() for _ in range(3)]
    close_earnings(period=P1)
    real_issue = dtr_module._issue
    calls = {"n": 0}

    def issue_then_crash(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real_issue(**kwargs)

    monkeypatch.setattr(dtr_module, "_issue", issue_then_crash)
    with pytest.raises(RuntimeError):
        generate_dtrs(period=P1, batch_size=1)
    assert list(DriverTransactionReport.objects.values_list("lease_id", flat=True)) == [leases[0].pk]

    monkeypatch.undo()
    rerun = generate_dtrs(period=P1, batch_size=1)
    assert rerun.generated == 2
    assert sorted(DriverTransactionReport.objects.values_list("lease_id", flat=True)) == [lease.pk for lease in leases]
    numbers = sorted(DriverTransactionReport.objects.values_list("dtr_number", flat=True))
    assert len(set(numbers)) == 3


def test_every_lease_in_force_gets_a_dtr_even_without_trips(fleet):
    driving, idle, cancelled = (fleet.lease() for _ in range(3))
    fleet_services.lease_update(actor=fleet.actor, lease=cancelled, changes={"status": "CANCELLED"})
    fleet.lease(start_date=dt.date(2025, 9, 1), end_date=dt.date(2025, 9, 20))  # ended before the week
    import_lines(worked_example(driving, P1))

    close_week(P1)

    issued = dict(DriverTransactionReport.objects.values_list("lease_id", "card_earnings"))
    assert issued == {driving.pk: D("465.00"), idle.pk: D("0.00")}


def test_dtrs_wait_for_the_weeks_earnings_and_a_week_closes_only_once_it_ended(fleet):
    fleet.lease()
    with pytest.raises(Conflict):
        generate_dtrs(period=P1)
    with pytest.raises(InvalidInput, match="not a Sunday"):
        close_earnings(period=dt.date(2025, 9, 29))
    with pytest.raises(InvalidInput, match="can be closed from the day after"):
        close_earnings(period=current_period())
    assert not DriverTransactionReport.objects.exists() and not EarningsClose.objects.exists()


@pytest.fixture
def eager_tasks(settings, tmp_path):
    """Tasks queued after commit run at once in this process (the PDFs land under tmp_path), so a
    test that commits never leaves messages in the developer's broker."""
    from celery import current_app

    from batpay.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    # Shared tasks run on the current app, which another test may have replaced with its own.
    previous, was = current_app._get_current_object(), app.conf.task_always_eager
    app.set_current()
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was
    previous.set_current()


def test_the_steps_run_in_the_sunday_close(transactional_db, make_user, eager_tasks):
    from operations.jobs import close_steps, weekly_close

    assert [step.name for step in close_steps()][-3:] == [
        "ledger.close_earnings",
        "ledger.generate_dtrs",
        "statements.render_dtr_pdfs",
    ]
    lease = FleetFactory(make_user("Finance")).lease()
    import_lines(worked_example(lease, P1))
    charge(lease, Category.EZPASS, "31.22", "EZP-1")
    # The week's 500.00 lease charge comes from the lease's schedule: the close posts it first.

    runs = weekly_close(period=P1, actor=make_user("Finance"))

    steps = {run.job: run for run in runs}
    earnings = steps["ledger.weekly_close.ledger.close_earnings"]
    dtrs = steps["ledger.weekly_close.ledger.generate_dtrs"]
    pdfs = steps["ledger.weekly_close.statements.render_dtr_pdfs"]
    assert (earnings.status, earnings.count, earnings.amount) == ("SUCCEEDED", 1, D("465.00"))
    assert earnings.details["taxes"] == "191.25"
    assert (dtrs.status, dtrs.count) == ("SUCCEEDED", 1)
    assert (pdfs.status, pdfs.count) == ("SUCCEEDED", 1)
    dtr = DriverTransactionReport.objects.get()
    assert (dtr.balance_carried_forward, dtr.total_due_to_driver) == (D("257.47"), D("0.00"))
    # The PDF was drawn by the close's last step.
    assert dtr.pdf.name == f"dtrs/2025/{dtr.dtr_number}.pdf" and dtr.pdf_rendered_at is not None


def test_two_concurrent_closes_book_the_week_once(transactional_db, make_user):

    lease = FleetFactory(make_user("Finance")).lease()
    import_lines(worked_example(lease, P1))
    results, errors = [], []

    def run():
        try:
            results.append(close_earnings(period=P1))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(r.already_closed for r in results) == [False, True]
    assert Receipt.objects.get().amount == D("465.00")
    assert ObligationBalance.objects.get().original_amount == D("191.25")
