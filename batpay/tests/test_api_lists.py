"""Every list the URL resolver knows pages, orders by its allow-list only and refuses parameters it
does not read (SPEC §7; docs/rules.md, "API conventions"), over a world where every list has rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test.utils import override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from batpay.tests.test_api_conventions import LISTS, assert_names
from charges.models import MiscChargeType
from leases.testing import FleetFactory
from payouts.testing import payout_runs
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.tests.trip_files import import_lines, trip
from tolls.tests.toll_files import import_lines as import_tolls
from tolls.tests.toll_files import plate_of, toll
from violations.models import TlcViolationType
from violations.services import tlc_summons_create
from violations.tests.files import import_pvb, pvb

pytestmark = pytest.mark.django_db

MD5 = "django.contrib.auth.hashers.MD5PasswordHasher"

P1 = dt.date(2025, 9, 28)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def every_list_has_rows(django_db_setup, django_db_blocker) -> Iterator[None]:
    """At least two rows on every list: two leases, each with a confirmed repair (its first
    installment posted) and loan, a trips file with kept rows, and the week closed with its DTRs.

    Built once for the module and committed (each test still runs in a transaction rolled back
    after it); the database is flushed when the module ends (reference rows come back through
    their post_migrate receivers, as after any transactional test)."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=[MD5]):
        try:
            _build_every_list(*_world_actors())
            yield
        finally:
            call_command("flush", interactive=False, verbosity=0)


def _world_actors() -> tuple[FleetFactory, APIClient]:
    User = get_user_model()
    admin = User.objects.create_superuser("lists-world-admin", "lists-world@example.com", "pw-for-tests-1")
    finance = User.objects.create_user("lists-world-finance", "lists-world-finance@example.com", "pw-for-tests-1")
    finance.groups.add(Group.objects.get(name="Finance"))
    client = APIClient()
    _, token = AuthToken.objects.create(user=admin)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return FleetFactory(actor=finance), client


def _build_every_list(fleet: FleetFactory, admin_api: APIClient) -> None:
    monday = dt.datetime(2025, 9, 29, 8, 0)
    for n, lease in enumerate([fleet.lease(), fleet.lease()]):
        driver = {"driver_id": lease.primary_driver_id, "lease_id": lease.pk}
        repair = admin_api.post(
            "/api/repairs/",
            {**driver, "invoice_number": f"INV-{n}", "invoice_date": "2025-09-30", "workshop_type": "BIG_APPLE",
             "repair_amount": "600.00", "start_week": P1.isoformat()},
            format="json",
        ).json()["repair_id"]  # fmt: skip
        loan_body = {**driver, "loan_amount": "600.00", "interest_rate": "5", "start_week": "CURRENT"}
        loan = admin_api.post("/api/loans/", loan_body, format="json").json()["loan_id"]
        assert admin_api.post(f"/api/repairs/{repair}/confirm").status_code == 200
        assert admin_api.post(f"/api/loans/{loan}/confirm").status_code == 200
        posted = admin_api.post("/api/repairs/installments/post", {"installment_ids": [f"{repair}-01"]}, format="json")
        assert posted.status_code == 200, posted.json()
        credit = admin_api.post(
            "/api/ledger/interim-payments/",
            {**driver, "amount": "9000.00", "payment_method": "CASH"},  # more than any rent: credit is left
            format="json",
        ).json()["receipt"]["id"]
        refund = {"method": "CASH", "reference": f"V-{n}", "reason": "Paid back at the window", "amount": "1.00"}
        assert admin_api.post(f"/api/ledger/receipts/{credit}/refund", refund, format="json").status_code == 201
        misc = {**driver, "amount": "25.00", "note": "Seats"}
        charge = {**misc, "charge_type_id": MiscChargeType.objects.first().pk}
        assert admin_api.post("/api/misc-charges/", charge, format="json").status_code == 201
        assert admin_api.post("/api/misc-credits/", misc, format="json").status_code == 201
        deposit = {**driver, "deposit_amount": "300.00", "collection": "AT_ONCE"}
        assert admin_api.post("/api/deposits/", deposit, format="json").status_code == 201
        import_lines(
            [
                trip(f"T{n}-1", lease.primary_driver, lease.medallion, monday),
                trip(f"T{n}-2", lease.primary_driver, lease.medallion, monday + HOUR, payment_type="CASH"),
                trip(f"T{n}-3", "9999999", lease.medallion, monday + 2 * HOUR),  # nobody's: unmatched
                trip(f"T{n}-4", lease.primary_driver, lease.medallion, monday, fare="3e2"),  # bad data
            ],
            name=f"week-{n}.csv",
        )
        import_pvb([pvb(f"100000000{n}", lease.vehicle.plate_number, "09/30/2025", "10:05A")], name=f"dof-{n}.csv")
        tlc_summons_create(summons_number=f"TLC{n}", driver_id=lease.primary_driver_id, lease_id=lease.pk,
                           violation_type_id=TlcViolationType.objects.order_by("pk").first().pk,
                           violation_date=dt.date(2025, 9, 30), amount="100.00", disposition="PAID")  # fmt: skip
        import_tolls(
            [toll(f"Z{n}-1", plate_of(lease), monday, "($6.94)"), toll(f"Z{n}-2", plate_of(lease), monday, "(bad)")],
            name=f"ezpass-{n}.csv",
        )
    close_earnings(period=P1)
    generate_dtrs(period=P1, render=False)
    payout_runs(fleet=fleet, approver=fleet.actor, period=P1)


@pytest.mark.parametrize("endpoint", LISTS, ids=str)
def test_every_list_pages_orders_and_refuses_what_it_does_not_read(admin_api, every_list_has_rows, endpoint):
    path = endpoint.path

    # page_size: 1 to 1000 (more is served as 1000); anything else is a 400 naming it.
    first = admin_api.get(path, {"page_size": 1})
    assert first.status_code == 200, first.json()
    assert first.json()["count"] >= 2 and len(first.json()["results"]) == 1
    assert "page=2" in first.json()["next"]
    everything = admin_api.get(path, {"page_size": 5000}).json()
    assert len(everything["results"]) == everything["count"]
    for size in ("0", "-1", "ten", "1.5", "１"):
        assert_names(admin_api.get(path, {"page_size": size}), 400, "page_size")

    # ordering: every term of the allow-list both ways; anything else is a 400 naming `ordering`.
    assert endpoint.ordering_fields, f"{path} has no ordering allow-list"
    for field in endpoint.ordering_fields:
        for term in (field, f"-{field}"):
            response = admin_api.get(path, {"ordering": term})
            assert response.status_code == 200, (term, response.json())
            assert response.json()["count"] == everything["count"]
    for ordering in ("no_such_field", "-", "--id", f"{endpoint.ordering_fields[0]},password"):
        assert_names(admin_api.get(path, {"ordering": ordering}), 400, "ordering")

    # A parameter the list does not read is a 400 naming it (`lease` for `lease_id`).
    unknown = assert_names(admin_api.get(path, {"lease": "55"}), 400, "lease")
    assert list(unknown["fields"]) == ["lease"] and "lease" in unknown["message"]
    both = assert_names(admin_api.get(path, {"page_size": 1, "lease": "55", "sort": "id"}), 400, "lease", "sort")
    assert set(both["fields"]) == {"lease", "sort"}
