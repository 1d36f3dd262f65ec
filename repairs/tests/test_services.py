import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.utils import timezone

from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.models import AuditEvent
from batpay.periods import next_period, period_start
from ledger import services as ledger
from ledger.selectors import obligation_balances
from repairs import services
from repairs.models import RepairInstallment, RepairInvoice

from .conftest import P1

P2, P3, P4, P5 = (P1 + dt.timedelta(days=7 * k) for k in range(1, 5))


def statuses(invoice):
    return list(invoice.installments.order_by("sequence").values_list("status", flat=True))


def test_create_builds_a_draft_with_its_schedule(make_repair, finance):
    invoice = make_repair("1200.00", confirm=False)
    assert invoice.repair_id == f"RPR-{timezone.localdate().year}-001"
    assert invoice.status == "DRAFT"
    assert invoice.weekly_installment_amount == D("250.00")
    assert (invoice.vehicle_id, invoice.medallion_id) == (invoice.lease.vehicle_id, invoice.lease.medallion_id)
    rows = list(invoice.installments.values_list("installment_id", "period_start", "period_end", "amount", "status"))
    assert rows == [
        (f"{invoice.repair_id}-01", P1, P1 + dt.timedelta(days=6), D("250.00"), "SCHEDULED"),
        (f"{invoice.repair_id}-02", P2, P2 + dt.timedelta(days=6), D("250.00"), "SCHEDULED"),
        (f"{invoice.repair_id}-03", P3, P3 + dt.timedelta(days=6), D("250.00"), "SCHEDULED"),
        (f"{invoice.repair_id}-04", P4, P4 + dt.timedelta(days=6), D("250.00"), "SCHEDULED"),
        (f"{invoice.repair_id}-05", P5, P5 + dt.timedelta(days=6), D("200.00"), "SCHEDULED"),
    ]
    assert AuditEvent.objects.filter(action="repairs.create", object_id=invoice.repair_id, actor=finance).exists()
    second = make_repair("100.00")
    assert second.repair_id.endswith("-002")


def test_current_and_next_follow_the_entry_date(make_repair):
    this_week = period_start(timezone.localdate())
    assert make_repair(start_week="CURRENT").start_week == this_week
    assert make_repair(start_week="NEXT").start_week == next_period(this_week)


def test_an_additional_driver_may_be_charged(fleet, finance):
    lease = fleet.lease()
    extra = fleet.driver()
    lease.additional_drivers.add(extra)
    invoice = services.repair_create(
        driver_id=extra.pk,
        lease_id=lease.pk,
        invoice_number="A-1",
        invoice_date=dt.date(2025, 9, 30),
        workshop_type="EXTERNAL",
        repair_amount=D("150.00"),
        start_week=P1,
        actor=finance,
    )
    assert invoice.driver_id == extra.pk


def test_bad_input_names_every_bad_field(fleet, finance):
    lease = fleet.lease()
    other = fleet.lease()
    with pytest.raises(InvalidInput) as caught:
        services.repair_create(
            driver_id=lease.primary_driver_id,
            lease_id=other.pk,
            vehicle_id=lease.vehicle_id,
            invoice_number=" ",
            invoice_date=timezone.localdate() + dt.timedelta(days=1),
            workshop_type="GARAGE",
            repair_amount=D("0"),
            start_week="2025-10-01",
            actor=finance,
        )
    assert set(caught.value.fields) == {
        "lease_id",
        "vehicle_id",
        "invoice_number",
        "invoice_date",
        "workshop_type",
        "repair_amount",
        "start_week",
    }
    assert not RepairInvoice.objects.exists()


def test_unknown_driver_and_mismatched_medallion(fleet, finance):
    lease = fleet.lease()
    other = fleet.lease()
    with pytest.raises(InvalidInput) as caught:
        services.repair_create(
            driver_id=999999,
            lease_id=lease.pk,
            medallion_id=other.medallion_id,
            invoice_number="X",
            invoice_date=dt.date(2025, 9, 1),
            workshop_type="BIG_APPLE",
            repair_amount=D("10.00"),
            start_week=P1,
            actor=finance,
        )
    assert set(caught.value.fields) == {"driver_id", "medallion_id"}


def test_duplicate_invoice_per_vehicle_ignoring_case(make_repair, fleet):
    lease = fleet.lease()
    first = make_repair(lease=lease, invoice_number="WS-100")
    with pytest.raises(Conflict) as caught:
        make_repair(lease=lease, invoice_number="ws-100 ")
    assert caught.value.code == ErrorCode.DUPLICATE_INVOICE
    assert list(caught.value.fields) == ["invoice_number"]
    # Another vehicle may carry the same workshop number.
    assert make_repair(invoice_number="WS-100").repair_id != first.repair_id


def test_a_cancelled_invoice_can_be_entered_again(make_repair, fleet, finance):
    lease = fleet.lease()
    wrong = make_repair(lease=lease, invoice_number="WS-7")
    services.repair_change_status(
        repair_id=wrong.repair_id, status="CANCELLED", reason="wrong start week", actor=finance
    )
    again = make_repair(lease=lease, invoice_number="WS-7", start_week=P2)
    assert again.status == "OPEN"


