"""A world for the tests that walk every API route: a row of every kind a route reads or writes, the
real path of every route, and a real body for every route that takes one (a body the route accepts,
so that a refusal of the same body with one hostile value is that value's doing).

`world` is a fixture; a test module that uses it imports it. `database_fingerprint()` tells whether
anything at all was written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from batpay.periods import last_closed_period
from charges.models import MiscChargeType
from leases.models import Driver, Lease, Medallion, Vehicle
from ledger.models import ObligationBalance, Posting, Receipt, Refund
from loans.models import Loan
from payouts.models import Payout, PayoutRun
from payouts.testing import payout_runs
from plans.lifecycle import InstallmentStatus
from repairs.models import RepairInvoice
from statements.close import close_earnings
from statements.dtr import generate_dtrs
from statements.models import DriverTransactionReport, Trip, TripImport, TripImportRow
from statements.tests.trip_files import import_lines, trip
from tolls.models import Toll, TollImport, TollImportRow
from tolls.services import tolls_post_due
from tolls.tests.toll_files import import_lines as import_tolls
from tolls.tests.toll_files import plate_of, toll
from violations.models import TlcSummons, TlcViolationType, Violation, ViolationImport
from violations.services import tlc_summons_create, violation_create
from violations.tests.files import import_pvb, pvb

P1 = dt.date(2025, 9, 28)  # the fleet factory's lease start, a Sunday
PASSWORD = "pw-for-tests-1"  # conftest's make_user


def database_fingerprint() -> dict[str, str]:
    """Every row of every table of the project's apps, hashed per table: equal before and after a
    request means the request wrote nothing (counters, audit rows and updates included)."""
    fingerprint = {}
    with connection.cursor() as cursor:
        for app in settings.PROJECT_APPS:
            for model in apps.get_app_config(app).get_models(include_auto_created=True):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
                )
                fingerprint[model._meta.db_table] = "{}:{}".format(*cursor.fetchone())
    return fingerprint


@dataclass
class World:
    api: APIClient
    username: str
    lease: Lease  # repairs, loans, payments and the DTR are on this lease
    spare_lease: Lease  # terminated by its route
    driver: Driver
    vehicle: Vehicle
    medallion: Medallion
    free: dict[str, int]  # a driver, a vehicle and a medallion no lease uses
    repair_open: str
    repair_draft: str
    loan_open: str
    loan_draft: str
    posting: Posting
    balance: ObligationBalance
    dtr: str
    case_no: str
    credit: Receipt | None = None  # a receipt with credit waiting, for the Controllers' credit routes
    ids: dict[str, Any] = field(default_factory=dict)

    def kwargs(self, url_name: str, names) -> dict[str, Any]:
        """The real value of each URL parameter of the route `url_name`."""
        per_route = {
            "repair_id": self.repair_open
            if url_name in ("repair-change-status", "repair-confirm")
            else self.repair_draft,
            "loan_id": self.loan_open if url_name in ("loan-change-status", "loan-confirm") else self.loan_draft,
            "dtr_number": self.dtr,
            "case_no": self.case_no,
            "driver_id": self.driver.pk,
            "pk": self.pk_of(url_name),
            "export_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",  # none: the routes answer 404
            **self.ids,
        }
        return {name: per_route[name] for name in names}

    def pk_of(self, url_name: str) -> int | None:
        resource = url_name.rsplit("-", 1)[0]
        models = {
            "driver": self.driver,
            "vehicle": self.vehicle,
            "medallion": self.medallion,
            "lease": self.spare_lease if url_name == "lease-terminate" else self.lease,
            "ledger-posting": self.posting,
            "ledger-balance": self.balance,
            "ledger-receipt": self.credit
            if url_name in ("ledger-receipt-refund", "ledger-receipt-apply-credit")
            else Receipt.objects.order_by("pk").first(),
            "ledger-receipt-apply": self.credit,
            "ledger-refund": Refund.objects.order_by("pk").first(),
            "ledger-trip": Trip.objects.order_by("pk").first(),
            "ledger-trip-import": TripImport.objects.order_by("pk").first(),
            "ledger-trip-row": TripImportRow.objects.order_by("pk").first(),
            "violation": Violation.objects.order_by("pk").first(),
            "violation-import": ViolationImport.objects.order_by("pk").first(),
            "tlc-summons": TlcSummons.objects.order_by("pk").first(),
            "tlc-violation-type": TlcViolationType.objects.order_by("pk").first(),
            "toll": Toll.objects.filter(status="POSTED").order_by("pk").first(),
            "toll-import": TollImport.objects.order_by("pk").first(),
            "toll-row": TollImportRow.objects.order_by("pk").first(),
            "payout-run": PayoutRun.objects.filter(
                status="PREPARED" if url_name in ("payout-run-approve", "payout-run-cancel") else "APPROVED"
            ).first(),
            "payout": Payout.objects.order_by("pk").first(),
        }
        found = models.get(resource)
        return found.pk if found is not None else None


def _created(response, key: str) -> str:
    assert response.status_code in (200, 201), response.content
    return response.json()[key]


@pytest.fixture
def world(fleet, make_user, api_client_for) -> World:
    user = make_user(superuser=True)
    api = api_client_for(user)
    lease, spare_lease = fleet.lease(), fleet.lease()
    ids = {"driver_id": lease.primary_driver_id, "lease_id": lease.pk}
    plan = {**ids, "start_week": P1.isoformat()}
    repair = {**plan, "invoice_date": "2025-09-30", "workshop_type": "BIG_APPLE", "repair_amount": "600.00"}
    repair_open = _created(api.post("/api/repairs/", {**repair, "invoice_number": "W-1"}, format="json"), "repair_id")
    repair_draft = _created(api.post("/api/repairs/", {**repair, "invoice_number": "W-2"}, format="json"), "repair_id")
    loan = {**plan, "loan_amount": "600.00", "interest_rate": "5.00", "loan_date": "2025-09-28"}
    loan_open = _created(api.post("/api/loans/", loan, format="json"), "loan_id")
    loan_draft = _created(api.post("/api/loans/", loan, format="json"), "loan_id")
    for path in (f"/api/repairs/{repair_open}/confirm", f"/api/loans/{loan_open}/confirm"):
        assert api.post(path).status_code == 200
    posted = api.post("/api/repairs/installments/post", {"installment_ids": [f"{repair_open}-01"]}, format="json")
    assert posted.status_code == 200, posted.content
    monday = dt.datetime(2025, 9, 29, 8, 0)
    import_lines(
        [
            trip("W-T1", lease.primary_driver, lease.medallion, monday, payment_type="CASH"),
            trip("W-T2", "9999999", lease.medallion, monday),  # nobody's: kept for review
        ]
    )
    close_earnings(period=P1)
    generate_dtrs(period=P1, render=False)
    case_no = _created(api.post("/api/repairs/create-case"), "case_no")
    # A charged toll on the spare lease (reassigned to the lease, or reversed, by its routes), and rows kept.
    tuesday = dt.datetime(2025, 9, 30, 8, 0)
    import_tolls(
        [
            toll("W-Z1", plate_of(spare_lease), tuesday, "($6.94)"),
            toll("W-Z2", "NY NOBODY1", tuesday, "($2.00)"),
            toll("W-Z3", plate_of(spare_lease), tuesday, "(bad)"),
        ]
    )
    tolls_post_due(period=last_closed_period())
    credit = api.post(
        "/api/ledger/interim-payments/",
        {**ids, "amount": "9000.00", "payment_method": "CASH"},  # more than the rent: credit waits
        format="json",
    )
    credit = Receipt.objects.get(pk=_created(credit, "receipt")["id"])
    refund = {"method": "CHECK", "reference": "CHK-1", "reason": "Driver asked for it", "amount": "1.00"}
    assert api.post(f"/api/ledger/receipts/{credit.pk}/refund", refund, format="json").status_code == 201
    violation_create(
        summons_number="1000000001",
        plate=lease.vehicle.plate_number,
        issue_date="09/30/2025",
        violation_time="10:05A",
        violation="FIRE HYDRANT",
        fine_amount="115.00",
    )
    import_pvb([pvb("1000000003", lease.vehicle.plate_number, "09/30/2025", "09:15A"), "bad,row"])
    tlc_summons_create(
        summons_number="TLC1",
        driver_id=lease.primary_driver_id,
        lease_id=lease.pk,
        violation_type_id=TlcViolationType.objects.order_by("pk").first().pk,
        violation_date=dt.date(2025, 9, 30),
        amount="100.00",
    )
    payout_runs(fleet=fleet, approver=user, period=P1)
    misc = {"misc_id": "", "credit_id": "", "deposit_id": ""}
    misc["misc_id"] = _created(
        api.post("/api/misc-charges/", {**ids, "charge_type_id": MiscChargeType.objects.first().pk, "amount": "25.00"}),
        "misc_id",
    )
    misc["credit_id"] = _created(
        api.post("/api/misc-credits/", {**ids, "amount": "5.00", "note": "Goodwill"}, format="json"), "credit_id"
    )
    deposit = {**ids, "deposit_amount": "300.00", "collection": "INSTALLMENTS", "installment_count": 3}
    misc["deposit_id"] = _created(api.post("/api/deposits/", deposit, format="json"), "deposit_id")
    return World(
        ids=misc,
        api=api,
        username=user.username,
        lease=lease,
        spare_lease=spare_lease,
        driver=lease.primary_driver,
        vehicle=lease.vehicle,
        medallion=lease.medallion,
        free={"driver_id": fleet.driver().pk, "vehicle_id": fleet.vehicle().pk, "medallion_id": fleet.medallion().pk},
        repair_open=repair_open,
        repair_draft=repair_draft,
        loan_open=loan_open,
        loan_draft=loan_draft,
        posting=Posting.objects.filter(entry_type="DEBIT", status="POSTED", reverses__isnull=True)
        .order_by("pk")
        .first(),
        balance=ObligationBalance.objects.filter(lease=lease, status="OPEN").exclude(category="TAXES").first(),
        dtr=DriverTransactionReport.objects.filter(lease=lease).get().dtr_number,
        case_no=case_no,
        credit=credit,
    )


# --- a real body for every route that takes one ---------------------------------------------------


def _driver(driver: Driver) -> dict:
    fields = ("first_name", "last_name", "tlc_license_number", "phone", "email", "status", "pay_to_mode")
    return {name: getattr(driver, name) for name in fields}


def _repair(w: World, invoice_number: str) -> dict:
    return {
        "driver_id": w.driver.pk,
        "lease_id": w.lease.pk,
        "vehicle_id": w.vehicle.pk,
        "medallion_id": w.medallion.pk,
        "invoice_number": invoice_number,
        "invoice_date": "2025-09-30",
        "workshop_type": "EXTERNAL",
        "repair_description": "Brake pads\nand rotors",
        "repair_amount": "600.00",
        "start_week": "NEXT",
    }


def _loan(w: World) -> dict:
    return {
        "driver_id": w.driver.pk,
        "lease_id": w.lease.pk,
        "loan_amount": "600.00",
        "interest_rate": "5.00",
        "loan_date": "2025-10-01",
        "start_week": "CURRENT",
        "purpose": "Four tires,\nafter the storm",
    }


def _scheduled(plan_model, plan_id: str) -> str:
    plan = plan_model.objects.get(**{plan_model.plan_id_field: plan_id})
    return plan.installments.filter(status=InstallmentStatus.SCHEDULED).order_by("sequence").first().installment_id


# (URL name, method) → the body; a route that takes no body is not listed.
REAL_BODIES: dict[tuple[str, str], Callable[[World], dict]] = {
    ("api-token", "post"): lambda w: {"username": w.username, "password": PASSWORD},
    ("case", "post"): lambda w: {"step_id": "REPAIR_ENTER_DETAILS", "data": _repair(w, "CASE-1")},
    ("driver-list", "post"): lambda w: {
        "first_name": "Ana",
        "last_name": "Rivera",
        "tlc_license_number": "5999999",
        "phone": "212-555-0100",
        "email": "ana@example.com",
        "status": "ACTIVE",
        "pay_to_mode": "CHECK",
    },
    ("driver-detail", "patch"): lambda w: _driver(w.driver),
    ("vehicle-list", "post"): lambda w: {
        "vin": "1HGCM82633A004352",
        "plate_number": "T999999C",
        "make": "Kia",
        "model": "Niro",
        "year": 2024,
    },
    ("vehicle-detail", "patch"): lambda w: {
        name: getattr(w.vehicle, name) for name in ("vin", "plate_number", "make", "model", "year")
    },
    ("medallion-list", "post"): lambda w: {"number": "9Z99", "medallion_type": "WAV"},
    ("medallion-detail", "patch"): lambda w: {
        "number": w.medallion.number,
        "medallion_type": w.medallion.medallion_type,
    },
    ("lease-list", "post"): lambda w: {
        "lease_type": "LONG_TERM",
        **w.free,
        "additional_driver_ids": [],
        "start_date": "2025-10-05",
        "end_date": "2026-10-03",
        "weekly_rate": "800.00",
        "status": "ACTIVE",
    },
    ("lease-detail", "patch"): lambda w: {
        "lease_type": w.lease.lease_type,
        "driver_id": w.lease.primary_driver_id,
        "additional_driver_ids": [],
        "vehicle_id": w.lease.vehicle_id,
        "medallion_id": w.lease.medallion_id,
        "start_date": w.lease.start_date.isoformat(),
        "end_date": None,
        "weekly_rate": f"{w.lease.weekly_rate:.2f}",
        "status": w.lease.status,
    },
    ("lease-terminate", "post"): lambda w: {
        "termination_date": "2025-10-15",
        "reason": "The driver moved\nto Albany",
        "cancellation_fee": "100.00",
    },
    ("ledger-posting-void", "post"): lambda w: {"reason": "Entered twice\nby mistake"},
    ("ledger-interim-payment", "post"): lambda w: {
        "driver_id": w.driver.pk,
        "lease_id": w.lease.pk,
        "amount": "50.00",
        "payment_method": "CASH",
        "allocations": [{"balance_id": w.balance.pk, "amount": "10.00"}],
        "received_on": timezone.localdate().isoformat(),
        "note": "Paid at the window",
    },
    ("dtr-void", "post"): lambda w: {"reason": "The wrong trips file\nwas used"},
    ("toll-reassign", "post"): lambda w: {
        "lease_id": w.lease.pk,
        "driver_id": w.driver.pk,
        "reason": "The spare car was\nthis lease's that day",
    },
    ("toll-reverse", "post"): lambda w: {"reason": "Won on appeal\nat the agency"},
    ("ledger-receipt-apply-credit", "post"): lambda w: {
        "balance_id": w.balance.pk,
        "amount": "1.00",
        "reason": "Credit of the old\nlease",
    },
    ("ledger-receipt-refund", "post"): lambda w: {
        "amount": "1.00",
        "method": "ACH",
        "reference": "TRACE-9",
        "reason": "Driver left\nthe fleet",
        "refunded_on": timezone.localdate().isoformat(),
    },
    ("repair-list", "post"): lambda w: _repair(w, "INV-NEW"),
    ("repair-detail", "patch"): lambda w: _repair(w, "W-2"),
    ("repair-change-status", "post"): lambda w: {"status": "HOLD", "reason": "Driver on leave\nuntil May"},
    ("repair-installment-post", "post"): lambda w: {"installment_ids": [_scheduled(RepairInvoice, w.repair_open)]},
    ("loan-list", "post"): _loan,
    ("loan-detail", "patch"): _loan,
    ("loan-change-status", "post"): lambda w: {"status": "HOLD", "reason": "Driver on leave\nuntil May"},
    ("loan-installment-post", "post"): lambda w: {"installment_ids": [_scheduled(Loan, w.loan_open)]},
    ("violation-list", "post"): lambda w: {
        "summons_number": "1000000002",
        "plate": w.vehicle.plate_number,
        "state": "NY",
        "license_type": "OMT",
        "issue_date": "2025-09-30",
        "violation_time": "11:20A",
        "violation": "DOUBLE PARKING",
        "fine_amount": "115.00",
        "penalty_amount": "10.00",
        "interest_amount": "0.00",
        "reduction_amount": "0.00",
        "payment_amount": "0.00",
        "amount_due": "125.00",
        "precinct": "14",
        "county": "NY",
        "issuing_agency": "TRAFFIC",
        "violation_status": "HEARING PENDING",
    },
    ("violation-reassign", "post"): lambda w: {
        "driver_id": w.spare_lease.primary_driver_id,
        "lease_id": w.spare_lease.pk,
        "reason": "The other cab had\nthe plate that day",
    },
    ("violation-reverse", "post"): lambda w: {"reason": "Charged to the wrong\ndriver"},
    ("tlc-summons-list", "post"): lambda w: {
        "summons_number": "TLC2",
        "driver_id": w.driver.pk,
        "lease_id": w.lease.pk,
        "medallion_id": w.medallion.pk,
        "violation_type_id": TlcViolationType.objects.order_by("pk").first().pk,
        "violation_date": "2025-09-30",
        "amount": "100.00",
        "disposition": "REDUCED",
        "reduced_amount": "60.00",
    },
    ("tlc-summons-disposition", "post"): lambda w: {
        "disposition": "REDUCED",
        "reduced_amount": "60.00",
        "reason": "Reduced at\nthe hearing",
    },
    ("payout-run-list", "post"): lambda w: {"period": P1.isoformat()},
    ("payout-run-cancel", "post"): lambda w: {"reason": "Prepared with the\nwrong minimum"},
    ("payout-ach-return", "post"): lambda w: {
        "trace_number": Payout.objects.get(method="ACH").trace_number,
        "return_code": "R01",
        "returned_on": timezone.localdate().isoformat(),
    },
    ("payout-check-void", "post"): lambda w: {
        "check_number": Payout.objects.get(method="CHECK", check_number__isnull=False).check_number,
        "reason": "Lost in\nthe mail",
    },
    ("misc-charge-list", "post"): lambda w: {
        "driver_id": w.driver.pk,
        "lease_id": w.lease.pk,
        "charge_type_id": MiscChargeType.objects.first().pk,
        "amount": "40.00",
        "note": "Seats and floor mats",
    },
    ("misc-charge-reverse", "post"): lambda w: {"reason": "Entered for\nthe wrong driver"},
    ("misc-credit-list", "post"): lambda w: {
        "driver_id": w.driver.pk,
        "lease_id": w.lease.pk,
        "amount": "15.00",
        "note": "Overcharged tolls",
    },
    ("misc-credit-reverse", "post"): lambda w: {"reason": "Approved\nby mistake"},
    ("deposit-list", "post"): lambda w: {
        "driver_id": w.spare_lease.primary_driver_id,
        "lease_id": w.spare_lease.pk,
        "deposit_amount": "500.00",
        "collection": "INSTALLMENTS",
        "installment_count": 4,
        "start_week": "NEXT",
    },
    ("deposit-release", "post"): lambda w: {"reason": "Driver settled\nin person"},
}
