"""A charge of week P posted while P's DTRs are being issued, on separate connections: it is
either on P's statement (effective in P) or late (effective today, on this week's statement) —
never dated in P but missing from an issued DTR."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connection

from ledger import services
from ledger.models import Category, ObligationBalance
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport
from statements.snapshots import build_snapshots

P = dt.date(2025, 9, 28)
FIGURES = ("categories", "totals", "subtotal_of_deductions")


@pytest.mark.django_db(transaction=True)
def test_charges_racing_the_dtrs_of_their_week_are_on_them_or_late(fleet):
    leases = [fleet.lease() for _ in range(12)]
    close_earnings(period=P)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def issue():
        try:
            start.wait()
            generate_dtrs(period=P, render=False, batch_size=2)
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def post():
        try:
            start.wait()
            for n, lease in enumerate(leases):
                services.create_obligation(
                    category=Category.MISC,
                    amount=D("10.00") + n,
                    source_reference=f"MISC-RACE-{n}",
                    driver=lease.primary_driver,
                    lease=lease,
                    period=P,
                )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue), threading.Thread(target=post)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    issued = {dtr.lease_id: dtr.snapshot for dtr in DriverTransactionReport.objects.filter(period=P)}
    assert set(issued) == {lease.pk for lease in leases}
    fresh = build_snapshots(period=P, lease_ids=list(issued))
    for lease_id, snapshot in issued.items():
        assert {k: snapshot[k] for k in FIGURES} == {k: fresh[lease_id][k] for k in FIGURES}
    for balance in ObligationBalance.objects.filter(category=Category.MISC).select_related("lease"):
        charge = balance.postings.get()
        misc = next(c for c in issued[balance.lease_id]["categories"] if c["category"] == "MISC")
        on_statement = [line["source_reference"] for line in misc["lines"]]
        if charge.effective_date == P:
            assert on_statement == [balance.source_reference]
        else:
            assert charge.effective_date > P + dt.timedelta(days=6) and on_statement == []
