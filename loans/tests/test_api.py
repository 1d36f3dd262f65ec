import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader
from rest_framework.test import APIClient

from ledger import services as ledger
from loans import services
from loans.models import Loan

from .conftest import P1

P2 = P1 + dt.timedelta(days=7)


@pytest.fixture
def api(finance, api_client_for):
    return api_client_for(finance)


def body(lease, **overrides):
    data = {
        "driver_id": lease.primary_driver_id,
        "lease_id": lease.pk,
        "loan_amount": "1200.00",
        "interest_rate": "10",
        "loan_date": "2025-10-01",
        "start_week": "CURRENT",
        "purpose": "Security deposit",
    }
    data.update(overrides)
    return data


def test_create_retrieve_confirm_the_worked_example(api, fleet):
    response = api.post("/api/loans/", body(fleet.lease()), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    loan_id = data["loan_id"]
    assert loan_id == f"DL-{timezone.localdate().year}-0001"
    assert (data["status"], data["start_week"], data["interest_rate"]) == ("DRAFT", "2025-09-28", "10.00")
    assert (data["weekly_installment_amount"], data["total_interest"], data["total_due"]) == (
        "250.00",
        "5.72",
        "1205.72",
    )
    assert (data["total_paid"], data["outstanding_balance"]) == ("0.00", "1205.72")
    assert data["installments"][0] == {
        "installment_id": f"{loan_id}-01",
        "loan_id": loan_id,
        "sequence": 1,
        "week_start": "2025-09-28",
        "week_end": "2025-10-04",
        "interest_days": 4,
        "principal_amount": "250.00",
        "interest_amount": "1.32",
        "total_due": "251.32",
        "status": "SCHEDULED",
        "posting_reference": None,
        "posted_at": None,
    }
    assert [(i["principal_amount"], i["interest_amount"], i["total_due"]) for i in data["installments"]] == [
        ("250.00", "1.32", "251.32"),
        ("250.00", "1.82", "251.82"),
        ("250.00", "1.34", "251.34"),
        ("250.00", "0.86", "250.86"),
        ("200.00", "0.38", "200.38"),
    ]
    assert api.get(f"/api/loans/{loan_id}/").json()["total_interest"] == "5.72"

    response = api.post(f"/api/loans/{loan_id}/confirm")
    assert response.status_code == 200 and response.json()["status"] == "OPEN"
    response = api.post(f"/api/loans/{loan_id}/confirm/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    installments = api.get(f"/api/loans/{loan_id}/installments").json()
    assert [i["installment_id"] for i in installments] == [f"{loan_id}-0{k}" for k in range(1, 6)]
    assert api.get("/api/loans/DL-1999-0001/").status_code == 404


def test_defaults_numbers_and_a_zero_rate(api, fleet, settings):
    settings.LOAN_DEFAULT_INTEREST_RATE = D("0")
    data = body(fleet.lease(), loan_amount=450.5)
    del data["interest_rate"], data["loan_date"], data["purpose"]
    response = api.post("/api/loans/", json.dumps(data), content_type="application/json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["loan_amount"], created["interest_rate"], created["total_interest"]) == ("450.50", "0.00", "0.00")
    assert created["loan_date"] == timezone.localdate().isoformat()
    assert {i["interest_amount"] for i in created["installments"]} == {"0.00"}
    assert [i["total_due"] for i in created["installments"]] == ["100.00"] * 4 + ["50.50"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"interest_rate": "20.01"}, "interest_rate"),
        ({"interest_rate": "-1"}, "interest_rate"),
        ({"interest_rate": "10.005"}, "interest_rate"),
        ({"interest_rate": "ten"}, "interest_rate"),
        ({"loan_amount": "0"}, "loan_amount"),
        ({"loan_amount": "-100.00"}, "loan_amount"),
        ({"loan_amount": "200000.00"}, "loan_amount"),  # 667 weeks: more than a plan may have
        ({"loan_date": "2025-10-05", "start_week": "2025-09-28"}, "loan_date"),  # after the first period's end
        ({"loan_date": "2999-01-01"}, "loan_date"),
        ({"loan_date": "0001-01-01"}, "loan_date"),
        ({"start_week": "2025-10-01"}, "start_week"),  # a Wednesday
        ({"start_week": "9999-12-26"}, "start_week"),
        ({"start_week": "SOON"}, "start_week"),
        ({"driver_id": 987654}, "driver_id"),
        ({"lease_id": "abc"}, "lease_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, fleet, overrides, field):
    response = api.post("/api/loans/", body(fleet.lease(), **overrides), format="json")
    assert response.status_code == 400, response.json()
    error = response.json()
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert not Loan.objects.exists()


def test_a_lease_not_of_that_driver_is_a_400(api, fleet):
    lease, other = fleet.lease(), fleet.lease()
    response = api.post("/api/loans/", body(lease, driver_id=other.primary_driver_id), format="json")
    assert response.status_code == 400 and "lease_id" in response.json()["fields"]


def test_patch_while_draft_rebuilds_then_amounts_freeze(api, fleet):
    loan_id = api.post("/api/loans/", body(fleet.lease()), format="json").json()["loan_id"]
    response = api.patch(f"/api/loans/{loan_id}/", {"loan_amount": "300.00", "interest_rate": "0"}, format="json")
    assert response.status_code == 200
    assert [i["total_due"] for i in response.json()["installments"]] == ["100.00"] * 3
    response = api.patch(f"/api/loans/{loan_id}/", {"start_week": "2025-09-21"}, format="json")
    assert response.status_code == 400 and "loan_date" in response.json()["fields"]
    api.post(f"/api/loans/{loan_id}/confirm")
    response = api.patch(f"/api/loans/{loan_id}/", {"interest_rate": "5"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert "interest_rate" in response.json()["fields"]
    response = api.patch(f"/api/loans/{loan_id}", {"purpose": "Medical bills"}, format="json")
    assert response.status_code == 200 and response.json()["purpose"] == "Medical bills"
    assert api.put(f"/api/loans/{loan_id}/", body(fleet.lease()), format="json").status_code == 405


def test_status_changes_and_their_refusals(api, make_loan):
    loan = make_loan()
    url = f"/api/loans/{loan.loan_id}/status"
    assert api.post(url, {"status": "HOLD"}, format="json").status_code == 400  # a reason is required
    response = api.post(url, {"status": "HOLD", "reason": "driver disputes"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "HOLD"
    assert api.post(url, {"status": "HOLD", "reason": "again"}, format="json").status_code == 409
    assert api.post(url, {"status": "OPEN"}, format="json").json()["status"] == "OPEN"
    api.post("/api/loans/installments/post", {"installment_ids": [f"{loan.loan_id}-01"]}, format="json")
    response = api.post(url, {"status": "CANCELLED", "reason": "entered by mistake"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_manual_post_and_posting_twice(api, make_loan):
    loan = make_loan("1200.00")
    ids = [f"{loan.loan_id}-01", f"{loan.loan_id}-02"]
    response = api.post("/api/loans/installments/post", {"installment_ids": ids}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["posted"], response.json()["amount"]) == (2, "503.14")
    assert {i["status"] for i in response.json()["installments"]} == {"POSTED"}
    response = api.post("/api/loans/installments/post/", {"installment_ids": ids[:1]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_posted"
    response = api.post("/api/loans/installments/post", {"installment_ids": ["DL-1999-0001-01"]}, format="json")
    assert response.status_code == 400 and "installment_ids" in response.json()["fields"]


def test_installment_lists_and_unposted(api, make_loan, fleet):
    lease = fleet.lease()
    a = make_loan("300.00", lease=lease)
    make_loan("200.00")
    make_loan("200.00", confirm=False)
    services.loan_installments_post_due(period=P1)
    assert api.get("/api/loans/installments/").json()["count"] == 5
    unposted = api.get("/api/loans/installments/unposted", {"driver_id": lease.primary_driver_id}).json()
    assert [i["installment_id"] for i in unposted["results"]] == [f"{a.loan_id}-02", f"{a.loan_id}-03"]
    by_vehicle = api.get(
        "/api/loans/installments/unposted", {"vehicle_id": lease.vehicle_id, "period_after": P2.isoformat()}
    ).json()
    assert by_vehicle["count"] == 2
    posted = api.get("/api/loans/installments/", {"status": "POSTED", "ordering": "-amount"}).json()
    # 200 × 10 % × 4/365 = 0.2191…; 300 × 10 % × 4/365 = 0.3287…
    assert [i["total_due"] for i in posted["results"]] == ["200.22", "100.33"]
    assert api.get("/api/loans/installments/", {"period_after": "soon"}).status_code == 400


def test_list_filters_search_ordering_and_constant_queries(api, make_loan, fleet, django_assert_max_num_queries):
    lease = fleet.lease()
    a = make_loan("1200.00", lease=lease, rate="5")
    b = make_loan("300.00", lease=lease, rate="15")
    c = make_loan("5000.00", confirm=False, loan_date=dt.date(2025, 8, 6), start_week="CURRENT")

    def ids(**params):
        response = api.get("/api/loans/", params)
        assert response.status_code == 200, response.json()
        return [r["loan_id"] for r in response.json()["results"]]

    assert set(ids(driver_id=lease.primary_driver_id)) == {a.loan_id, b.loan_id}
    assert ids(status="DRAFT") == [c.loan_id]
    assert ids(loan_date_before="2025-08-31") == [c.loan_id]
    assert ids(loan_amount_min="1000", loan_amount_max="2000") == [a.loan_id]
    assert ids(interest_rate_min="12") == [b.loan_id]
    assert ids(search=a.loan_id.lower()) == [a.loan_id]
    assert ids(ordering="loan_amount") == [b.loan_id, a.loan_id, c.loan_id]
    assert api.get("/api/loans/", {"driver_id": "x"}).status_code == 400
    services.loan_installments_post_due(period=P2)
    with django_assert_max_num_queries(8) as small:
        api.get("/api/loans/")
    for _ in range(10):
        make_loan("3000.00")
    services.loan_installments_post_due(period=P2)
    with django_assert_max_num_queries(8) as large:
        assert api.get("/api/loans/", {"page_size": 100}).json()["count"] == 13
    assert len(small.captured_queries) == len(large.captured_queries)


def test_statistics_add_total_interest(api, make_loan, fleet, finance):
    lease = fleet.lease()
    a = make_loan("1200.00", lease=lease)  # interest 5.72, due 1,205.72
    make_loan("450.00", lease=lease, rate="0")  # no interest
    make_loan("700.00", confirm=False)  # a draft: not counted in totals
    cancelled = make_loan("150.00")
    services.loan_change_status(loan_id=cancelled.loan_id, status="CANCELLED", reason="duplicate", actor=finance)
    services.loan_installments_post_due(period=P1)  # 251.32 and 100.00
    ledger.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("300.00"), actor=finance)

    detail = api.get(f"/api/loans/{a.loan_id}/").json()
    assert (detail["total_paid"], detail["outstanding_balance"]) == ("251.32", "954.40")
    stats = api.get("/api/loans/statistics").json()
    assert stats["count"] == 4
    assert stats["count_by_status"] == {"DRAFT": 1, "OPEN": 2, "HOLD": 0, "CLOSED": 0, "CANCELLED": 1}
    assert (stats["total_amount"], stats["total_interest"]) == ("1650.00", "5.72")
    assert stats["total_paid"] == "300.00"  # 251.32 on the loan, 48.68 of the zero-rate loan's first 100.00
    assert stats["total_outstanding"] == "1355.72"  # 1,205.72 + 450.00 − 300.00
    assert stats["average_amount"] == "825.00"
    mine = api.get("/api/loans/statistics", {"interest_rate_min": "1"}).json()
    assert (mine["count"], mine["total_interest"]) == (3, "5.72")


def test_exports_parse_in_every_format(api, make_loan):
    make_loan("1200.00", purpose="EXP-1")
    make_loan("99.99", rate="0", purpose="EXP-2")

    response = api.get("/api/loans/export", {"format": "xlsx", "ordering": "loan_amount"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.getvalue())).active.iter_rows(values_only=True))
    header = rows[0]
    assert [(row[header.index("Principal")], row[header.index("Total interest")]) for row in rows[1:-1]] == [
        (99.99, 0),
        (1200, 5.72),
    ]
    assert (rows[-1][0], rows[-1][header.index("Principal")], rows[-1][header.index("Interest rate %")]) == (
        "Total",
        1299.99,
        None,
    )
    assert isinstance(rows[1][header.index("Loan date")], dt.datetime)

    records = list(csv.DictReader(io.StringIO(api.get("/api/loans/export", {"format": "csv"}).getvalue().decode())))
    assert {(r["Purpose"], r["Total due"]) for r in records} == {("EXP-1", "1205.72"), ("EXP-2", "99.99")}
    records = json.loads(api.get("/api/loans/export", {"format": "json", "interest_rate_min": "1"}).getvalue())
    assert [(r["Purpose"], r["Outstanding"], r["Interest rate %"]) for r in records] == [("EXP-1", "1205.72", "10.00")]
    response = api.get("/api/loans/export", {"format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.getvalue())).pages)
    assert "EXP-1" in text and "Driver loans" in text

    response = api.get("/api/loans/installments/export", {"format": "xlsx", "status": "SCHEDULED"})
    rows = list(load_workbook(io.BytesIO(response.getvalue())).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 6 + 1 and rows[-1][0] == "Total"
    assert sum(D(str(row[rows[0].index("Total due")])) for row in rows[1:-1]) == D("1305.71")
    assert sum(D(str(row[rows[0].index("Interest")])) for row in rows[1:-1]) == D("5.72")
    assert D(str(rows[-1][rows[0].index("Total due")])) == D("1305.71")
    records = json.loads(api.get("/api/loans/installments/export", {"format": "json"}).getvalue())
    assert records[0]["Total due"] == "251.32" and records[0]["Interest days"] == 4
    assert (
        len(
            list(
                csv.reader(
                    io.StringIO(api.get("/api/loans/installments/export", {"format": "csv"}).getvalue().decode())
                )
            )
        )
        == 7
    )
    assert api.get("/api/loans/installments/export", {"format": "pdf"}).status_code == 200
    response = api.get("/api/loans/export", {"format": "xml"})
    assert response.status_code == 400 and "format" in response.json()["fields"]


def test_permissions_by_role(make_user, api_client_for, fleet, make_loan):
    loan = make_loan()
    manager = api_client_for(make_user("Manager"))
    assert manager.post("/api/loans/", body(fleet.lease()), format="json").status_code == 403
    assert manager.patch(f"/api/loans/{loan.loan_id}/", {"purpose": "x"}, format="json").status_code == 403
    for path in (
        "/api/loans/",
        f"/api/loans/{loan.loan_id}/",
        f"/api/loans/{loan.loan_id}/installments",
        "/api/loans/statistics",
        "/api/loans/installments/",
        "/api/loans/installments/unposted",
    ):
        assert manager.get(path).status_code == 200, path
    assert manager.get("/api/loans/export", {"format": "csv"}).status_code == 200
    assert manager.get("/api/loans/installments/export", {"format": "json"}).status_code == 200
    status = {"status": "HOLD", "reason": "x"}
    assert manager.post(f"/api/loans/{loan.loan_id}/status", status, format="json").status_code == 403
    assert manager.post(f"/api/loans/{loan.loan_id}/confirm").status_code == 403
    ids = {"installment_ids": [f"{loan.loan_id}-01"]}
    assert manager.post("/api/loans/installments/post", ids, format="json").status_code == 403
    assert manager.post("/api/loans/create-case").status_code == 403

    for role in ("Cashier", "Controller"):
        other = api_client_for(make_user(role))
        assert other.post("/api/loans/", body(fleet.lease()), format="json").status_code == 403
        assert other.post("/api/loans/installments/post", ids, format="json").status_code == 403
        assert other.post(f"/api/loans/{loan.loan_id}/confirm").status_code == 403
    cashier = api_client_for(make_user("Cashier"))
    assert cashier.get("/api/loans/").status_code == 403
    response = cashier.get("/api/loans/export", {"format": "xlsx"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert APIClient().get("/api/loans/").status_code == 401
    assert not Loan.objects.exclude(pk=loan.pk).exists()
