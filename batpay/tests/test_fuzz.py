"""Schemathesis over the whole API: every operation of the schema the application serves, run
against the application itself on a fleet with every kind of record, as a superuser.

Each request must answer without a server error, with a status code, a content type and a body
that the operation's schema documents (`batpay.testing.CONFORMANCE_CHECKS`). Generated path
parameters, filters and body ids are often (`probability`) the ids of real rows, so requests reach
past the 404. After the operations one by one (schemathesis' examples, coverage and fuzzing
phases), a stateful run chains them along the links schemathesis infers (create → retrieve, list
→ void, …). The ledger's invariants hold at the end. The run prints how many requests it made and
what it found; any finding fails the test.

`make test` runs the bounded `test_the_api_answers_as_its_schema_says`; the one marked `slow`
(`pytest -m slow batpay/tests/test_fuzz.py`) runs the same with many more examples.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import hypothesis
import pytest
from django.core.management import call_command
from django.db import transaction
from schemathesis.core.failures import FailureGroup
from schemathesis.pytest.lazy import get_all_tests
from werkzeug.test import Client

from batpay.models import ExportFile
from batpay.testing import CONFORMANCE_CHECKS, requests_in_this_transaction, served_schema
from batpay.wsgi import application
from charges.models import MiscCharge, MiscChargeType, MiscCredit
from charges.services import misc_charge_create, misc_credit_create
from deposits.models import Deposit
from deposits.services import deposit_create
from lease_schedules.services import lease_terminate
from leases.models import Driver, Lease, Medallion, Vehicle
from ledger import services as ledger
from ledger.models import Category, ObligationBalance, Posting, Receipt, Refund
from loans.models import Loan, LoanInstallment
from loans.services import loan_create
from payouts.models import Payout, PayoutRun
from payouts.testing import payout_runs
from plans.cases import case_create
from plans.models import Case
from repairs.models import RepairInstallment, RepairInvoice
from repairs.services import repair_create, repair_installments_post
from statements.close import close_earnings
from statements.dtr import generate_dtrs, void_dtr
from statements.models import DriverTransactionReport, Trip, TripImport, TripImportRow
from statements.tests.trip_files import import_lines, trip, worked_example
from tolls.models import Toll, TollImport, TollImportRow
from tolls.services import tolls_post_due
from tolls.tests.toll_files import import_lines as import_tolls
from tolls.tests.toll_files import plate_of, toll
from violations.models import TlcSummons, TlcViolationType, Violation, ViolationImport
from violations.services import tlc_summons_create
from violations.tests.files import import_pvb, pvb

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)

# Chained calls also check that what was created can be read, and what was deleted cannot.
STATEFUL_CHECKS = ("ensure_resource_availability", "use_after_free")


@dataclass(frozen=True)
class Budget:
    coverage_mode: str  # the coverage phase's cases: "positive" (valid boundary values) or "all" (and each violation)
    coverage_skips: tuple[str, ...]  # methods left to fuzzing alone (a PATCH reads its create's input serializer)
    fuzz_examples: int  # random cases per operation, valid and invalid
    stateful_scenarios: int
    stateful_steps: int


# About 2,500 requests, a minute and a half on the 2-core machine; SLOW about 20,000 in ten minutes.
FAST = Budget(coverage_mode="positive", coverage_skips=("PATCH",), fuzz_examples=4, stateful_scenarios=15,
              stateful_steps=6)  # fmt: skip
SLOW = Budget(coverage_mode="all", coverage_skips=(), fuzz_examples=150, stateful_scenarios=300, stateful_steps=12)


# --- the fleet on file ------------------------------------------------------------------------


@pytest.fixture
def fleet_on_file(db, make_user, fleet, finance, settings, tmp_path) -> dict[str, list]:
    """Every kind of record the API serves, through the real services; returns their ids by kind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    leases = [fleet.lease() for _ in range(4)]
    leases[0].primary_driver.email = "amadou.diallo@example.com"
    leases[0].primary_driver.save()
    for n, lease in enumerate(leases[:2]):
        import_lines(worked_example(lease, P1, prefix=f"L{n}"))
    # One row kept for review: a medallion the fleet does not have.
    import_lines([trip("X-1", leases[0].primary_driver, "9Z99", dt.datetime(2025, 9, 30, 9))], name="stray.csv")
    ledger.create_obligation(
        category=Category.LEASE, amount=Decimal("500.00"), source_reference="LEASE-FUZZ",
        driver=leases[0].primary_driver, lease=leases[0], period=P1,
    )  # fmt: skip
    close_earnings(period=P1)
    generate_dtrs(period=P1, render=False)
    void_dtr(dtr_number=DriverTransactionReport.objects.order_by("pk").first().dtr_number, reason="A wrong figure.")
    repair = repair_create(
        driver_id=leases[1].primary_driver_id, lease_id=leases[1].pk, invoice_number="INV-1",
        invoice_date=dt.date(2025, 9, 30), workshop_type="BIG_APPLE", repair_description="Front bumper",
        repair_amount=Decimal("1200.00"), start_week=P1, actor=finance, confirm=True,
    )  # fmt: skip
    repair_installments_post(installment_ids=[repair.installments.order_by("sequence").first().installment_id],
                             actor=finance)  # fmt: skip
    repair_create(
        driver_id=leases[2].primary_driver_id, lease_id=leases[2].pk, invoice_number="INV-2",
        invoice_date=dt.date(2025, 9, 30), workshop_type="BIG_APPLE", repair_description="Mirror",
        repair_amount=Decimal("300.00"), start_week=P2, actor=finance, confirm=False,
    )  # fmt: skip
    for confirm in (True, False):
        loan_create(
            driver_id=leases[2].primary_driver_id, lease_id=leases[2].pk, loan_amount=Decimal("1200.00"),
            interest_rate=Decimal("10"), loan_date=dt.date(2025, 10, 1), start_week="CURRENT",
            purpose="Security deposit", actor=finance, confirm=confirm,
        )  # fmt: skip
    ledger.apply_interim_payment(
        driver=leases[1].primary_driver, lease=leases[1], amount=Decimal("100.00"), method="CASH", actor=finance
    )
    ledger.void_posting(posting=Posting.objects.filter(receipt__isnull=False).order_by("pk").first(),
                        reason="Entered on the wrong lease.", actor=finance)  # fmt: skip
    credit = ledger.record_prepayment(
        driver=leases[0].primary_driver, lease=leases[0], amount=Decimal("5000.00"), method="ACH", actor=finance
    )  # more than the rent: credit waits, for the Controllers' credit routes
    ledger.refund_credit(
        receipt_id=credit.pk, amount=Decimal("1.00"), method="CHECK", reference="CHK-1", reason="Asked for it back"
    )
    lease_terminate(actor=finance, lease=leases[3], termination_date=dt.date(2025, 10, 20), reason="Driver left")
    misc_charge_create(
        driver_id=leases[0].primary_driver_id, lease_id=leases[0].pk, actor=finance, amount=Decimal("35.00"),
        charge_type_id=MiscChargeType.objects.first().pk,
    )  # fmt: skip
    misc_credit_create(
        driver_id=leases[1].primary_driver_id, lease_id=leases[1].pk, amount=Decimal("20.00"), note="Goodwill",
        actor=finance,
    )  # fmt: skip
    deposit_create(
        driver_id=leases[2].primary_driver_id, lease_id=leases[2].pk, deposit_amount=Decimal("300.00"),
        collection="AT_ONCE", actor=finance,
    )  # fmt: skip
    case_create(flow_name="REPAIR", actor=finance)
    case_create(flow_name="LOAN", actor=finance)
    import_pvb([pvb("1000000001", leases[0].vehicle.plate_number, "09/30/2025", "10:05A"),
                pvb("1000000002", "NOSUCH1", "09/30/2025", "10:05A"), "bad,row"], actor=finance)  # fmt: skip
    tlc_summons_create(summons_number="TLC1", driver_id=leases[0].primary_driver_id, lease_id=leases[0].pk,
                       violation_type_id=TlcViolationType.objects.order_by("pk").first().pk,
                       violation_date=dt.date(2025, 9, 30), amount=Decimal("100.00"), actor=finance)  # fmt: skip
    tuesday = dt.datetime(2025, 9, 30, 8, 0)
    import_tolls(
        [
            toll("FZ-1", plate_of(leases[0]), tuesday, "($6.94)"),
            toll("FZ-2", "NY NOBODY1", tuesday, "($2.00)"),  # no lease: kept to reassign
            toll("FZ-3", plate_of(leases[1]), tuesday, "(bad)"),  # kept for review
        ],
        actor=finance,
    )
    tolls_post_due(period=P2)
    payout_runs(fleet=fleet, approver=make_user("Controller"), period=P1)

    def ids(queryset, field="pk"):
        return [str(value) for value in queryset.order_by("pk").values_list(field, flat=True)]

    return {
        "drivers": ids(Driver.objects),
        "vehicles": ids(Vehicle.objects),
        "medallions": ids(Medallion.objects),
        "leases": ids(Lease.objects),
        "repairs": ids(RepairInvoice.objects, "repair_id"),
        "repair_installments": ids(RepairInstallment.objects, "installment_id"),
        "loans": ids(Loan.objects, "loan_id"),
        "loan_installments": ids(LoanInstallment.objects, "installment_id"),
        "balances": ids(ObligationBalance.objects),
        "postings": ids(Posting.objects),
        "receipts": ids(Receipt.objects),
        "refunds": ids(Refund.objects),
        "dtrs": ids(DriverTransactionReport.objects, "dtr_number"),
        "trips": ids(Trip.objects),
        "trip_imports": ids(TripImport.objects),
        "trip_rows": ids(TripImportRow.objects),
        "cases": ids(Case.objects, "case_no"),
        "violations": ids(Violation.objects),
        "violation_imports": ids(ViolationImport.objects),
        "tlc_summonses": ids(TlcSummons.objects),
        "tlc_violation_types": ids(TlcViolationType.objects),
        "tolls": ids(Toll.objects),
        "toll_imports": ids(TollImport.objects),
        "toll_rows": ids(TollImportRow.objects),
        "payout_runs": ids(PayoutRun.objects),
        "payouts": ids(Payout.objects),
        "misc_charges": ids(MiscCharge.objects, "misc_id"),
        "misc_credits": ids(MiscCredit.objects, "credit_id"),
        "deposits": ids(Deposit.objects, "deposit_id"),
        "exports": ids(ExportFile.objects) or ["6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"],
    }


