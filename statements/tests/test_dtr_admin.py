"""DTRs and trips in the admin: lists and filters, the DTR page and PDF, the void, the trips upload."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from batpay.roles import CONTROLLER, FINANCE, MANAGER
from ledger import services
from ledger.models import Category
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport, Trip, TripImport
from statements.tests.trip_files import csv_bytes, import_lines, trip, worked_example

P1 = dt.date(2025, 9, 28)
DTRS = reverse("admin:statements_drivertransactionreport_changelist")
UPLOAD = reverse("admin:statements_tripimport_upload")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def login(client, make_user):
    def log_in(role=None):
        user = make_user(role) if role else make_user(superuser=True)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def reports(fleet):
    leases = [fleet.lease() for _ in range(2)]
    leases[0].primary_driver.last_name = "Diallo"
    leases[0].primary_driver.save()
    for n, lease in enumerate(leases):
        import_lines(worked_example(lease, P1, prefix=f"L{n}"))
        services.create_obligation(
            category=Category.LEASE, amount=D("500.00"), source_reference=f"LEASE-{n}", driver=lease.primary_driver,
            lease=lease, period=P1,
        )  # fmt: skip
    close_earnings(period=P1)
    generate_dtrs(period=P1, render=False)
    return [DriverTransactionReport.objects.get(lease=lease) for lease in leases]


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_dtr_list_filters_by_period_lease_driver_and_status(reports, login):
    client = login(MANAGER)
    first, second = reports

    def listed(params):
        response = client.get(DTRS, params)
        assert response.status_code == 200
        return {r.dtr_number for r in response.context["cl"].result_list}

    assert listed({}) == {first.dtr_number, second.dtr_number}
    assert listed({"period": "2025-09-28", "status__exact": "ISSUED"}) == {first.dtr_number, second.dtr_number}
    assert listed({"lease_number": first.lease.lease_number}) == {first.dtr_number}
    assert listed({"driver": "diallo"}) == {first.dtr_number}
    assert listed({"driver": second.driver.tlc_license_number}) == {second.dtr_number}
    assert listed({"q": first.dtr_number}) == {first.dtr_number}
    assert client.get(DTRS, {"period": "2025-09-29"}).status_code == 302  # the admin's "bad lookup" notice


def test_the_dtr_page_reads_like_the_pdf_and_the_pdf_downloads(reports, login):
    client = login(MANAGER)
    report = reports[0]

    page = client.get(reverse("admin:statements_drivertransactionreport_change", args=[report.pk]))
    pdf = client.get(reverse("admin:statements_drivertransactionreport_pdf", args=[report.pk]))

    text = page.content.decode()
    for shown in (report.dtr_number, "Diallo", "Account balance", "Payment summary", "465.00", "226.25",
                  "Total due to driver", "Lease — detail", "Download PDF"):  # fmt: skip
        assert shown in text, shown
    assert "Void and reissue" not in text  # a Manager may not void
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_a_controller_voids_from_the_page_and_from_the_list(reports, login):
    client = login(CONTROLLER)
    first, second = reports
    void_url = reverse("admin:statements_drivertransactionreport_void", args=[first.pk])

    assert (
        "Void and reissue"
        in client.get(reverse("admin:statements_drivertransactionreport_change", args=[first.pk])).content.decode()
    )
    short = client.post(void_url, {"reason": "short"})
    assert short.status_code == 200 and short.context["form"].errors
    done = client.post(void_url, {"reason": "Lease charge disputed by the driver"})

    replacement = DriverTransactionReport.objects.get(supersedes=first)
    assert done.status_code == 302 and done["Location"].endswith(f"/{replacement.pk}/change/")
    first.refresh_from_db()
    assert (first.status, first.void_reason) == ("VOIDED", "Lease charge disputed by the driver")

    action = {"action": "void_selected", "_selected_action": [second.pk]}
    confirm = client.post(DTRS, action)
    assert confirm.status_code == 200 and b"Void 1 DTR" in confirm.content
    client.post(DTRS, {**action, "confirm": "yes", "reason": "Reissue after a medallion mix-up"})
    second.refresh_from_db()
    assert second.status == "VOIDED" and second.superseded_by.version == 2


def test_a_manager_cannot_void(reports, login):
    client = login(MANAGER)
    report = reports[0]

    assert client.get(reverse("admin:statements_drivertransactionreport_void", args=[report.pk])).status_code == 403
    response = client.post(DTRS, {"action": "void_selected", "_selected_action": [report.pk], "confirm": "yes",
                                  "reason": "Trying without the permission"})  # fmt: skip
    report.refresh_from_db()
    assert report.status == "ISSUED" and response.status_code in (200, 302)


def test_finance_uploads_a_trips_file_and_sees_what_was_kept(fleet, login):
    lease = fleet.lease()
    content = csv_bytes(
        [
            trip("UP-1", lease.primary_driver, lease.medallion, dt.datetime(2025, 9, 29, 8, 0)),
            trip("UP-2", "5888888", "9Z99", dt.datetime(2025, 9, 29, 9, 0)),
        ]
    )
    client = login(FINANCE)

    assert client.get(reverse("admin:statements_tripimport_changelist")).status_code == 200
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("week.csv", content, "text/csv")})

    batch = TripImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/change/")
    assert (batch.file_name, batch.imported, batch.unmatched) == ("week.csv", 1, 1)
    assert "1 new trip(s)" in messages_of(client.get(response["Location"]))[0]
    assert Trip.objects.get().trip_id == "UP-1"
    bad = client.post(UPLOAD, {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert bad.status_code == 200 and "must name exactly the columns" in str(bad.context["form"].errors)
    rows = client.get(reverse("admin:statements_tripimportrow_changelist"), {"kind__exact": "UNMATCHED"})
    assert b"No medallion 9Z99 on file." in rows.content
    trips = client.get(reverse("admin:statements_trip_changelist"), {"q": "UP-1"})
    assert len(trips.context["cl"].result_list) == 1


def test_a_manager_cannot_upload_trips(login):
    client = login(MANAGER)

    assert client.get(UPLOAD).status_code == 403
    assert b"Import trips CSV" not in client.get(reverse("admin:statements_tripimport_changelist")).content


def test_an_imports_page_links_to_its_trips_and_kept_rows(fleet, login):
    lease = fleet.lease()
    batch = import_lines(
        [
            trip("K-1", lease.primary_driver, lease.medallion, dt.datetime(2025, 9, 29, 8, 0)),
            trip("K-2", "5888888", "9Z99", dt.datetime(2025, 9, 29, 9, 0)),
        ]
    )
    client = login(MANAGER)

    page = client.get(reverse("admin:statements_tripimport_change", args=[batch.pk]))
    trips = client.get(reverse("admin:statements_trip_changelist"), {"batch__id__exact": batch.pk})
    rows = client.get(reverse("admin:statements_tripimportrow_changelist"), {"batch__id__exact": batch.pk})

    assert page.status_code == 200 and b"1 row(s)" in page.content
    assert [t.trip_id for t in trips.context["cl"].result_list] == ["K-1"]
    assert [r.trip_id for r in rows.context["cl"].result_list] == ["K-2"]
    kept = client.get(reverse("admin:statements_tripimportrow_change", args=[rows.context["cl"].result_list[0].pk]))
    assert b"9Z99" in kept.content
