"""The tolls API: the multipart import returning its report, lists with filters, ordering and exports,
reassignment and reversal through the ledger, and who may do what."""

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from batpay.testing import set_clock
from ledger.models import ObligationBalance
from tolls.imports import COLUMNS
from tolls.models import Toll
from tolls.services import tolls_post_due
from tolls.tests.toll_files import csv_bytes, import_lines, plate_of, toll

pytestmark = pytest.mark.django_db
TUESDAY = dt.datetime(2025, 9, 30, 8, 0)
W = dt.date(2025, 9, 28)


@pytest.fixture
def clock(monkeypatch):
    set_clock(monkeypatch, "2025-10-07T10:00:00-04:00")  # the week of the tolls is closed


def upload(client, lines, name="ezpass.csv", header=None):
    content = csv_bytes(lines, **({"header": header} if header else {}))
    return client.post("/api/tolls/imports/", {"file": SimpleUploadedFile(name, content, "text/csv")},
                       format="multipart")  # fmt: skip


def test_finance_imports_a_file_and_gets_its_report(fleet, finance, api_client_for, clock):
    lease = fleet.lease()
    api = api_client_for(finance)

    response = upload(
        api,
        [
            toll("A-1", plate_of(lease), TUESDAY, "($6.94)"),
            toll("A-2", plate_of(lease), TUESDAY, "($9.00)", entry="CRZ 60th St"),
            toll("A-3", "NY NOBODY1", TUESDAY, "($2.00)"),
            toll("A-4", plate_of(lease), TUESDAY, "(oops)"),
        ],
    )

    assert response.status_code == 201, response.content
    report = response.json()
    assert {k: report[k] for k in ("rows", "charges", "charged_amount", "excluded", "excluded_amount")} == {
        "rows": 4,
        "charges": 1,
        "charged_amount": "6.94",
        "excluded": 1,
        "excluded_amount": "9.00",
    }
    assert (report["unmatched"], report["invalid"], report["kept_for_review"]) == (1, 1, 2)
    assert not ObligationBalance.objects.exists()  # the import charges nothing: tolls.post_due does
    tolls_post_due(period=W)
    assert ObligationBalance.objects.get(category="EZPASS").source_reference == "A-1"
    rows = api.get("/api/tolls/kept-rows/", {"batch_id": report["id"]}).json()["results"]
    assert [(row["line_number"], row["lane_txn_id"]) for row in rows] == [(5, "A-4")]
    assert api.get(f"/api/tolls/imports/{report['id']}/").json()["charged_amount"] == "6.94"


def test_a_header_missing_a_column_is_a_400_naming_the_file(finance, api_client_for):
    header = ",".join(name for name in COLUMNS if name != "Time")
    response = upload(api_client_for(finance), ["1,2"], header=header)
    assert response.status_code == 400
    assert response.json()["fields"] == {"file": ["Columns: missing Time."]}


def test_lists_filter_order_and_export(fleet, finance, make_user, api_client_for, clock):
    lease, other = fleet.lease(), fleet.lease()
    import_lines(
        [
            toll("B-1", plate_of(lease), TUESDAY, "($6.94)"),
            toll("B-2", plate_of(other), TUESDAY, "($1.50)"),
            toll("B-3", plate_of(lease), TUESDAY + dt.timedelta(hours=1), "($12.00)"),
        ]
    )
    tolls_post_due(period=W)
    api = api_client_for(make_user("Manager"))

    listed = api.get("/api/tolls/", {"lease_id": lease.pk, "ordering": "-amount"}).json()["results"]
    assert [(t["lane_txn_id"], t["amount"], t["status"]) for t in listed] == [
        ("B-3", "12.00", "POSTED"),
        ("B-1", "6.94", "POSTED"),
    ]
    assert api.get("/api/tolls/", {"amount_min": "2.00", "amount_max": "7"}).json()["count"] == 1
    assert api.get("/api/tolls/", {"ordering": "driver"}).status_code == 400
    assert api.get("/api/tolls/", {"lease": lease.pk}).status_code == 400
    one = api.get(f"/api/tolls/{listed[0]['id']}/").json()
    assert one["description"] == "E-ZPass 09/30/2025 09:00:00 Verrazzano-Narrows (MTAB&T) $12.00"

    exported = api.get("/api/tolls/export", {"format": "csv", "lease_id": lease.pk})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.getvalue().decode())))
    assert sorted((row["Lane Txn ID"], row["Amount"]) for row in rows) == [("B-1", "6.94"), ("B-3", "12.00")]
    assert api.get("/api/tolls/export", {"format": "xlsx"}).status_code == 200
    assert api.post(f"/api/tolls/{listed[0]['id']}/reassign", {"lease_id": other.pk}).status_code == 403