# Which rows a path parameter names, by the path up to it. Every path parameter of the schema
# must be here (checked), so a new endpoint gets real ids too.
PATH_IDS = {
    "/api/drivers/{id}": "drivers",
    "/api/drivers/{driver_id}": "drivers",  # /api/drivers/{driver_id}/account
    "/api/vehicles/{id}": "vehicles",
    "/api/medallions/{id}": "medallions",
    "/api/leases/{id}": "leases",
    "/api/repairs/{repair_id}": "repairs",
    "/api/loans/{loan_id}": "loans",
    "/api/ledger/balances/{id}": "balances",
    "/api/ledger/postings/{id}": "postings",
    "/api/ledger/receipts/{id}": "receipts",
    "/api/ledger/refunds/{id}": "refunds",
    "/api/ledger/drivers/{driver_id}": "drivers",
    "/api/ledger/trips/{id}": "trips",
    "/api/ledger/trip-imports/{id}": "trip_imports",
    "/api/ledger/trip-rows/{id}": "trip_rows",
    "/api/dtrs/{dtr_number}": "dtrs",
    "/api/cases/{case_no}": "cases",
    "/api/violations/{id}": "violations",
    "/api/violations/imports/{id}": "violation_imports",
    "/api/tlc-summonses/{id}": "tlc_summonses",
    "/api/tlc-violation-types/{id}": "tlc_violation_types",
    "/api/tolls/imports/{id}": "toll_imports",
    "/api/tolls/kept-rows/{id}": "toll_rows",
    "/api/tolls/{id}": "tolls",
    "/api/payouts/runs/{id}": "payout_runs",
    "/api/payouts/payouts/{id}": "payouts",
    "/api/misc-charges/{misc_id}": "misc_charges",
    "/api/misc-credits/{credit_id}": "misc_credits",
    "/api/deposits/{deposit_id}": "deposits",
    "/api/exports/{export_id}": "exports",
}
# Filters and body fields that name a row, wherever they appear.
FIELD_IDS = {
    "driver_id": "drivers",
    "vehicle_id": "vehicles",
    "medallion_id": "medallions",
    "lease_id": "leases",
    "repair_id": "repairs",
    "loan_id": "loans",
}


