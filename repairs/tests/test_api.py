import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from ledger import services as ledger
from repairs import services
from repairs.models import RepairInvoice

from .conftest import P1

P2 = P1 + dt.timedelta(days=7)


@pytest.fixture
def api(finance, api_client_for):
    return api_client_for(finance)


def body(lease, **overrides):
    data = {
        "driver_id": lease.primary_driver_id,
        "lease_id": lease.pk,
        "vehicle_id": lease.vehicle_id,
        "medallion_id": lease.medallion_id,
        "invoice_number": "BA-2025-0931",
        "invoice_date": "2025-09-30",
        "workshop_type": "BIG_APPLE",
        "repair_description": "Replace front bumper",
        "repair_amount": "1200.00",
        "start_week": "2025-09-28",
    }
    data.update(overrides)
    return data


def test_create_retrieve_confirm(api, fleet):
    lease = fleet.lease()
    response = api.post("/api/repairs/", body(lease), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    repair_id = data["repair_id"]
    assert data["status"] == "DRAFT"
    assert data["weekly_installment_amount"] == "250.00"
    assert (data["total_paid"], data["outstanding_balance"]) == ("0.00", "1200.00")
    assert [i["amount"] for i in data["installments"]] == ["250.00"] * 4 + ["200.00"]
    assert data["installments"][0] == {
        "installment_id": f"{repair_id}-01",
        "repair_id": repair_id,
        "sequence": 1,
        "period_start": "2025-09-28",
        "period_end": "2025-10-04",
        "amount": "250.00",
        "status": "SCHEDULED",
        "posting_reference": None,
        "posted_at": None,
    }
    assert api.get(f"/api/repairs/{repair_id}/").json()["repair_id"] == repair_id

    response = api.post(f"/api/repairs/{repair_id}/confirm")
    assert response.status_code == 200 and response.json()["status"] == "OPEN"
    response = api.post(f"/api/repairs/{repair_id}/confirm/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"

    installments = api.get(f"/api/repairs/{repair_id}/installments").json()
    assert [i["installment_id"] for i in installments] == [f"{repair_id}-0{k}" for k in range(1, 6)]
    assert api.get("/api/repairs/RPR-1999-001/").status_code == 404


def test_numbers_are_accepted_as_json_numbers(api, fleet):
    response = api.post(
        "/api/repairs/",
        json.dumps(body(fleet.lease(), repair_amount=450.5, start_week="NEXT")),
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["repair_amount"] == "450.50"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"repair_amount": "0"}, "repair_amount"),
        ({"repair_amount": "-10.00"}, "repair_amount"),
        ({"repair_amount": "10.005"}, "repair_amount"),
        ({"invoice_date": "2999-01-01"}, "invoice_date"),
        ({"start_week": "2025-10-01"}, "start_week"),
        ({"start_week": "SOON"}, "start_week"),
        ({"driver_id": 987654}, "driver_id"),
        ({"workshop_type": "GARAGE"}, "workshop_type"),
        ({"invoice_number": ""}, "invoice_number"),
        ({"lease_id": "abc"}, "lease_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, fleet, overrides, field):
    response = api.post("/api/repairs/", body(fleet.lease(), **overrides), format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert not RepairInvoice.objects.exists()


def test_invoice_date_today_is_fine_but_tomorrow_is_not(api, fleet):
    today = timezone.localdate()
    lease = fleet.lease()
    assert api.post("/api/repairs/", body(lease, invoice_date=today.isoformat()), format="json").status_code == 201
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    response = api.post("/api/repairs/", body(lease, invoice_number="N2", invoice_date=tomorrow), format="json")
    assert response.status_code == 400 and "invoice_date" in response.json()["fields"]


def test_a_lease_not_of_that_driver_is_a_400(api, fleet):
    lease, other = fleet.lease(), fleet.lease()
    response = api.post("/api/repairs/", body(lease, driver_id=other.primary_driver_id), format="json")
    assert response.status_code == 400
    assert "lease_id" in response.json()["fields"]


def test_duplicate_invoice_is_a_409(api, fleet):
    lease = fleet.lease()
    assert api.post("/api/repairs/", body(lease), format="json").status_code == 201
    response = api.post("/api/repairs/", body(lease, invoice_number="ba-2025-0931"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_invoice"
    assert "invoice_number" in response.json()["fields"]


def test_patch_while_draft_rebuilds_then_amounts_freeze(api, fleet):
    repair_id = api.post("/api/repairs/", body(fleet.lease()), format="json").json()["repair_id"]
    response = api.patch(f"/api/repairs/{repair_id}/", {"repair_amount": "300.00"}, format="json")
    assert response.status_code == 200
    assert [i["amount"] for i in response.json()["installments"]] == ["100.00"] * 3
    api.post(f"/api/repairs/{repair_id}/confirm")
    response = api.patch(f"/api/repairs/{repair_id}/", {"repair_amount": "500.00"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "repair_amount" in response.json()["fields"]
    response = api.patch(f"/api/repairs/{repair_id}", {"repair_description": "Bumper and grille"}, format="json")
    assert response.status_code == 200 and response.json()["repair_description"] == "Bumper and grille"
    assert api.put(f"/api/repairs/{repair_id}/", body(fleet.lease()), format="json").status_code == 405


def test_status_changes_and_their_refusals(api, make_repair):
    invoice = make_repair()
    url = f"/api/repairs/{invoice.repair_id}/status"
    assert api.post(url, {"status": "HOLD"}, format="json").status_code == 400  # a reason is required
    response = api.post(url, {"status": "HOLD", "reason": "driver disputes"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "HOLD"
    assert api.post(url, {"status": "HOLD", "reason": "again"}, format="json").status_code == 409
    assert api.post(url, {"status": "CLOSED", "reason": "paid"}, format="json").status_code == 400
    assert api.post(url, {"status": "OPEN"}, format="json").json()["status"] == "OPEN"
    api.post("/api/repairs/installments/post", {"installment_ids": [f"{invoice.repair_id}-01"]}, format="json")
    response = api.post(url, {"status": "CANCELLED", "reason": "entered by mistake"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_manual_post_and_posting_twice(api, make_repair):
    invoice = make_repair("450.00")
    ids = [f"{invoice.repair_id}-01", f"{invoice.repair_id}-02"]
    response = api.post("/api/repairs/installments/post", {"installment_ids": ids}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["posted"] == 2 and response.json()["amount"] == "200.00"
    assert {i["status"] for i in response.json()["installments"]} == {"POSTED"}
    response = api.post("/api/repairs/installments/post/", {"installment_ids": ids[:1]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_posted"
    response = api.post("/api/repairs/installments/post", {"installment_ids": []}, format="json")
    assert response.status_code == 400 and "installment_ids" in response.json()["fields"]


def test_installment_lists_and_unposted(api, make_repair, fleet):
    lease = fleet.lease()
    a = make_repair("300.00", lease=lease)
    make_repair("200.00")
    make_repair("200.00", confirm=False)
    services.repair_installments_post_due(period=P1)
    everything = api.get("/api/repairs/installments/").json()
    assert everything["count"] == 5
    unposted = api.get("/api/repairs/installments/unposted", {"driver_id": lease.primary_driver_id}).json()
    assert [i["installment_id"] for i in unposted["results"]] == [f"{a.repair_id}-02", f"{a.repair_id}-03"]
    by_vehicle = api.get(
        "/api/repairs/installments/unposted", {"vehicle_id": lease.vehicle_id, "period_after": P2.isoformat()}
    ).json()
    assert by_vehicle["count"] == 2
    posted = api.get("/api/repairs/installments/", {"status": "POSTED", "ordering": "-amount"}).json()
    assert [i["amount"] for i in posted["results"]] == ["200.00", "100.00"]
    # Off the allow-list: a 400 naming the parameter (it used to be ignored silently).
    refused = api.get("/api/repairs/installments/", {"ordering": "driver"})
    assert refused.status_code == 400
    assert "ordering" in refused.json()["fields"]
    assert api.get("/api/repairs/installments/", {"period_after": "soon"}).status_code == 400


def test_list_filters_search_and_ordering(api, make_repair, fleet):
    lease = fleet.lease()
    a = make_repair("1200.00", lease=lease, invoice_number="WS-ALPHA")
    b = make_repair("300.00", lease=lease, invoice_number="WS-BETA", workshop_type="EXTERNAL")
    c = make_repair("5000.00", confirm=False, invoice_date=dt.date(2025, 8, 1))

    def ids(**params):
        response = api.get("/api/repairs/", params)
        assert response.status_code == 200, response.json()
        return [r["repair_id"] for r in response.json()["results"]]

    assert set(ids(driver_id=lease.primary_driver_id)) == {a.repair_id, b.repair_id}
    assert ids(workshop_type="EXTERNAL") == [b.repair_id]
    assert ids(status="DRAFT") == [c.repair_id]
    assert ids(invoice_date_before="2025-08-31") == [c.repair_id]
    assert ids(repair_amount_min="1000", repair_amount_max="2000") == [a.repair_id]
    # Search matches the beginning of a repair id or an invoice number, in any case.
    assert ids(search="ws-b") == [b.repair_id]
    assert set(ids(search="WS-")) == {a.repair_id, b.repair_id}
    assert ids(search=a.repair_id.lower()) == [a.repair_id]
    assert ids(search="beta") == []
    assert ids(ordering="repair_amount") == [b.repair_id, a.repair_id, c.repair_id]
    assert ids(ordering="-invoice_date,repair_id")[-1] == c.repair_id
    assert ids(vehicle_id=lease.vehicle_id, medallion_id=lease.medallion_id, lease_id=lease.pk) == [
        b.repair_id,
        a.repair_id,
    ]
    assert api.get("/api/repairs/", {"driver_id": "x"}).status_code == 400


def test_list_query_count_is_constant(api, make_repair, django_assert_max_num_queries):
    for _ in range(3):
        make_repair("1200.00")
    services.repair_installments_post_due(period=P2)
    with django_assert_max_num_queries(8) as small:
        api.get("/api/repairs/")
    for _ in range(12):
        make_repair("3000.00")
    with django_assert_max_num_queries(8) as large:
        data = api.get("/api/repairs/", {"page_size": 100}).json()
    assert data["count"] == 15
    assert len(small.captured_queries) == len(large.captured_queries)


def test_totals_and_statistics_to_the_cent(api, make_repair, fleet, finance):
    lease = fleet.lease()
    a = make_repair("1200.00", lease=lease)  # 250 ×4 + 200
    b = make_repair("333.33", lease=lease)  # 100 ×3 + 33.33
    make_repair("99.99")  # other driver: 99.99
    draft = make_repair("700.00", confirm=False)
    cancelled = make_repair("150.00")
    services.repair_change_status(repair_id=cancelled.repair_id, status="CANCELLED", reason="duplicate", actor=finance)
    services.repair_installments_post_due(period=P2)  # a: 500 posted, b: 200 posted, 99.99 posted
    # Earnings of P2 pay the driver's open repairs, oldest due first, creation order within a period:
    # a-01 250, b-01 100, then 62.34 of a-02.
    ledger.apply_earnings(driver=lease.primary_driver, lease=lease, period=P2, amount=D("412.34"), actor=finance)

    detail = api.get(f"/api/repairs/{a.repair_id}/").json()
    assert (detail["total_paid"], detail["outstanding_balance"]) == ("312.34", "887.66")
    detail = api.get(f"/api/repairs/{b.repair_id}/").json()
    assert (detail["total_paid"], detail["outstanding_balance"]) == ("100.00", "233.33")

    stats = api.get("/api/repairs/statistics").json()
    assert stats["count"] == 5
    assert stats["count_by_status"] == {"DRAFT": 1, "OPEN": 3, "HOLD": 0, "CLOSED": 0, "CANCELLED": 1}
    assert stats["total_amount"] == "1633.32"
    assert stats["total_paid"] == "412.34"
    assert stats["total_outstanding"] == "1220.98"
    assert stats["average_amount"] == "544.44"
    assert stats["average_weekly_installment"] == "150.00"  # (250 + 100 + 99.99) / 3 = 149.9966…
    assert stats["installments_by_status"] == {"SCHEDULED": 9, "POSTED": 3, "PAID": 2, "CANCELLED": 1}

    mine = api.get("/api/repairs/statistics", {"driver_id": lease.primary_driver_id}).json()
    assert (mine["count"], mine["total_amount"], mine["total_paid"]) == (2, "1533.33", "412.34")
    by_lease = api.get("/api/repairs/statistics", {"lease_id": draft.lease_id}).json()
    assert (by_lease["count_by_status"]["DRAFT"], by_lease["total_amount"]) == (1, "0.00")
    dated = api.get("/api/repairs/statistics", {"invoice_date_after": "2025-10-01"}).json()
    assert dated["count"] == 0


def test_exports_parse_in_every_format(api, make_repair):
    make_repair("1200.00", invoice_number="EXP-1")
    make_repair("99.99", invoice_number="EXP-2", workshop_type="EXTERNAL")

    response = api.get("/api/repairs/export", {"format": "xlsx", "ordering": "repair_amount"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    amount = header.index("Repair amount")
    assert [row[amount] for row in rows[1:]] == [99.99, 1200, 1299.99]  # the last is the totals row
    assert rows[-1][0] == "Total" and rows[1][header.index("Workshop")] == "External workshop"
    assert all(isinstance(row[amount], int | float) for row in rows[1:])
    assert isinstance(rows[1][header.index("Invoice date")], dt.datetime)

    response = api.get("/api/repairs/export", {"format": "csv", "workshop_type": "EXTERNAL"})
    records = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [(r["Invoice number"], r["Repair amount"]) for r in records] == [("EXP-2", "99.99")]

    records = json.loads(api.get("/api/repairs/export", {"format": "json"}).getvalue())
    assert {r["Invoice number"]: r["Outstanding"] for r in records} == {"EXP-1": "1200.00", "EXP-2": "99.99"}

    response = api.get("/api/repairs/export", {"format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.getvalue())).pages)
    assert "EXP-1" in text and "Repair invoices" in text

    response = api.get("/api/repairs/installments/export", {"format": "xlsx", "status": "SCHEDULED"})
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 6 + 1
    assert sum(D(str(row[rows[0].index("Amount")])) for row in rows[1:-1]) == D("1299.99")
    assert D(str(rows[-1][rows[0].index("Amount")])) == D("1299.99")
    response = api.get("/api/repairs/installments/export", {"format": "csv"})
    assert len(list(csv.reader(io.StringIO(response.getvalue().decode())))) == 7

    response = api.get("/api/repairs/export", {"format": "xml"})
    assert response.status_code == 400 and "format" in response.json()["fields"]


def test_permissions_by_role(make_user, api_client_for, fleet, make_repair):
    invoice = make_repair()
    manager = api_client_for(make_user("Manager"))
    assert manager.post("/api/repairs/", body(fleet.lease()), format="json").status_code == 403
    assert manager.get("/api/repairs/").status_code == 200
    assert manager.get(f"/api/repairs/{invoice.repair_id}/").status_code == 200
    assert manager.get("/api/repairs/export", {"format": "csv"}).status_code == 200
    assert manager.get("/api/repairs/installments/export", {"format": "json"}).status_code == 200
    assert manager.get("/api/repairs/statistics").status_code == 200
    assert (
        manager.post(f"/api/repairs/{invoice.repair_id}/status", {"status": "HOLD", "reason": "x"}).status_code == 403
    )
    ids = {"installment_ids": [f"{invoice.repair_id}-01"]}
    assert manager.post("/api/repairs/installments/post", ids, format="json").status_code == 403
    assert manager.post("/api/repairs/create-case").status_code == 403

    cashier = api_client_for(make_user("Cashier"))
    assert cashier.get("/api/repairs/").status_code == 403
    response = cashier.get("/api/repairs/export", {"format": "xlsx"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert api_client_for(make_user("Controller")).post(f"/api/repairs/{invoice.repair_id}/confirm").status_code == 403
    from rest_framework.test import APIClient

    assert APIClient().get("/api/repairs/").status_code == 401