def test_reassign_reverses_and_charges_again_with_the_reason(fleet, finance, api_client_for, clock):
    lease, other = fleet.lease(), fleet.lease()
    import_lines([toll("C-1", plate_of(lease), TUESDAY, "($6.94)"), toll("C-2", "NY LOST1", TUESDAY, "($3.00)")])
    tolls_post_due(period=W)
    api = api_client_for(finance)
    charged, lost = Toll.objects.get(lane_txn_id="C-1"), Toll.objects.get(lane_txn_id="C-2")

    short = api.post(f"/api/tolls/{charged.pk}/reassign", {"lease_id": other.pk, "reason": "short"}, format="json")
    assert short.status_code == 400 and "reason" in short.json()["fields"]
    wrong_driver = api.post(
        f"/api/tolls/{charged.pk}/reassign",
        {"lease_id": other.pk, "driver_id": lease.primary_driver_id, "reason": "Car swapped that day"},
        format="json",
    )
    assert wrong_driver.status_code == 400 and "driver_id" in wrong_driver.json()["fields"]

    moved = api.post(
        f"/api/tolls/{charged.pk}/reassign", {"lease_id": other.pk, "reason": "Car swapped that day"}, format="json"
    )
    found = api.post(f"/api/tolls/{lost.pk}/reassign", {"lease_id": lease.pk, "reason": "Dealer plate of A"},
                     format="json")  # fmt: skip
    again = api.post(
        f"/api/tolls/{charged.pk}/reassign", {"lease_id": other.pk, "reason": "Car swapped that day"}, format="json"
    )

    assert moved.status_code == 200, moved.content
    assert (moved.json()["source_reference"], moved.json()["lease_id"], moved.json()["attribution"]) == (
        "C-1/2",
        other.pk,
        "STAFF",
    )
    assert found.json()["status"] == "POSTED" and found.json()["lease_id"] == lease.pk
    assert again.status_code == 409
    balances = dict(ObligationBalance.objects.filter(category="EZPASS").values_list("source_reference", "outstanding"))
    assert balances == {"C-1": D("0.00"), "C-1/2": D("6.94"), "C-2": D("3.00")}
    assert api.post("/api/tolls/999999/reassign", {"lease_id": other.pk, "reason": "Nobody at all"},
                    format="json").status_code == 404  # fmt: skip
    call_command("check_ledger")


def test_a_controller_reverses_a_charge_and_finance_cannot(fleet, finance, make_user, api_client_for, clock):
    lease = fleet.lease()
    import_lines([toll("D-1", plate_of(lease), TUESDAY, "($6.94)"), toll("D-2", plate_of(lease), TUESDAY, "$1.00")])
    tolls_post_due(period=W)
    charged = Toll.objects.get(lane_txn_id="D-1")
    body = {"reason": "Agency took it back on appeal"}

    assert api_client_for(finance).post(f"/api/tolls/{charged.pk}/reverse", body, format="json").status_code == 403
    controller = api_client_for(make_user("Controller"))
    reversed_ = controller.post(f"/api/tolls/{charged.pk}/reverse", body, format="json")
    twice = controller.post(f"/api/tolls/{charged.pk}/reverse", body, format="json")

    assert reversed_.status_code == 200 and reversed_.json()["status"] == "REVERSED"
    assert twice.status_code == 409
    # The refund had paid 1.00 of the charge; reversing the charge gave it back as the lease's credit.
    assert ObligationBalance.objects.get(source_reference="D-1").outstanding == D("0.00")
    call_command("check_ledger")


def test_managers_view_but_do_not_import(make_user, api_client_for):
    manager = api_client_for(make_user("Manager"))
    assert manager.get("/api/tolls/imports/").status_code == 200
    assert upload(manager, []).status_code == 403
    cashier = api_client_for(make_user("Cashier"))
    assert cashier.get("/api/tolls/").status_code == 403


def test_a_reversed_toll_reassigned_later_is_charged_under_its_next_key(fleet, finance, make_user, api_client_for,
                                                                          clock):  # fmt: skip
    lease, other = fleet.lease(), fleet.lease()
    import_lines([toll("E-1", plate_of(lease), TUESDAY, "($6.94)"), toll("E-2", "NY LOST2", TUESDAY, "($3.00)")])
    tolls_post_due(period=W)
    charged, lost = Toll.objects.get(lane_txn_id="E-1"), Toll.objects.get(lane_txn_id="E-2")
    controller, api = api_client_for(make_user("Controller")), api_client_for(finance)
    for toll_ in (charged, lost):
        assert controller.post(f"/api/tolls/{toll_.pk}/reverse", {"reason": "Disputed with the agency"},
                               format="json").status_code == 200  # fmt: skip

    body = {"lease_id": other.pk, "reason": "Dispute lost: it was B's"}
    again = [api.post(f"/api/tolls/{toll_.pk}/reassign", body, format="json").json() for toll_ in (charged, lost)]

    assert [(t["source_reference"], t["status"], t["lease_id"]) for t in again] == [
        ("E-1/2", "POSTED", other.pk),
        ("E-2", "POSTED", other.pk),
    ]
    balances = dict(ObligationBalance.objects.values_list("source_reference", "outstanding"))
    assert balances == {"E-1": D("0.00"), "E-1/2": D("6.94"), "E-2": D("3.00")}
    call_command("check_ledger")