def schemathesis_config(on_file: dict[str, list], budget: Budget, seed: int) -> dict:
    bindings = {
        f"{location}.{name}": {"dictionary": kind, "probability": 0.5}
        for name, kind in FIELD_IDS.items()
        for location in ("query", "body")
    }
    bindings["body.additional_driver_ids[*]"] = {"dictionary": "drivers", "probability": 0.5}
    bindings["body.allocations[*].balance_id"] = {"dictionary": "balances", "probability": 0.5}
    operations = [
        {
            "include-path-regex": f"^{re.escape(prefix)}",
            "parameters": {f"path.{prefix.rsplit('{', 1)[1][:-1]}": {"dictionary": kind, "probability": 0.7}},
        }
        for prefix, kind in PATH_IDS.items()
    ]
    operations += [
        {
            "include-path": f"/api/{plans}/installments/post",
            "parameters": {"body.installment_ids[*]": {"dictionary": f"{plans[:-1]}_installments", "probability": 0.7}},
        }
        for plans in ("repairs", "loans")
    ]
    operations += [
        {"include-method": method, "phases": {"coverage": {"enabled": False}}} for method in budget.coverage_skips
    ]
    return {
        "seed": seed,
        "dictionaries": {kind: {"values": values} for kind, values in on_file.items() if values},
        "parameters": bindings,
        "operations": operations,
        "generation": {"max-examples": budget.fuzz_examples, "mode": "all", "database": "none"},
        "phases": {
            "coverage": {"generation": {"mode": budget.coverage_mode}},
            "stateful": {
                "max-steps": budget.stateful_steps,
                "checks": {name: {"enabled": True} for name in (*CONFORMANCE_CHECKS, *STATEFUL_CHECKS)},
            },
        },
    }


