"""The violations API: the multipart import, entry by hand, reassignment, TLC summonses with their scan and
dispositions, exports, and who may do what."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batpay.testing import set_clock
from ledger.models import ObligationBalance
from violations.models import TlcViolationType, Violation
from violations.tests.files import csv_bytes, pvb

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    return set_clock(monkeypatch, "2025-10-03T12:00:00-04:00")


@pytest.fixture
def finance_api(finance, api_client_for):
    return api_client_for(finance)


def entry(plate: str, **values) -> dict:
    return {
        "summons_number": "4400000001",
        "plate": plate,
        "issue_date": "2025-10-01",
        "violation_time": "02:15P",
        "violation": "FIRE HYDRANT",
        "fine_amount": "115.00",
        **values,
    }


def test_import_through_the_api_answers_the_report(fleet, finance_api):
    lease = fleet.lease()
    body = csv_bytes(
        [
            pvb("4400000010", lease.vehicle.plate_number, "10/01/2025", "10:00A"),
            pvb("4400000011", lease.vehicle.plate_number, "10/01/2025", "25:00A"),
        ]
    )
    upload = SimpleUploadedFile("dof.csv", body, content_type="text/csv")
    answer = finance_api.post("/api/violations/imports/", {"file": upload}, format="multipart")
    assert answer.status_code == 201, answer.content
    report = answer.json()
    assert (report["rows"], report["new_summonses"], report["invalid"], report["charged"]) == (2, 1, 1, "66.63")
    assert report["kept_rows"][0]["line_number"] == 3 and "Violation Time" in report["kept_rows"][0]["reason"]
    missing = SimpleUploadedFile("bad.csv", b"Plate,State\nX,NY\n", content_type="text/csv")
    refused = finance_api.post("/api/violations/imports/", {"file": missing}, format="multipart")
    assert refused.status_code == 400 and "missing" in refused.json()["fields"]["file"][0]


def test_entry_by_hand_is_charged_like_a_file_row(fleet, finance_api):
    lease = fleet.lease()
    answer = finance_api.post("/api/violations/", entry(lease.vehicle.plate_number), format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["driver_id"], body["driver_total"], body["attributed_by"]) == (
        lease.primary_driver_id,
        "117.88",
        "PRIMARY",
    )
    assert [c["amount"] for c in body["charges"]] == ["117.88"]
    assert body["violated_at"] == "2025-10-01T14:15:00-04:00"
    again = finance_api.post("/api/violations/", entry(lease.vehicle.plate_number), format="json")
    assert again.status_code == 409
    bad = finance_api.post(
        "/api/violations/", entry("T1", summons_number="4400000002", violation_time="14:15P"), format="json"
    )
    assert bad.status_code == 400 and "violation_time" in bad.json()["fields"]
    exponent = finance_api.post(
        "/api/violations/", entry("T1", summons_number="4400000003", fine_amount="1e2"), format="json"
    )
    assert exponent.status_code == 400 and "fine_amount" in exponent.json()["fields"]


def test_a_summons_kept_for_review_is_reassigned_with_a_reason(fleet, finance_api, make_user, api_client_for):
    lease = fleet.lease()
    kept = finance_api.post("/api/violations/", entry("NOSUCH1"), format="json").json()
    assert kept["review"] == "NEEDS_REVIEW" and kept["charges"] == []
    path = f"/api/violations/{kept['id']}/reassign"
    short = finance_api.post(path, {"driver_id": lease.primary_driver_id, "lease_id": lease.pk, "reason": "no"})
    assert short.status_code == 400 and "reason" in short.json()["fields"]
    manager = api_client_for(make_user("Manager"))
    assert (
        manager.post(
            path, {"driver_id": lease.primary_driver_id, "lease_id": lease.pk, "reason": "Plate was misread"}
        ).status_code
        == 403
    )
    done = finance_api.post(
        path,
        {"driver_id": lease.primary_driver_id, "lease_id": lease.pk, "reason": "Plate was misread by the agent"},
        format="json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["review"] == "ATTRIBUTED" and [c["amount"] for c in done.json()["charges"]] == ["117.88"]
    assert ObligationBalance.objects.get(source_reference="PVB-4400000001-1").lease_id == lease.pk
    other = fleet.lease()
    wrong = finance_api.post(
        path,
        {"driver_id": other.primary_driver_id, "lease_id": lease.pk, "reason": "Plate was misread by the agent"},
        format="json",
    )
    assert wrong.status_code == 400 and "lease_id" in wrong.json()["fields"]


def test_lists_filter_order_and_export(fleet, finance_api, make_user, api_client_for):
    lease = fleet.lease()
    for n, fine in enumerate(("65.00", "115.00", "45.00")):
        finance_api.post(
            "/api/violations/",
            entry(lease.vehicle.plate_number, summons_number=f"44000001{n}", fine_amount=fine),
            format="json",
        )
    page = finance_api.get("/api/violations/", {"ordering": "-driver_total", "driver_total_min": "50"}).json()
    assert [row["driver_total"] for row in page["results"]] == ["117.88", "66.63"]
    assert finance_api.get("/api/violations/", {"lease": lease.pk}).status_code == 400
    manager = api_client_for(make_user("Manager"))
    export = manager.get("/api/violations/export", {"format": "csv", "review": "ATTRIBUTED"})
    assert export.status_code == 200 and export.getvalue().decode().count("\n") == 4
    assert manager.post("/api/violations/", entry("T1", summons_number="4400000099"), format="json").status_code == 403
    cashier = api_client_for(make_user("Cashier"))
    assert cashier.get("/api/violations/").status_code == 403


def test_tlc_summons_entry_with_its_scan_and_its_dispositions(fleet, finance_api, make_user, api_client_for):
    lease = fleet.lease()
    directive = TlcViolationType.objects.get(name="Directive")
    values = {
        "summons_number": "TLC-9".replace("-", ""),
        "driver_id": lease.primary_driver_id,
        "lease_id": lease.pk,
        "violation_type_id": directive.pk,
        "violation_date": "2025-10-01",
        "amount": "250.00",
    }
    not_a_scan = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    refused = finance_api.post("/api/tlc-summonses/", {**values, "document": not_a_scan}, format="multipart")
    assert refused.status_code == 400 and "document" in refused.json()["fields"]
    scan = SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")
    made = finance_api.post("/api/tlc-summonses/", {**values, "document": scan}, format="multipart")
    assert made.status_code == 201, made.content
    summons = made.json()
    assert (summons["disposition"], summons["owed"], summons["document"]) == ("PENDING", "0.00", True)
    path = f"/api/tlc-summonses/{summons['id']}/disposition"
    paid = finance_api.post(path, {"disposition": "PAID", "reason": "Guilty at the hearing"}, format="json")
    assert paid.status_code == 200 and paid.json()["owed"] == "275.00"
    too_much = finance_api.post(
        path, {"disposition": "REDUCED", "reduced_amount": "300.00", "reason": "Reduced on appeal"}, format="json"
    )
    assert too_much.status_code == 400 and "reduced_amount" in too_much.json()["fields"]
    dismissed = finance_api.post(path, {"disposition": "DISMISSED", "reason": "Dismissed on appeal"}, format="json")
    assert dismissed.json()["owed"] == "0.00"
    assert [c["voided_at"] is not None for c in dismissed.json()["charges"]] == [True]
    back = finance_api.post(path, {"disposition": "PAID", "reason": "Straight back to paid"}, format="json")
    assert back.status_code == 409 and back.json()["code"] == "invalid_transition"
    duplicate = finance_api.post("/api/tlc-summonses/", values, format="json")
    assert duplicate.status_code == 409
    manager = api_client_for(make_user("Manager"))
    assert manager.get("/api/tlc-summonses/export", {"format": "xlsx"}).status_code == 200
    assert manager.post(path, {"disposition": "PENDING", "reason": "Hearing reopened"}).status_code == 403
    assert finance_api.get("/api/tlc-violation-types/").json()["count"] == 5
    future = finance_api.post(
        "/api/tlc-summonses/", {**values, "summons_number": "TLC10", "violation_date": "2030-01-01"}, format="json"
    )
    assert future.status_code == 400 and "violation_date" in future.json()["fields"]


def test_a_tlc_summons_entered_paid_is_charged_at_once(fleet, finance_api):
    lease = fleet.lease()
    made = finance_api.post(
        "/api/tlc-summonses/",
        {
            "summons_number": "TLC11",
            "driver_id": lease.primary_driver_id,
            "lease_id": lease.pk,
            "violation_type_id": TlcViolationType.objects.get(name="Reinspection Fee").pk,
            "violation_date": "2025-09-29",
            "amount": "75.00",
            "disposition": "REDUCED",
            "reduced_amount": "40.00",
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    balance = ObligationBalance.objects.get(category="TLC", source_reference="TLC-TLC11-1")
    assert (balance.original_amount, balance.due_period) == (D("65.00"), dt.date(2025, 9, 28))
    assert Violation.objects.count() == 0


def test_a_controller_reverses_a_violation_s_charges(fleet, finance_api, make_user, api_client_for):
    lease = fleet.lease()
    made = finance_api.post("/api/violations/", entry(lease.vehicle.plate_number), format="json").json()
    path = f"/api/violations/{made['id']}/reverse"
    assert finance_api.post(path, {"reason": "Not this driver at all"}).status_code == 403
    controller = api_client_for(make_user("Controller"))
    done = controller.post(path, {"reason": "Not this driver at all"}, format="json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["review"] == "NEEDS_REVIEW" and body["driver_id"] is None
    assert [c["voided_at"] is not None for c in body["charges"]] == [True]
    assert ObligationBalance.objects.get(source_reference="PVB-4400000001-1").status == "CLOSED"
    assert controller.post(path, {"reason": "Not this driver at all"}, format="json").status_code == 409


def test_metrics_count_violations_by_review_and_summonses_by_disposition(fleet, finance_api, client):
    lease = fleet.lease()
    finance_api.post("/api/violations/", entry(lease.vehicle.plate_number), format="json")
    finance_api.post("/api/violations/", entry("NOSUCH1", summons_number="4400000002"), format="json")
    text = client.get("/metrics").content.decode()
    assert 'batpay_parking_violations{review="ATTRIBUTED"} 1.0' in text
    assert 'batpay_parking_violations{review="NEEDS_REVIEW"} 1.0' in text
    assert "batpay_parking_violations_owed_dollars 117.88" in text
    assert 'batpay_tlc_summonses{disposition="PENDING"} 0.0' in text