def test_draft_edit_rebuilds_the_schedule(make_repair, finance):
    invoice = make_repair("1200.00", confirm=False)
    services.repair_update(
        repair_id=invoice.repair_id, changes={"repair_amount": D("450.00"), "start_week": P2}, actor=finance
    )
    invoice.refresh_from_db()
    assert invoice.weekly_installment_amount == D("100.00")
    assert list(invoice.installments.values_list("sequence", "period_start", "amount")) == [
        (1, P2, D("100.00")),
        (2, P3, D("100.00")),
        (3, P4, D("100.00")),
        (4, P5, D("100.00")),
        (5, P5 + dt.timedelta(days=7), D("50.00")),
    ]


def test_after_confirmation_amounts_are_frozen(make_repair, finance):
    invoice = make_repair("1200.00")
    with pytest.raises(Conflict) as caught:
        services.repair_update(repair_id=invoice.repair_id, changes={"repair_amount": D("900.00")}, actor=finance)
    assert caught.value.code == ErrorCode.INVALID_TRANSITION
    assert list(caught.value.fields) == ["repair_amount"]
    # Sending back what was read is no change; the description may still be corrected.
    services.repair_update(
        repair_id=invoice.repair_id,
        changes={"repair_amount": "1200.00", "start_week": P1.isoformat(), "repair_description": "Rear bumper"},
        actor=finance,
    )
    invoice.refresh_from_db()
    assert (invoice.repair_amount, invoice.repair_description) == (D("1200.00"), "Rear bumper")
    assert invoice.installments.count() == 5


def test_lifecycle_through_the_services(make_repair, finance):
    invoice = make_repair(confirm=False)
    with pytest.raises(Conflict):
        services.repair_change_status(repair_id=invoice.repair_id, status="HOLD", reason="why not", actor=finance)
    invoice = services.repair_confirm(repair_id=invoice.repair_id, actor=finance)
    assert invoice.status == "OPEN" and invoice.confirmed_at
    with pytest.raises(Conflict):
        services.repair_confirm(repair_id=invoice.repair_id, actor=finance)
    with pytest.raises(InvalidInput) as caught:
        services.repair_change_status(repair_id=invoice.repair_id, status="HOLD", reason=" ", actor=finance)
    assert list(caught.value.fields) == ["reason"]
    invoice = services.repair_change_status(
        repair_id=invoice.repair_id, status="HOLD", reason="driver on leave", actor=finance
    )
    assert (invoice.status, invoice.status_reason) == ("HOLD", "driver on leave")
    invoice = services.repair_change_status(repair_id=invoice.repair_id, status="OPEN", actor=finance)
    assert invoice.status == "OPEN"
    with pytest.raises(InvalidInput):
        services.repair_change_status(repair_id=invoice.repair_id, status="CLOSED", reason="x", actor=finance)
    invoice = services.repair_change_status(
        repair_id=invoice.repair_id, status="CANCELLED", reason="entered twice", actor=finance
    )
    assert invoice.status == "CANCELLED"
    assert set(statuses(invoice)) == {"CANCELLED"}
    with pytest.raises(Conflict):
        services.repair_change_status(repair_id=invoice.repair_id, status="OPEN", actor=finance)
    with pytest.raises(NotFound):
        services.repair_confirm(repair_id="RPR-1999-001", actor=finance)
    actions = list(AuditEvent.objects.filter(object_id=invoice.repair_id).values_list("action", flat=True))
    assert {"repairs.create", "repairs.confirm", "repairs.hold", "repairs.resume", "repairs.cancel"} <= set(actions)


def test_posting_twice_is_a_conflict_and_cancelling_after_a_posting_too(make_repair, finance):
    invoice = make_repair("1200.00")
    first = f"{invoice.repair_id}-01"
    summary = services.repair_installments_post(installment_ids=[first], actor=finance)
    assert (summary.installments, summary.amount) == (1, D("250.00"))
    installment = RepairInstallment.objects.get(installment_id=first)
    assert installment.status == "POSTED" and installment.posting_id and installment.posted_at
    balance = obligation_balances(category="REPAIRS", source_references=[first])[first]
    assert (balance.original_amount, balance.status) == (D("250.00"), "OPEN")

    with pytest.raises(Conflict) as caught:
        services.repair_installments_post(installment_ids=[first], actor=finance)
    assert caught.value.code == ErrorCode.ALREADY_POSTED
    with pytest.raises(Conflict) as caught:
        services.repair_change_status(repair_id=invoice.repair_id, status="CANCELLED", reason="too late", actor=finance)
    assert caught.value.code == ErrorCode.INVALID_TRANSITION
    invoice.refresh_from_db()
    assert invoice.status == "OPEN"


