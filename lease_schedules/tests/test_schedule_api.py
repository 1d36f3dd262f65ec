"""The lease schedule and termination through the API and the admin: the same service, the same rules."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batpay.models import AuditEvent
from lease_schedules.models import LeaseInstallment
from leases.models import Lease
from ledger.selectors import obligation_balances
from operations.jobs import run_posting_job

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "fields"}
START = dt.date(2025, 9, 28)


def test_the_schedule_lists_every_week_with_totals(fleet, make_user, api_client_for):
    lease = fleet.lease(start_date=dt.date(2025, 10, 1), end_date=dt.date(2025, 10, 20), weekly_rate="500.00")
    cashier = api_client_for(make_user("Cashier"))

    response = cashier.get(f"/api/leases/{lease.pk}/schedule/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["lease_number"], body["schedule_id"], body["status"]) == (lease.lease_number,) * 2 + ("OPEN",)
    assert (body["start_week"], body["scheduled_through"]) == ("2025-09-28", "2025-10-19")
    assert [(item["period_start"], item["days"], item["amount"]) for item in body["installments"]] == [
        ("2025-09-28", 4, "285.71"),
        ("2025-10-05", 7, "500.00"),
        ("2025-10-12", 7, "500.00"),
        ("2025-10-19", 2, "142.86"),
    ]
    assert body["totals"] == {"SCHEDULED": "1428.57", "POSTED": "0.00", "PAID": "0.00", "CANCELLED": "0.00"}
    assert body["installments"][0]["installment_id"] == f"{lease.lease_number}-2025-09-28"


def test_the_schedule_needs_view_permission_and_a_lease(fleet, make_user, api_client_for):
    lease = fleet.lease()

    assert api_client_for(make_user()).get(f"/api/leases/{lease.pk}/schedule/").status_code == 403
    missing = api_client_for(make_user("Manager")).get("/api/leases/999999/schedule/")
    assert missing.status_code == 404 and set(missing.json()) == ERROR_KEYS


def test_finance_terminates_a_lease_with_a_fee(fleet, make_user, api_client_for):
    lease = fleet.lease(start_date=START, weekly_rate="500.00")
    finance = api_client_for(make_user("Finance"))
    body = {"termination_date": "2025-10-15", "reason": "Vehicle returned early", "cancellation_fee": "250.00"}

    refused = api_client_for(make_user("Manager")).post(f"/api/leases/{lease.pk}/terminate/", body, format="json")
    ended = finance.post(f"/api/leases/{lease.pk}/terminate/", body, format="json")
    again = finance.post(f"/api/leases/{lease.pk}/terminate/", body, format="json")

    assert refused.status_code == 403
    assert ended.status_code == 200, ended.content
    assert (ended.json()["status"], ended.json()["end_date"]) == ("TERMINATED", "2025-10-15")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    fee = obligation_balances(category="CANCELLATION_FEE", source_references=[lease.lease_number])
    assert fee[lease.lease_number].original_amount == Decimal("250.00")
    last = LeaseInstallment.objects.get(plan__lease=lease, period_start=dt.date(2025, 10, 12))
    assert (last.days, last.amount) == (4, Decimal("285.71"))
    assert AuditEvent.objects.get(action="lease.terminate").reason == "Vehicle returned early"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x"}, "termination_date"),
        ({"termination_date": "2025-10-15"}, "reason"),
        ({"termination_date": "2025-02-30", "reason": "x"}, "termination_date"),
        ({"termination_date": "2025-10-15", "reason": "x", "cancellation_fee": "-1"}, "cancellation_fee"),
        ({"termination_date": "2025-09-01", "reason": "x"}, "termination_date"),
    ],
)
def test_bad_termination_input_is_a_400_naming_the_field(fleet, admin_api, body, field):
    lease = fleet.lease(start_date=START)

    response = admin_api.post(f"/api/leases/{lease.pk}/terminate/", body, format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()) == ERROR_KEYS and field in response.json()["fields"]
    assert Lease.objects.get(pk=lease.pk).status == "ACTIVE"


json_values = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)


@given(body=st.dictionaries(st.sampled_from(["termination_date", "reason", "cancellation_fee"]), json_values))
def test_no_termination_input_gives_a_500(fleet, admin_api, body):
    lease = Lease.objects.filter(status="ACTIVE").first() or fleet.lease(start_date=START)

    response = admin_api.post(f"/api/leases/{lease.pk}/terminate/", json.dumps(body), content_type="application/json")

    assert response.status_code < 500
    if response.status_code >= 400:
        assert set(response.json()) == ERROR_KEYS


def test_the_admin_shows_the_schedule_and_terminates_through_the_service(client, make_user, fleet):
    lease = fleet.lease(start_date=START, weekly_rate="500.00")
    client.force_login(make_user(superuser=True))

    page = client.get(f"/admin/leases/lease/{lease.pk}/change/").content.decode()
    assert f"{lease.lease_number}-2025-09-28" in page and "Scheduled" in page

    changelist = "/admin/leases/lease/"
    asked = client.post(changelist, {"action": "terminate_leases", "_selected_action": [lease.pk]})
    assert asked.status_code == 200 and "Terminate leases early" in asked.content.decode()
    done = client.post(
        changelist,
        {
            "action": "terminate_leases",
            "_selected_action": [lease.pk],
            "apply": "yes",
            "termination_date": "2025-10-15",
            "reason": "Returned at the garage",
            "cancellation_fee": "100.00",
        },
    )

    assert done.status_code == 302
    lease.refresh_from_db()
    assert (lease.status, lease.end_date) == ("TERMINATED", dt.date(2025, 10, 15))
    assert obligation_balances(category="CANCELLATION_FEE", source_references=[lease.lease_number])
    refused = client.post(
        changelist,
        {
            "action": "terminate_leases",
            "_selected_action": [lease.pk],
            "apply": "yes",
            "termination_date": "2025-10-15",
            "reason": "Twice",
        },
        follow=True,
    )
    assert "only an ACTIVE or SUSPENDED lease can be terminated" in refused.content.decode()


def test_a_finance_user_without_change_permission_does_not_see_the_action(client, make_user, fleet):
    fleet.lease()
    manager = make_user("Manager")
    manager.is_staff = True
    manager.save()
    client.force_login(manager)

    page = client.get("/admin/leases/lease/").content.decode()

    assert "terminate_leases" not in page


def test_the_admin_form_shows_a_refused_schedule_change_on_its_field(client, make_user, fleet):
    lease = fleet.lease(start_date=START, end_date=dt.date(2025, 11, 1), weekly_rate="500.00")
    run_posting_job(source="leases", period=START + dt.timedelta(days=7))
    client.force_login(make_user(superuser=True))
    form = {
        "lease_type": lease.lease_type,
        "status": "ACTIVE",
        "primary_driver": lease.primary_driver_id,
        "vehicle": lease.vehicle_id,
        "medallion": lease.medallion_id,
        "start_date": "2025-09-28",
        "end_date": "2025-10-01",
        "weekly_rate": "500.00",
    }

    response = client.post(f"/admin/leases/lease/{lease.pk}/change/", form)

    assert response.status_code == 200
    assert "already charged" in str(response.context["adminform"].form.errors["end_date"])
    lease.refresh_from_db()
    assert lease.end_date == dt.date(2025, 11, 1)