# --- running it -------------------------------------------------------------------------------


# A call that revokes the token it is sent with.
REVOKE = ("DELETE", "/api/auth/token/")


@dataclass
class Run:
    """A fuzz run: sends the requests, keeps its token, counts and records what it found."""

    seed: int
    new_token: Callable[[], str]  # a login
    token: str = ""  # the run's: every generated request sends it
    spare_token: str = ""
    requests: int = 0
    by_phase: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)
    findings: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (operation, check, detail) → curl
    seconds: float = 0.0

    def send(self, case, **kwargs):
        """One request, in a savepoint: a server error is rolled back as its own transaction would be."""
        revokes = (case.method, case.operation.path) == REVOKE
        if revokes:
            self.spare_the_token(case, kwargs.get("headers"))
        savepoint = transaction.savepoint()
        response = case.call(**kwargs)
        if response.status_code >= 500:
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
        if revokes and response.status_code < 300:
            self.spare_token = ""
        phase = case.meta.phase.name.value if case.meta else "stateful"
        self.requests += 1
        self.by_phase[phase] = self.by_phase.get(phase, 0) + 1
        self.by_status[response.status_code] = self.by_status.get(response.status_code, 0) + 1
        return response

    def spare_the_token(self, case, *headers) -> None:
        """The run's token must last the run: a revocation sent with it goes with a spare one instead."""
        self.spare_token = self.spare_token or self.new_token()
        for sent in (case.headers, *headers):
            if sent is not None and sent.get("Authorization") == f"Bearer {self.token}":
                sent["Authorization"] = f"Bearer {self.spare_token}"

    def validate(self, case, response, **kwargs) -> None:
        try:
            case.validate_response(response, **kwargs)
        except FailureGroup as group:
            for failure in group.exceptions:
                detail = " ".join(str(failure.message).split())[:160]
                self.findings.setdefault((case.operation.label, failure.title, detail), case.as_curl_command())

    def summary(self) -> str:
        phases = ", ".join(f"{phase} {count}" for phase, count in self.by_phase.items())
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.by_status.items()))
        lines = [
            f"schemathesis (seed {self.seed}): {self.requests} requests in {self.seconds:.0f} s ({phases}); "
            f"statuses {statuses}; {len(self.findings)} findings"
        ]
        lines += [
            f"  {op} — {check}: {detail}\n      {curl}" for (op, check, detail), curl in sorted(self.findings.items())
        ]
        return "\n".join(lines)


