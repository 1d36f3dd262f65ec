"""Hostile input in the admin (docs/rules.md, "Hostile input"): every admin URL the resolver knows refuses
a form or a query string holding text that is not text, and a body over its limit; the entry forms
refuse dates out of range and money in exponent form, in other digits or past the largest amount, on
the field — and nothing is written."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from batpay.tests.api_world import World, database_fingerprint
from leases.models import Lease
from loans.models import Loan
from repairs.models import RepairInvoice

pytestmark = pytest.mark.django_db

URLENCODED = "application/x-www-form-urlencoded"
UUID_SAMPLE = "00000000-0000-4000-8000-000000000001"
SAMPLES = {
    "object_id": "1",
    "id": "1",
    "pk": "1",
    "content_type_id": "1",
    "app_label": "leases",
    "url": "nowhere",
    "transition": "hold",
}


def _admin_urls(patterns=None, namespace: str = "") -> Iterator[str]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            if patterns is None and inner != "admin":
                continue
            yield from _admin_urls(entry.url_patterns, f"{namespace}:{inner}".strip(":") if inner else namespace)
        elif isinstance(entry, URLPattern) and entry.name and namespace:
            names = entry.pattern.regex.groupindex
            try:
                yield reverse(f"{namespace}:{entry.name}", kwargs={name: SAMPLES[name] for name in names})
            except NoReverseMatch:  # an object named by a UUID (an export file)
                yield reverse(f"{namespace}:{entry.name}", kwargs={name: UUID_SAMPLE for name in names})


ADMIN_URLS = sorted(set(_admin_urls()))


@pytest.fixture
def superuser(world: World) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=world.username))
    return client


def test_the_walk_finds_the_admin_s_own_screens():
    assert len(ADMIN_URLS) > 60
    assert {
        "/admin/leases/driver/add/",
        "/admin/statements/tripimport/upload/",
        "/admin/operations/jobrun/run/",
    } <= set(ADMIN_URLS)


def test_every_admin_url_refuses_a_form_or_a_query_holding_text_that_is_not_text(superuser):
    before = database_fingerprint()
    wrong = []
    for url in ADMIN_URLS:
        for sent in (
            superuser.post(url, {"first_name": "Ana\x01", "reason": "ok"}),
            superuser.post(url, {"reason": "Line one\r\nline two\x00"}),
            superuser.post(url, {"file": io.BytesIO(b"x"), "name": "a\x1b"}),
            superuser.get(url, {"q": "Ana\x00"}),
            superuser.get(url, {"q": "Ana\n"}),
        ):
            page = sent.content.decode()
            if sent.status_code != 400 or not sent["Content-Type"].startswith("text/html") or "U+00" not in page:
                wrong.append(f"{sent.request['REQUEST_METHOD']} {url}: {sent.status_code} {page[:200]!r}")

    assert not wrong, "\n".join(wrong)
    assert database_fingerprint() == before


def test_line_breaks_are_text_in_an_admin_textarea_and_not_in_a_line(superuser, world):
    url = reverse(
        "admin:repairs_repairinvoice_change", args=[RepairInvoice.objects.get(repair_id=world.repair_open).pk]
    )

    inline = {
        f"installments-{name}": "0" for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
    }

    kept = superuser.post(url, {**inline, "repair_description": "Clutch\r\nand gearbox"})
    refused = superuser.post(url, {**inline, "repair_description": "Clutch", "invoice_number": "A\r\nB"})

    assert kept.status_code == 302, kept.content[:500]
    assert RepairInvoice.objects.get(repair_id=world.repair_open).repair_description == "Clutch\r\nand gearbox"
    assert refused.status_code == 400 and "invoice_number" in refused.content.decode()


def test_an_admin_body_over_its_limit_is_a_413_page_before_it_is_read(superuser, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5_000
    settings.UPLOAD_MAX_SIZE = 20_000
    before = database_fingerprint()

    form = superuser.post("/admin/leases/driver/add/", f"first_name={'A' * 5_001}", content_type=URLENCODED)
    multipart = superuser.post("/admin/leases/driver/add/", {"first_name": "A" * 5_001})  # read, then refused
    many = superuser.post("/admin/leases/driver/add/", {f"f{n}": "1" for n in range(1_100)})
    upload = superuser.post("/admin/statements/tripimport/upload/", {"file": io.BytesIO(b"x" * 20_001)})
    small_upload = superuser.post("/admin/statements/tripimport/upload/", {"file": io.BytesIO(b"x" * 6_000)})

    for response in (form, multipart, many, upload):
        assert response.status_code == 413, response.content[:300]
        assert response["Content-Type"].startswith("text/html")
    assert "at most 5,000" in form.content.decode() and "at most 20,000" in upload.content.decode()
    assert small_upload.status_code == 200  # an upload may be larger than a form: the file's own checks answer
    assert database_fingerprint() == before


# --- the entry forms: dates, money ---------------------------------------------------------------------


def _entries(world: World) -> dict[str, tuple[str, dict]]:
    """Each admin entry form with a date or an amount: its add URL and a body it accepts."""
    lease, free = world.lease, world.free
    return {
        "lease": (
            "/admin/leases/lease/add/",
            {
                "lease_type": "DOV",
                "status": "ACTIVE",
                "primary_driver": free["driver_id"],
                "vehicle": free["vehicle_id"],
                "medallion": free["medallion_id"],
                "start_date": "2025-10-05",
                "end_date": "",
                "weekly_rate": "500.00",
            },
        ),  # fmt: skip
        "repair": (
            "/admin/repairs/repairinvoice/add/",
            {
                "driver": lease.primary_driver_id,
                "lease": lease.pk,
                "vehicle": "",
                "medallion": "",
                "invoice_number": "ADM-9",
                "invoice_date": "2025-09-30",
                "workshop_type": "EXTERNAL",
                "repair_description": "Transmission",
                "repair_amount": "1200.00",
                "start_week": "2025-09-28",
                "installments-TOTAL_FORMS": "0",
                "installments-INITIAL_FORMS": "0",
                "installments-MIN_NUM_FORMS": "0",
                "installments-MAX_NUM_FORMS": "0",
            },
        ),  # fmt: skip
        "loan": (
            "/admin/loans/loan/add/",
            {
                "driver": lease.primary_driver_id,
                "lease": lease.pk,
                "loan_amount": "1200.00",
                "interest_rate": "10",
                "loan_date": "2025-10-01",
                "start_week": "CURRENT",
                "purpose": "Rent deposit",
                "installments-TOTAL_FORMS": "0",
                "installments-INITIAL_FORMS": "0",
                "installments-MIN_NUM_FORMS": "0",
                "installments-MAX_NUM_FORMS": "0",
            },
        ),  # fmt: skip
    }


HOSTILE = {
    "lease": {"start_date": ["0001-01-01", "9999-12-31"], "end_date": ["9999-12-31"],
              "weekly_rate": ["3e2", "٣٠٠", "1000000.01", "9999999999.99"]},
    "repair": {"invoice_date": ["0001-01-01", "1999-12-31"], "start_week": ["0001-01-07", "9999-12-26"],
               "repair_amount": ["3e2", "３００", "1000000.01", "9999999999.99"]},
    "loan": {"loan_date": ["0001-01-01"], "start_week": ["2100-01-03"], "interest_rate": ["1e1", "٣"],
             "loan_amount": ["3e2", "٣٠٠", "1000000.01"]},
}  # fmt: skip
MODELS = {"lease": Lease, "repair": RepairInvoice, "loan": Loan}


@pytest.mark.parametrize("entry", ["lease", "repair", "loan"])
def test_admin_entry_forms_refuse_dates_out_of_range_and_money_not_typed_as_money_on_the_field(superuser, world, entry):
    url, body = _entries(world)[entry]
    accepted = superuser.post(url, body)
    assert accepted.status_code == 302, accepted.context["adminform"].form.errors if accepted.context else accepted
    before = database_fingerprint()
    wrong = []

    for field, values in HOSTILE[entry].items():
        for value in values:
            response = superuser.post(url, {**body, field: value})
            errors = response.context["adminform"].form.errors if response.status_code == 200 else {}
            if field not in errors:
                wrong.append(f"{entry}.{field} = {value!r}: {response.status_code} {dict(errors)}")

    assert not wrong, "\n".join(wrong)
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("form", "field", "values"),
    [
        ("interim", "received_on", ["0001-01-01", "9999-12-31"]),
        ("interim", "amount", ["3e2", "٣٠٠", "1000000.01"]),
        ("terminate", "termination_date", ["0001-01-01", "9999-12-31"]),
        ("terminate", "cancellation_fee", ["3e2", "1000000.01"]),
        ("run", "period", ["0001-01-07", "9999-12-26"]),
    ],
)
def test_the_admin_s_own_forms_refuse_them_too(world, form, field, values):
    from lease_schedules.admin import TerminateForm
    from ledger.forms import InterimPaymentForm
    from operations.admin import RunJobForm
    from operations.jobs import WEEKLY_CLOSE

    bodies = {
        "interim": (lambda data: InterimPaymentForm(data, balances=[]),
                    {"amount": "50.00", "payment_method": "CASH", "idempotency_key": "k"}),
        "terminate": (TerminateForm, {"termination_date": "2025-10-15", "reason": "Moved", "cancellation_fee": "0"}),
        "run": (RunJobForm, {"job": WEEKLY_CLOSE, "period": "2025-09-28"}),
    }  # fmt: skip
    make, body = bodies[form]
    assert make(body).is_valid(), make(body).errors

    for value in values:
        bound = make({**body, field: value})
        assert not bound.is_valid()
        assert field in bound.errors, (value, bound.errors)
