"""Seed a scratch database through the real services of an OLD tree (used by test_migrate_forward).

Not a test module: test_migrate_forward copies this file into an extract of the commit before the
app-layout change and runs it there (`python _migfwd_seed.py WORKDIR`, cwd = that tree,
DATABASE_URL = the scratch database, already migrated), so every import below resolves to the OLD
code. It only uses what that commit has: its commands and its services, never hand-built rows.

Two past periods P0 < P1 (Sundays; P1 the last closed period):
  P0: the demo fleet goes live, repair invoices and loans start (created, confirmed, one by a
      guided-entry case each), every source posts, the week is closed (earnings, DTRs);
  P1: a trips CSV is imported, a cashier records an interim payment and a prepayment, a
      controller voids a credit and a repair charge, then the week is closed.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from decimal import Decimal
from importlib import import_module
from pathlib import Path

LEASES = 20


def main(workdir: Path) -> None:
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "batpay.settings")
    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    periods = import_module("batpay.periods")
    p1 = periods.last_closed_period()  # the week that ended last night at the latest: every job may run it
    p0 = periods.previous_period(p1)

    call_command("seed_demo", "--leases", str(LEASES), "--seed", "1", "--as-of", p0.isoformat(), verbosity=0)

    # The old layout's modules, by name: several no longer exist in the current tree, so neither
    # its linters nor its import contracts should take them for imports of the current code.
    cases = import_module("batpay.cases")
    case_create, case_submit = cases.case_create, cases.case_submit
    roles = import_module("batpay.roles")
    CASHIER, CONTROLLER, FINANCE = roles.CASHIER, roles.CONTROLLER, roles.FINANCE
    Lease = import_module("leases.models").Lease
    selectors = import_module("ledger.selectors")
    ledger = import_module("ledger.services")
    apply_interim_payment, record_prepayment, void_posting = (
        ledger.apply_interim_payment,
        ledger.record_prepayment,
        ledger.void_posting,
    )
    COLUMNS = import_module("ledger.trips").COLUMNS
    loans = import_module("loans.services")
    loan_confirm, loan_create = loans.loan_confirm, loans.loan_create
    repairs = import_module("repairs.services")
    repair_confirm, repair_create = repairs.repair_confirm, repairs.repair_create

    User = get_user_model()

    def user(name: str, role: str):
        made = User.objects.create_user(name, f"{name}@example.com", None, is_staff=True)  # no hashing cost
        made.groups.add(Group.objects.get(name=role))
        return made

    finance, cashier, controller = user("mf-finance", FINANCE), user("mf-cashier", CASHIER), user("mf-ctl", CONTROLLER)
    leases = list(Lease.objects.filter(status=Lease.Status.ACTIVE).select_related("medallion").order_by("pk"))
    assert len(leases) >= 8, f"seed_demo made {len(leases)} active leases"

    # --- repairs and loans: entered as drafts, then confirmed; one of each through a case --------
    for n, lease in enumerate(leases[:3]):
        draft = repair_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            invoice_number=f"MF-{n:03d}",
            invoice_date=p0,
            workshop_type="BIG_APPLE" if n % 2 else "EXTERNAL",
            repair_description="brake pads",
            repair_amount=Decimal("450.00") + n * Decimal("333.33"),
            start_week=p0,
            actor=finance,
        )
        repair_confirm(repair_id=draft.repair_id, actor=finance)
    repair_create(  # stays a DRAFT
        driver_id=leases[3].primary_driver_id,
        lease_id=leases[3].pk,
        invoice_number="MF-DRAFT",
        invoice_date=p0,
        workshop_type="EXTERNAL",
        repair_amount=Decimal("125.50"),
        start_week=p1,
        actor=finance,
    )
    for n, lease in enumerate(leases[4:6]):
        draft = loan_create(
            driver_id=lease.primary_driver_id,
            lease_id=lease.pk,
            loan_amount=Decimal("1200.00") + n * Decimal("777.77"),
            interest_rate=Decimal("7.5"),
            loan_date=p0,
            start_week=p0,
            purpose="deposit on a hybrid",
            actor=finance,
        )
        loan_confirm(loan_id=draft.loan_id, actor=finance)
    case = case_create(flow_name="REPAIR", actor=finance)
    case_submit(
        case_no=case.case_no,
        step_id="REPAIR_ENTER_DETAILS",
        data={
            "driver_id": leases[6].primary_driver_id,
            "lease_id": leases[6].pk,
            "invoice_number": "MF-CASE",
            "invoice_date": p0.isoformat(),
            "workshop_type": "BIG_APPLE",
            "repair_amount": "880.25",
            "start_week": p0.isoformat(),
        },
        actor=finance,
    )
    case = case_create(flow_name="LOAN", actor=finance)
    case_submit(
        case_no=case.case_no,
        step_id="LOAN_ENTER_DETAILS",
        data={
            "driver_id": leases[7].primary_driver_id,
            "lease_id": leases[7].pk,
            "loan_amount": "640.00",
            "loan_date": p0.isoformat(),
            "interest_rate": "4.25",
            "start_week": p0.isoformat(),
        },
        actor=finance,
    )
    case_create(flow_name="REPAIR", actor=finance)  # left open at its first step

    # --- week P0: post every source, close ---------------------------------------------------------
    call_command("post_due_installments", "--source", "all", "--period", p0.isoformat(), verbosity=0)
    call_command("weekly_close", "--period", p0.isoformat(), verbosity=0)

    # --- week P1: trips, cashier, controller, close ---------------------------------------------------
    monday = dt.datetime.combine(p1 + dt.timedelta(days=1), dt.time(7, 0))
    lines = [",".join(COLUMNS)]
    for n, lease in enumerate(leases[:12]):
        for k in range(4):
            start = monday + dt.timedelta(hours=5 * k + n)
            card = k != 3
            fare = Decimal("30.00") + n + k
            tips = Decimal("6.25") if card else Decimal("0.00")
            parts = {
                "fare": fare,
                "tips": tips,
                "tolls": Decimal("6.94") if k == 1 else Decimal("0.00"),
                "mta_surcharge": Decimal("0.50"),
                "improvement_surcharge": Decimal("1.00"),
                "congestion_fee": Decimal("2.50"),
                "cbdt_fee": Decimal("0.75"),
                "airport_fee": Decimal("1.75") if k == 2 else Decimal("0.00"),
            }
            values = [str(parts[name]) for name in COLUMNS[6:-1]]
            total = sum(Decimal(v) for v in values)
            lines.append(
                ",".join(
                    [
                        f"MF-{n:02d}-{k}",
                        lease.primary_driver.tlc_license_number,
                        lease.medallion.number,
                        start.isoformat(),
                        (start + dt.timedelta(minutes=19)).isoformat(),
                        "CARD" if card else "CASH",
                        *values,
                        f"{total:.2f}",
                    ]
                )
            )
    lines.append("MF-BAD,NOT-A-LICENSE,1A23,2020-01-01T00:00:00,2020-01-01T00:10:00,CARD,1,0,0,0,0,0,0,0,1.00")
    trips_csv = workdir / "trips.csv"
    trips_csv.write_text("\n".join(lines) + "\n")
    call_command("import_trips", str(trips_csv), verbosity=0)

    lease = leases[8]
    receipt = apply_interim_payment(
        driver=lease.primary_driver,
        lease=lease,
        amount=Decimal("150.00"),
        method="CASH",
        actor=cashier,
        idempotency_key="mf-interim-1",
        received_on=p1 + dt.timedelta(days=2),
        note="window",
    )
    record_prepayment(
        driver=leases[9].primary_driver,
        lease=leases[9],
        amount=Decimal("2500.00"),
        method="CHECK",
        actor=cashier,
        idempotency_key="mf-prepay-1",
        received_on=p1 + dt.timedelta(days=3),
    )
    credit = selectors.postings().filter(receipt_id=receipt.pk, entry_type="CREDIT").order_by("pk").first()
    assert credit is not None, "the interim payment paid nothing"
    void_posting(posting=credit.pk, reason="cashier keyed the wrong lease", actor=controller)
    repair_debits = selectors.postings().filter(category="REPAIRS", entry_type="DEBIT", status="POSTED")
    repair_debit = repair_debits.filter(reverses__isnull=True).order_by("pk").first()
    assert repair_debit is not None, "no repair installment was posted"
    void_posting(posting=repair_debit.pk, reason="invoice disputed by the workshop", actor=controller)

    call_command("weekly_close", "--period", p1.isoformat(), verbosity=0)
    call_command("check_ledger", verbosity=0)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
