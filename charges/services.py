"""The writes of misc charges and credits; each is one durable transaction with an audit row.

Money moves only through `ledger.services`: a charge is a MISC obligation, its reversal a void of
that charge; a credit is a DRIVER_CREDIT receipt, its reversal `reverse_driver_credit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batpay.audit import AuditAction, audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.identifiers import yearly_id
from batpay.money import clean_amount
from batpay.periods import current_period
from charges.models import MiscCharge, MiscChargeType, MiscCredit
from leases.models import Driver, Lease
from ledger.categories import Category
from ledger.services import create_obligation, record_driver_credit, reverse_driver_credit, void_charge
from plans.services import clean_driver_and_lease, clean_id, collect_errors, raise_if_invalid

CHARGE_PREFIX = "MISC"
CREDIT_PREFIX = "MCR"
ID_WIDTH = 5
REASON_MIN_LENGTH = 10

# What a receipt file may be: its extension and the bytes such a file starts with.
RECEIPT_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}


class ChargeAction(AuditAction):
    CREATE_CHARGE = "charges.create_charge"
    REVERSE_CHARGE = "charges.reverse_charge"
    CREATE_CREDIT = "charges.create_credit"
    REVERSE_CREDIT = "charges.reverse_credit"


def _note(value, *, field: str = "note", required: bool = False) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidInput(f"{field} is required.", fields={field: "This field is required."})
    if len(text) > 255:
        raise InvalidInput(f"{field} is at most 255 characters.", fields={field: "At most 255 characters."})
    return text


def _reason(value) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if len(text) < REASON_MIN_LENGTH:
        raise InvalidInput(
            f"Give a reason of at least {REASON_MIN_LENGTH} characters.",
            fields={"reason": f"At least {REASON_MIN_LENGTH} characters."},
        )
    return text


def clean_receipt_file(upload):
    """A scan of the paper receipt: a PDF, PNG or JPEG (by name and by its first bytes), at most
    MISC_RECEIPT_MAX_BYTES. None when nothing was sent."""
    if upload in (None, ""):
        return None
    name = getattr(upload, "name", "") or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in RECEIPT_SIGNATURES:
        raise InvalidInput(
            "A receipt file is a PDF, PNG or JPEG.", fields={"receipt_file": "Only .pdf, .png, .jpg or .jpeg."}
        )
    largest = settings.MISC_RECEIPT_MAX_BYTES
    if upload.size > largest:
        raise InvalidInput(
            f"The receipt file is {upload.size} bytes; at most {largest}.",
            fields={"receipt_file": f"At most {largest // (1024 * 1024)} MB."},
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(signature) for signature in RECEIPT_SIGNATURES[extension]):
        raise InvalidInput(
            f"The file is not a {extension.upper()} file.", fields={"receipt_file": f"Not a {extension.upper()} file."}
        )
    return upload


@dataclass(frozen=True)
class ChargeInput:
    driver: Driver
    lease: Lease
    charge_type: MiscChargeType
    amount: Decimal
    note: str
    receipt_file: object


def charge_input_clean(
    *, driver_id, lease_id, charge_type_id, amount, note: str = "", receipt_file=None
) -> ChargeInput:
    """A charge's entry checked by every rule, writing nothing (the admin's form shows the refusals)."""
    errors: dict[str, str] = {}
    driver, lease = clean_driver_and_lease(driver_id=driver_id, lease_id=lease_id, errors=errors)
    charge_type = None
    type_pk = clean_id(charge_type_id, "charge_type_id", errors)
    if type_pk is not None:
        charge_type = MiscChargeType.objects.filter(pk=type_pk, active=True).first() if 0 < type_pk < 2**63 else None
        if charge_type is None:
            errors["charge_type_id"] = f"No active charge type with id {type_pk}."
    amount = collect_errors(errors, lambda: clean_amount(amount, field="amount"))
    note = collect_errors(errors, lambda: _note(note))
    receipt_file = collect_errors(errors, lambda: clean_receipt_file(receipt_file))
    raise_if_invalid(errors)
    return ChargeInput(driver, lease, charge_type, amount, note, receipt_file)


def misc_charge_create(
    *, driver_id, lease_id, charge_type_id, amount, note: str = "", receipt_file=None, actor=None
) -> MiscCharge:
    """Enter a charge: its MISC obligation is posted at once, due this week (ledger.effective dates
    it: a week whose DTRs are issued makes it a late charge, effective today)."""
    entry = charge_input_clean(
        driver_id=driver_id,
        lease_id=lease_id,
        charge_type_id=charge_type_id,
        amount=amount,
        note=note,
        receipt_file=receipt_file,
    )
    driver, lease, charge_type = entry.driver, entry.lease, entry.charge_type
    amount, note, receipt_file = entry.amount, entry.note, entry.receipt_file
    with transaction.atomic(durable=True):
        misc_id = yearly_id(CHARGE_PREFIX, timezone.localdate().year, ID_WIDTH)
        obligation = create_obligation(
            category=Category.MISC,
            amount=amount,
            source_reference=misc_id,
            driver=driver,
            lease=lease,
            period=current_period(),
            description=f"{charge_type.name} {misc_id}" + (f": {note}" if note else ""),
            actor=actor,
        )
        charge = MiscCharge(
            misc_id=misc_id,
            driver=driver,
            lease=lease,
            charge_type=charge_type,
            amount=amount,
            note=note,
            obligation=obligation,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if receipt_file is not None:
            charge.receipt_file.save(
                f"{misc_id}.{receipt_file.name.rsplit('.', 1)[-1].lower()}", receipt_file, save=False
            )
        charge.save()
        audit(
            action=ChargeAction.CREATE_CHARGE,
            actor=actor,
            obj=charge,
            object_id=misc_id,
            payload={"amount": str(amount), "type": charge_type.name, "balance": obligation.pk},
        )
    return charge


def _find(model, field: str, value, *, lock: bool = False):
    if not isinstance(value, str) or not value.strip():
        raise NotFound(f"No {model._meta.verbose_name} {value!r}.")
    queryset = model.objects.select_for_update() if lock else model.objects
    found = queryset.filter(**{field: value.strip()}).first()
    if found is None:
        raise NotFound(f"No {model._meta.verbose_name} {value}.")
    return found


def _not_reversed(record) -> None:
    if record.status == MiscCharge.Status.REVERSED:
        raise Conflict(f"{record} is already reversed.", code=ErrorCode.ALREADY_VOIDED, fields={"status": "Reversed."})


def misc_charge_reverse(*, misc_id: str, reason: str, actor=None) -> MiscCharge:
    """A mistaken charge is reversed: its ledger charge is voided (payments on it go back to their
    receipts and are spent again by the void rules)."""
    reason = _reason(reason)
    with transaction.atomic(durable=True):
        charge = _find(MiscCharge, "misc_id", misc_id, lock=True)
        _not_reversed(charge)
        void_charge(balance_id=charge.obligation_id, reason=f"{charge.misc_id} reversed: {reason}", actor=actor)
        charge.status = MiscCharge.Status.REVERSED
        charge.reversal_reason = reason
        charge.reversed_at = timezone.now()
        charge.reversed_by = actor if getattr(actor, "is_authenticated", False) else None
        charge.save(update_fields=["status", "reversal_reason", "reversed_at", "reversed_by"])
        audit(action=ChargeAction.REVERSE_CHARGE, actor=actor, obj=charge, object_id=misc_id, reason=reason)
    return charge


def credit_input_clean(*, driver_id, lease_id, amount, note) -> tuple[Driver, Lease, Decimal, str]:
    """A credit's entry checked by every rule, writing nothing."""
    errors: dict[str, str] = {}
    driver, lease = clean_driver_and_lease(driver_id=driver_id, lease_id=lease_id, errors=errors)
    amount = collect_errors(errors, lambda: clean_amount(amount, field="amount"))
    note = collect_errors(errors, lambda: _note(note, required=True))
    raise_if_invalid(errors)
    return driver, lease, amount, note


