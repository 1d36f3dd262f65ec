"""Misc charges and credits against the ledger: every amount to the cent, ending with check_ledger."""

from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from batpay.errors import Conflict, InvalidInput
from batpay.testing import set_clock
from charges import services
from charges.models import MiscCharge, MiscChargeType, MiscCredit
from ledger import services as ledger
from ledger.models import Category, ObligationBalance, Posting, Receipt

NOW = "2025-10-15T10:00:00-04:00"  # a Wednesday; its period starts Sunday 2025-10-12


@pytest.fixture
def lease(fleet, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # receipt scans go to a fresh folder, not the machine's media
    set_clock(monkeypatch, NOW)
    return fleet.lease()


def cleaning():
    return MiscChargeType.objects.get(name="Cleaning")


def charge(lease, category, amount, ref, period=None):
    return ledger.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=lease.primary_driver,
        lease=lease,
        period=period,
    )


def test_a_misc_charge_is_a_misc_obligation_at_once_and_a_reversal_voids_it(lease, finance):
    driver = lease.primary_driver
    scan = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 a receipt", content_type="application/pdf")
    first = services.misc_charge_create(
        driver_id=driver.pk,
        lease_id=lease.pk,
        charge_type_id=cleaning().pk,
        amount="85.50",
        note="Seats",
        receipt_file=scan,
        actor=finance,
    )
    second = services.misc_charge_create(
        driver_id=driver.pk, lease_id=lease.pk, charge_type_id=cleaning().pk, amount="10.00", actor=finance
    )
    assert (first.misc_id, second.misc_id) == ("MISC-2025-00001", "MISC-2025-00002")
    assert first.receipt_file.name.endswith("MISC-2025-00001.pdf")
    balance = ObligationBalance.objects.get(category=Category.MISC, source_reference="MISC-2025-00001")
    assert (balance.outstanding, balance.status, str(balance.due_period)) == (D("85.50"), "OPEN", "2025-10-12")
    assert balance.description == "Cleaning MISC-2025-00001: Seats"

    # Earnings pay part of it, then the charge is reversed: the payment goes back to the earnings.
    receipt = ledger.apply_earnings(driver=driver, lease=lease, period=balance.due_period, amount=D("50.00"))
    balance.refresh_from_db()
    assert balance.outstanding == D("35.50")  # 85.50 − 50.00
    services.misc_charge_reverse(misc_id=first.misc_id, reason="Entered for the wrong driver", actor=finance)
    balance.refresh_from_db()
    first.refresh_from_db()
    receipt.refresh_from_db()
    assert (balance.outstanding, balance.status, first.status) == (D("0.00"), "CLOSED", "REVERSED")
    # The 50.00 handed back pays the other open charge (10.00); 40.00 is due to the driver.
    assert receipt.unapplied == D("40.00")
    assert ObligationBalance.objects.get(source_reference="MISC-2025-00002").status == "CLOSED"
    with pytest.raises(Conflict):
        services.misc_charge_reverse(misc_id=first.misc_id, reason="Entered for the wrong driver", actor=finance)
    call_command("check_ledger")


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [("r.exe", b"MZ", "receipt_file"), ("r.pdf", b"GIF89a", "receipt_file"), ("r.png", b"%PDF-", "receipt_file")],
)
def test_a_receipt_file_must_be_what_its_name_says(lease, finance, name, content, field):
    upload = SimpleUploadedFile(name, content)
    with pytest.raises(InvalidInput) as refused:
        services.misc_charge_create(
            driver_id=lease.primary_driver.pk,
            lease_id=lease.pk,
            charge_type_id=cleaning().pk,
            amount="5.00",
            receipt_file=upload,
            actor=finance,
        )
    assert field in refused.value.fields
    assert not MiscCharge.objects.exists() and not ObligationBalance.objects.exists()