def run_schemathesis(on_file: dict[str, list], budget: Budget, run: Run) -> None:
    schema = served_schema(token=run.token, config=schemathesis_config(on_file, budget, run.seed))
    parameters = {re.sub(r"\}.*", "}", path) for path in schema.raw_schema["paths"] if "{" in path}
    assert parameters <= set(PATH_IDS), f"path parameters without real ids in PATH_IDS: {parameters - set(PATH_IDS)}"

    def one_case(case) -> None:
        run.validate(case, run.send(case))

    # One Hypothesis test per operation with the schema's examples, coverage and fuzzing phases:
    # what `schemathesis.pytest.from_fixture` runs, called here directly (its subtest reporting
    # needs a pytest node attribute pytest 9.2 no longer has) so one seeded fleet serves them all.
    for result in get_all_tests(schema=schema, test_func=one_case, settings=None, given_kwargs={}):
        _, test = result.ok()
        test()

    class Machine(schema.as_state_machine()):
        # Each scenario starts from the same fleet: what it wrote is rolled back when it ends, so
        # Hypothesis, which replays the choices of earlier scenarios, sees the same responses again.
        def setup(self):
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case):
            return {"headers": schema.config.headers_for(operation=case.operation)}

        def call(self, case, **kwargs):
            return run.send(case, **kwargs)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # The recorder holds the scenario's earlier calls, for the checks that look back.
            run.validate(case, response, transport_kwargs=kwargs or None, recorder=self.recorder)

    Machine.run(
        settings=hypothesis.settings(
            max_examples=budget.stateful_scenarios,
            stateful_step_count=budget.stateful_steps,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.generate],  # findings are recorded, not raised: nothing to shrink
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )


def log_in(user) -> str:
    """A token from POST /api/auth/token/, as a client gets one (make_user's password); inside
    `requests_in_this_transaction()`, like the run's own requests."""
    response = Client(application).post(
        "/api/auth/token/", json={"username": user.username, "password": "pw-for-tests-1"}
    )
    assert response.status_code == 200, response.text
    return response.json["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fuzz(on_file, make_user, budget: Budget, capsys) -> Run:
    """The run, its summary on the terminal (passing or not), and the ledger's invariants after it.
    FUZZ_SEED=<seed> repeats a run's generated data."""
    superuser = make_user(superuser=True)
    run = Run(seed=int(os.environ.get("FUZZ_SEED") or random.randrange(2**63)), new_token=lambda: log_in(superuser))
    started = time.perf_counter()
    try:
        with requests_in_this_transaction():
            run.token = run.new_token()
            run_schemathesis(on_file, budget, run)
    finally:
        run.seconds = time.perf_counter() - started
        with capsys.disabled():
            print("\n" + run.summary())
    call_command("check_ledger")
    return run


def test_the_api_answers_as_its_schema_says(fleet_on_file, make_user, capsys):
    run = fuzz(fleet_on_file, make_user, FAST, capsys)

    assert run.requests > 1000
    assert not run.findings, run.summary()


@pytest.mark.slow
def test_the_api_answers_as_its_schema_says_with_many_more_examples(fleet_on_file, make_user, capsys):
    run = fuzz(fleet_on_file, make_user, SLOW, capsys)

    assert run.requests > 15000
    assert not run.findings, run.summary()


# --- the places the schema and the responses disagreed, one request each ---------------------

# (method, path template, path parameters from the fleet on file, query, body, status)
DISAGREED = {
    "an e-mail left blank": ("GET", "/api/drivers/", {}, {"ordering": "id"}, None, 200),
    "a DTR not replaced": ("GET", "/api/dtrs/", {}, {"status": "ISSUED"}, None, 200),
    "a voided DTR's replacement": ("GET", "/api/dtrs/", {}, {"status": "VOIDED"}, None, 200),
    "a trip's taxes and fees (money, a string)": ("GET", "/api/ledger/trips/", {}, {}, None, 200),
    "the json export of repairs": ("GET", "/api/repairs/export", {}, {"format": "json"}, None, 200),
    "the json export of loan installments": (
        "GET", "/api/loans/installments/export", {}, {"format": "json"}, None, 200,
    ),
    "the csv export": ("GET", "/api/repairs/installments/export", {}, {"format": "csv"}, None, 200),
    "an export's unknown format": ("GET", "/api/loans/export", {}, {"format": "docx"}, None, 400),
    "unposted installments, a page": ("GET", "/api/repairs/installments/unposted", {}, {}, None, 200),
    "a page past the last": ("GET", "/api/drivers/", {}, {"page": "99"}, None, 404),
    "an unknown query parameter": ("GET", "/api/leases/", {}, {"lease": "1"}, None, 400),
    "no such row": ("GET", "/api/leases/{id}/", {"id": "999999"}, {}, None, 404),
    "no such plan to confirm": ("POST", "/api/repairs/{repair_id}/confirm", {"repair_id": "RPR-2020-9"}, {}, None, 404),
    "nested field errors": (
        "POST", "/api/ledger/interim-payments/", {}, {},
        {"driver_id": 1, "lease_id": 1, "amount": "10.00", "payment_method": "CASH", "allocations": [{"amount": "x"}]},
        400,
    ),
    "a record still referred to": ("DELETE", "/api/vehicles/{id}/", {"id": "vehicles"}, {}, None, 409),
}  # fmt: skip


def test_the_places_the_schema_and_the_responses_disagreed_now_agree(fleet_on_file, make_user, subtests):
    superuser = make_user(superuser=True)
    with requests_in_this_transaction():
        token = log_in(superuser)
        schema = served_schema(token=token)
        for name, (method, path, path_parameters, query, body, status) in DISAGREED.items():
            with subtests.test(name):
                parameters = {key: fleet_on_file.get(value, [value])[0] for key, value in path_parameters.items()}
                content = {} if body is None else {"body": body, "media_type": "application/json"}
                case = schema[path][method].Case(
                    path_parameters=parameters, query=query, headers=bearer(token), **content
                )
                response = case.call_and_validate()
                assert response.status_code == status, response.text

        response = schema["/api/leases/"]["GET"].Case(headers=bearer("not-a-token")).call_and_validate()
        assert response.status_code == 401