def misc_credit_create(*, driver_id, lease_id, amount, note, actor=None) -> MiscCredit:
    """Money for the driver: it pays the lease's open balances in waterfall order at once; the rest
    is due to the driver (paid out with their next payout)."""
    driver, lease, amount, note = credit_input_clean(driver_id=driver_id, lease_id=lease_id, amount=amount, note=note)
    with transaction.atomic(durable=True):
        credit_id = yearly_id(CREDIT_PREFIX, timezone.localdate().year, ID_WIDTH)
        receipt, _ = record_driver_credit(
            driver=driver,
            lease=lease,
            amount=amount,
            idempotency_key=f"misc-credit:{credit_id}",
            note=f"{credit_id}: {note}"[:255],
            actor=actor,
        )
        credit = MiscCredit.objects.create(
            credit_id=credit_id,
            driver=driver,
            lease=lease,
            amount=amount,
            note=note,
            receipt=receipt,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit(
            action=ChargeAction.CREATE_CREDIT,
            actor=actor,
            obj=credit,
            object_id=credit_id,
            payload={"amount": str(amount), "receipt": receipt.pk, "due_to_driver": str(receipt.unapplied)},
        )
    return credit


def misc_credit_reverse(*, credit_id: str, reason: str, actor=None) -> MiscCredit:
    """A mistaken credit is taken back (ledger.services.reverse_driver_credit): what it paid is owed
    again, and a MISC charge of its amount takes back what the receipt still holds; any part
    already paid out stays owed on that charge."""
    reason = _reason(reason)
    with transaction.atomic(durable=True):
        credit = _find(MiscCredit, "credit_id", credit_id, lock=True)
        _not_reversed(credit)
        charge = reverse_driver_credit(
            receipt_id=credit.receipt_id,
            reason=f"{credit.credit_id} reversed: {reason}",
            charge_reference=f"{credit.credit_id}-REV",
            description=f"Reversal of credit {credit.credit_id}",
            actor=actor,
        )
        credit.status = MiscCredit.Status.REVERSED
        credit.reversal_reason = reason
        credit.reversal_charge = charge
        credit.reversed_at = timezone.now()
        credit.reversed_by = actor if getattr(actor, "is_authenticated", False) else None
        credit.save(update_fields=["status", "reversal_reason", "reversal_charge", "reversed_at", "reversed_by"])
        audit(action=ChargeAction.REVERSE_CREDIT, actor=actor, obj=credit, object_id=credit.credit_id, reason=reason)
    return credit
