"""A balance's driver, lease, vehicle and medallion: checked by the database once per statement
(migration 0011), as strictly as the foreign keys they replace."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import services
from ledger.arrays import pg_array
from ledger.models import ObligationBalance, Posting

P1 = dt.date(2025, 9, 28)


def row(lease, ref, **changes):
    fields = {
        "category": "REPAIRS",
        "source_reference": ref,
        "amount": D("125.50"),
        "driver_id": lease.primary_driver_id,
        "lease_id": lease.pk,
        "period": P1,
        "vehicle_id": lease.vehicle_id,
        "medallion_id": lease.medallion_id,
    }
    return services.ObligationRow(**{**fields, **changes})


@pytest.mark.parametrize("column", ["driver_id", "lease_id", "vehicle_id", "medallion_id"])
def test_a_charge_referring_to_a_missing_row_is_refused_and_nothing_is_posted(fleet, column):
    lease = fleet.lease()
    rows = [row(lease, "RPR-OK-1"), row(lease, "RPR-BAD-1", **{column: 987_654_321})]
    with pytest.raises(IntegrityError, match="missing row"), transaction.atomic():
        services.post_obligations(rows=rows)
    assert (ObligationBalance.objects.count(), Posting.objects.count()) == (0, 0)


def test_charges_without_vehicle_or_medallion_post_and_amounts_are_exact(fleet):
    lease, other = fleet.lease(), fleet.lease()
    posted = services.post_obligations(
        rows=[
            row(lease, "RPR-1", vehicle_id=None, medallion_id=None),
            row(other, "RPR-2", amount=D("0.01")),
            row(other, "RPR-3", amount="19.99"),
        ]
    )
    assert [(p.source_reference, p.amount) for p in posted] == [
        ("RPR-1", D("125.50")),
        ("RPR-2", D("0.01")),
        ("RPR-3", D("19.99")),
    ]
    balance = ObligationBalance.objects.get(source_reference="RPR-1")
    assert (balance.vehicle_id, balance.medallion_id, balance.outstanding) == (None, None, D("125.50"))


@pytest.mark.parametrize(
    "table, column",
    [
        ("leases_driver", "driver_id"),
        ("leases_lease", "lease_id"),
        ("leases_vehicle", "vehicle_id"),
        ("leases_medallion", "medallion_id"),
    ],
)
def test_a_row_a_balance_refers_to_cannot_be_deleted_or_renumbered(fleet, table, column):
    lease = fleet.lease()
    services.post_obligations(rows=[row(lease, "RPR-1")])
    referenced = getattr(ObligationBalance.objects.get(), column)
    for sql in (f"DELETE FROM {table} WHERE id = %s", f"UPDATE {table} SET id = id + 1000000 WHERE id = %s"):
        # The foreign keys of other tables are deferred: the balance's check speaks first.
        with pytest.raises(IntegrityError, match="still referred to"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, [referenced])
    assert ObligationBalance.objects.get().outstanding == D("125.50")


def test_changing_a_balance_reference_is_checked(fleet):
    lease, other = fleet.lease(), fleet.lease()
    services.post_obligations(rows=[row(lease, "RPR-1")])
    with pytest.raises(IntegrityError, match="missing"), transaction.atomic():
        ObligationBalance.objects.update(vehicle_id=987_654_321)
    ObligationBalance.objects.update(vehicle_id=other.vehicle_id)
    assert ObligationBalance.objects.get().vehicle_id == other.vehicle_id


def test_pg_array_writes_ints_decimals_and_dates_and_refuses_anything_else():
    assert pg_array([1, 2, 3]) == "{1,2,3}"
    assert pg_array([D("1.50"), D("0.01")]) == "{1.50,0.01}"
    assert pg_array([P1]) == "{2025-09-28}"
    assert pg_array([]) == "{}"
    for bad in (["1"], [1.5], [True], [None]):
        with pytest.raises(TypeError):
            pg_array(bad)
