"""E-ZPass in the admin: the upload and its report, the toll list, reassigning and reversing from it,
exports, tags, the command — and who may do what."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from batpay.roles import CONTROLLER, FINANCE, MANAGER
from batpay.testing import set_clock
from ledger.models import ObligationBalance
from tolls.imports import COLUMNS
from tolls.models import Toll, TollAssignment, TollImport, TollTag
from tolls.services import tolls_post_due
from tolls.tests.toll_files import csv_bytes, import_lines, plate_of, toll

pytestmark = pytest.mark.django_db
TUESDAY = dt.datetime(2025, 9, 30, 8, 0)
W = dt.date(2025, 9, 28)
UPLOAD = reverse("admin:tolls_tollimport_upload")
TOLLS = reverse("admin:tolls_toll_changelist")


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    set_clock(monkeypatch, "2025-10-07T10:00:00-04:00")


@pytest.fixture
def login(client, make_user):
    def log_in(role=None):
        user = make_user(role) if role else make_user(superuser=True)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return log_in


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_finance_uploads_a_file_and_reads_the_report(login, fleet):
    lease = fleet.lease()
    client = login(FINANCE)
    content = csv_bytes([toll("U-1", plate_of(lease), TUESDAY, "($6.94)"), toll("U-2", "NY GONE1", TUESDAY, "$1")])

    response = client.post(UPLOAD, {"file": SimpleUploadedFile("ezpass.csv", content)})

    batch = TollImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:tolls_tollimport_change",
                                                                            args=[batch.pk])  # fmt: skip
    assert "1 toll(s) to charge (6.94)" in messages_of(response)[0] and "1 without a lease" in messages_of(response)[0]
    page = client.get(response["Location"]).content.decode()
    assert "1 to reassign" in page and "ezpass.csv" in page
    listed = client.get(TOLLS, {"status__exact": "UNMATCHED"}).content.decode()
    assert "U-2" in listed and "U-1" not in listed


def test_a_header_missing_a_column_is_shown_on_the_form(login):
    header = ",".join(COLUMNS[1:])
    response = login(FINANCE).post(UPLOAD, {"file": SimpleUploadedFile("x.csv", csv_bytes([], header=header))})
    assert response.status_code == 200 and "missing Lane Txn ID" in response.content.decode()
    assert not TollImport.objects.exists()


def test_managers_neither_upload_nor_reassign(login, fleet):
    lease = fleet.lease()
    import_lines([toll("M-1", plate_of(lease), TUESDAY, "($6.94)")])
    client = login(MANAGER)
    assert client.get(UPLOAD).status_code == 403
    assert client.get(TOLLS).status_code == 200
    actions = client.get(TOLLS).context["action_form"].fields["action"].choices
    assert {name for name, _ in actions} == {"", "export_xlsx", "export_csv", "export_pdf"}


def test_finance_reassigns_selected_tolls_with_a_reason(login, fleet):
    lease, other = fleet.lease(), fleet.lease()
    import_lines([toll("R-1", plate_of(lease), TUESDAY, "($6.94)"), toll("R-2", "NY GONE1", TUESDAY, "($2.00)")])
    tolls_post_due(period=W)
    ids = [str(pk) for pk in Toll.objects.order_by("pk").values_list("pk", flat=True)]
    client = login(FINANCE)

    form = client.post(TOLLS, {"action": "reassign", ACTION_CHECKBOX_NAME: ids})
    assert form.status_code == 200 and "Reassign tolls" in form.content.decode()
    refused = client.post(
        TOLLS, {"action": "reassign", ACTION_CHECKBOX_NAME: ids, "confirm": "yes", "lease_number": "NOPE"}
    )
    assert "No lease NOPE." in refused.content.decode()
    done = client.post(
        TOLLS,
        {
            "action": "reassign",
            ACTION_CHECKBOX_NAME: ids,
            "confirm": "yes",
            "lease_number": other.lease_number,
            "reason": "Both were the spare car",
        },
    )

    assert done.status_code == 302 and "Reassign tolls: 2 done." in messages_of(done)
    balances = dict(ObligationBalance.objects.filter(category="EZPASS").values_list("source_reference", "lease"))
    assert balances == {"R-1": lease.pk, "R-1/2": other.pk, "R-2": other.pk}
    assert set(TollAssignment.objects.values_list("reason", flat=True)) == {"Both were the spare car"}
    assert "Both were the spare car" in client.get(reverse("admin:tolls_toll_change", args=[ids[0]])).content.decode()


def test_a_controller_reverses_and_a_manager_exports(login, fleet):
    lease = fleet.lease()
    import_lines([toll("V-1", plate_of(lease), TUESDAY, "($6.94)")])
    tolls_post_due(period=W)
    toll_id = str(Toll.objects.get().pk)
    client = login(CONTROLLER)

    done = client.post(
        TOLLS,
        {"action": "reverse_charges", ACTION_CHECKBOX_NAME: [toll_id], "confirm": "yes", "reason": "Won on appeal"},
    )
    assert client.post(TOLLS, {"action": "export_csv", ACTION_CHECKBOX_NAME: [toll_id]}).status_code == 302
    exported = login(MANAGER).post(TOLLS, {"action": "export_csv", ACTION_CHECKBOX_NAME: [toll_id]})

    assert "Reverse toll charges: 1 done." in messages_of(done)
    assert Toll.objects.get().status == "REVERSED"
    assert ObligationBalance.objects.get(source_reference="V-1").outstanding == D("0.00")
    body = exported.getvalue()
    assert exported.status_code == 200 and b"V-1" in body and b"Charge reversed" in body


def test_tags_are_recorded_through_the_service(login, fleet):
    vehicle = fleet.vehicle()
    client = login(FINANCE)
    response = client.post(reverse("admin:tolls_tolltag_add"), {"tag_number": "00612345678", "vehicle": vehicle.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TollTag.objects.get().vehicle == vehicle


def test_the_command_imports_with_a_summary_and_refuses_a_bad_header(fleet, tmp_path):
    lease = fleet.lease()
    good = tmp_path / "ezpass.csv"
    good.write_bytes(
        csv_bytes([toll("K-1", plate_of(lease), TUESDAY, "($6.94)"), toll("K-2", plate_of(lease), TUESDAY, "oops")])
    )
    out = io.StringIO()
    call_command("import_tolls", str(good), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "2 rows; 1 tolls to charge (6.94)" in text and "1 with bad data. Charged by the Sunday task" in text
    assert "line 3: bad data: Amount 'oops' is not an amount like ($9.11) or $9.00" in text

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([], header="Lane Txn ID,Amount"))
    with pytest.raises(CommandError, match="missing Tag/Plate #"):
        call_command("import_tolls", str(bad), stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="No file"):
        call_command("import_tolls", str(tmp_path / "none.csv"))