def test_manual_post_is_all_or_nothing(make_repair, finance):
    invoice = make_repair("500.00")
    held = make_repair("300.00")
    services.repair_change_status(repair_id=held.repair_id, status="HOLD", reason="dispute", actor=finance)
    with pytest.raises(Conflict) as caught:
        services.repair_installments_post(
            installment_ids=[f"{invoice.repair_id}-01", f"{held.repair_id}-01"], actor=finance
        )
    assert caught.value.code == ErrorCode.INVALID_TRANSITION
    with pytest.raises(InvalidInput) as caught:
        services.repair_installments_post(installment_ids=[f"{invoice.repair_id}-01", "RPR-1999-001-01"], actor=finance)
    assert list(caught.value.fields) == ["installment_ids"]
    assert not RepairInstallment.objects.exclude(status="SCHEDULED").exists()
    # Early: installment 5 falls due weeks from now but may be posted on request.
    services.repair_installments_post(installment_ids=[f"{invoice.repair_id}-05"], actor=finance)
    assert statuses(invoice) == ["SCHEDULED"] * 4 + ["POSTED"]


def test_the_job_posts_what_is_due_skips_hold_and_draft_and_is_idempotent(make_repair, finance):
    open_plan = make_repair("1200.00")
    held = make_repair("300.00")
    draft = make_repair("300.00", confirm=False)
    services.repair_change_status(repair_id=held.repair_id, status="HOLD", reason="dispute", actor=finance)

    summary = services.repair_installments_post_due(period=P2)
    assert (summary.installments, summary.amount) == (2, D("500.00"))
    assert statuses(open_plan) == ["POSTED", "POSTED", "SCHEDULED", "SCHEDULED", "SCHEDULED"]
    assert set(statuses(held)) == {"SCHEDULED"}
    assert set(statuses(draft)) == {"SCHEDULED"}

    again = services.repair_installments_post_due(period=P2)
    assert (again.installments, again.amount) == (0, D("0.00"))
    dry = services.repair_installments_post_due(period=P5, dry_run=True)
    assert (dry.installments, dry.amount) == (3, D("700.00"))
    assert statuses(open_plan).count("POSTED") == 2

    # Resumed, the held plan catches up: both its overdue installments are posted next run.
    services.repair_change_status(repair_id=held.repair_id, status="OPEN", actor=finance)
    summary = services.repair_installments_post_due(period=P5)
    assert (summary.installments, summary.amount) == (6, D("1000.00"))
    assert set(statuses(held)) == {"POSTED"}


def test_earnings_pay_off_a_plan_which_closes_and_a_void_reopens_it(make_repair, finance):
    invoice = make_repair("450.00")  # 100, 100, 100, 100, 50
    lease, driver = invoice.lease, invoice.driver
    services.repair_installments_post_due(period=P5)
    assert set(statuses(invoice)) == {"POSTED"}

    ledger.apply_earnings(driver=driver, lease=lease, period=P1, amount=D("150.00"), actor=finance)
    assert statuses(invoice) == ["PAID", "POSTED", "POSTED", "POSTED", "POSTED"]
    invoice.refresh_from_db()
    assert invoice.status == "OPEN"

    ledger.apply_earnings(driver=driver, lease=lease, period=P5, amount=D("300.00"), actor=finance)
    assert statuses(invoice) == ["PAID", "PAID", "PAID", "PAID", "POSTED"]
    last = RepairInstallment.objects.get(installment_id=f"{invoice.repair_id}-05")
    balance = obligation_balances(category="REPAIRS", source_references=[last.installment_id])[last.installment_id]
    receipt = ledger.apply_interim_payment(
        driver=driver,
        lease=lease,
        amount=D("50.00"),
        method="CASH",
        allocations=[ledger.Allocation(balance_id=balance.balance_id, amount=D("50.00"))],
        actor=finance,
    )
    assert set(statuses(invoice)) == {"PAID"}
    invoice.refresh_from_db()
    assert invoice.status == "CLOSED"
    assert AuditEvent.objects.filter(action="repairs.close", object_id=invoice.repair_id).exists()

    # Voiding the cashier's payment of the last installment reopens it, and the plan with it (the
    # money waits on the receipt as credit: credit pays rent only). A voided *earnings* payment
    # would be paid again at once from the earnings it hands back (docs/rules.md, "Voids").
    payment = receipt.postings.get(obligation__source_reference=last.installment_id)
    ledger.void_posting(posting=payment, reason="cash counted twice", actor=finance)
    last.refresh_from_db()
    invoice.refresh_from_db()
    assert (last.status, invoice.status) == ("POSTED", "OPEN")
    assert AuditEvent.objects.filter(action="repairs.reopen", object_id=invoice.repair_id).exists()
    call_command("check_ledger")


def test_voiding_a_charge_cancels_its_installment(make_repair, finance):
    invoice = make_repair("200.00")
    services.repair_installments_post_due(period=P1)
    installment = invoice.installments.get()
    ledger.void_posting(posting=installment.posting_id, reason="charged to the wrong driver", actor=finance)
    installment.refresh_from_db()
    invoice.refresh_from_db()
    assert installment.status == "CANCELLED"
    assert invoice.status == "CLOSED"  # nothing is left to pay