def test_an_oversized_receipt_file_is_refused(lease, finance, settings):
    settings.MISC_RECEIPT_MAX_BYTES = 10
    with pytest.raises(InvalidInput) as refused:
        services.misc_charge_create(
            driver_id=lease.primary_driver.pk,
            lease_id=lease.pk,
            charge_type_id=cleaning().pk,
            amount="5.00",
            receipt_file=SimpleUploadedFile("r.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20),
            actor=finance,
        )
    assert "receipt_file" in refused.value.fields


def test_an_inactive_type_and_bad_input_are_refused_naming_every_field(lease, finance):
    MiscChargeType.objects.filter(name="Lost key").update(active=False)
    with pytest.raises(InvalidInput) as refused:
        services.misc_charge_create(
            driver_id="x",
            lease_id=lease.pk,
            charge_type_id=MiscChargeType.objects.get(name="Lost key").pk,
            amount="-1",
            actor=finance,
        )
    assert set(refused.value.fields) == {"driver_id", "charge_type_id", "amount"}


def test_a_misc_credit_pays_open_balances_in_waterfall_order_and_the_rest_is_due(lease, finance):
    period = charge(lease, Category.MISC, "1.00", "X", None).due_period
    charge(lease, Category.MISC, "30.00", "MISC-A")
    charge(lease, Category.LEASE, "100.00", "LEASE-A")
    charge(lease, Category.TAXES, "20.00", "TAX-A")  # paid from earnings only
    charge(lease, Category.REPAIRS, "45.00", "RPR-A")
    credit = services.misc_credit_create(
        driver_id=lease.primary_driver.pk, lease_id=lease.pk, amount="200.00", note="Overcharged tolls", actor=finance
    )
    assert credit.credit_id == "MCR-2025-00001"
    outstanding = dict(ObligationBalance.objects.values_list("source_reference", "outstanding"))
    # LEASE (100.00) then REPAIRS (45.00) then MISC oldest first (1.00, then 30.00): 176.00; taxes untouched.
    assert outstanding == {"X": D("0"), "MISC-A": D("0"), "LEASE-A": D("0"), "TAX-A": D("20.00"), "RPR-A": D("0")}
    receipt = Receipt.objects.get(pk=credit.receipt_id)
    assert (receipt.kind, receipt.amount, receipt.unapplied) == ("DRIVER_CREDIT", D("200.00"), D("24.00"))
    # A later charge does not take the rest: it is the driver's.
    charge(lease, Category.LEASE, "100.00", "LEASE-B", period)
    receipt.refresh_from_db()
    assert receipt.unapplied == D("24.00")
    call_command("check_ledger")


def test_reversing_a_credit_reopens_what_it_paid_and_takes_its_money_back(lease, finance):
    charge(lease, Category.LEASE, "150.00", "LEASE-A")
    credit = services.misc_credit_create(
        driver_id=lease.primary_driver.pk, lease_id=lease.pk, amount="200.00", note="Goodwill", actor=finance
    )
    services.misc_credit_reverse(credit_id=credit.credit_id, reason="Approved by mistake", actor=finance)
    credit.refresh_from_db()
    receipt = Receipt.objects.get(pk=credit.receipt_id)
    lease_balance = ObligationBalance.objects.get(source_reference="LEASE-A")
    reversal = credit.reversal_charge
    assert (credit.status, lease_balance.outstanding, lease_balance.status) == ("REVERSED", D("150.00"), "OPEN")
    assert (reversal.category, reversal.source_reference, reversal.original_amount) == (
        "MISC",
        "MCR-2025-00001-REV",
        D("200.00"),
    )
    assert (reversal.outstanding, receipt.unapplied) == (D("0.00"), D("0.00"))
    assert Posting.objects.filter(receipt=receipt, status="VOIDED").count() == 1
    with pytest.raises(Conflict):
        services.misc_credit_reverse(credit_id=credit.credit_id, reason="Approved by mistake", actor=finance)
    assert MiscCredit.objects.get().status == "REVERSED"
    call_command("check_ledger")
