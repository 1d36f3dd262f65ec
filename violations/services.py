"""The writes of parking violations and TLC summonses (docs/rules.md, "Parking violations" and
"TLC summonses"). Each user-visible write is one durable transaction with an audit row; the ledger is
written only through `ledger.services` (`violations.charges`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from batpay.audit import audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.money import ZERO, clean_amount
from batpay.periods import clean_date
from batpay.text import text_problem
from leases.models import Driver, Lease, Medallion
from leases.selectors import lease_is_drivers
from ledger.categories import Category
from violations import charges, imports
from violations.imports import ViolationsAction
from violations.models import (
    Disposition,
    TlcCharge,
    TlcSummons,
    TlcSummonsEvent,
    TlcViolationType,
    Violation,
    ViolationCharge,
)

REASON_MIN_LENGTH = 10


def _reason(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if len(reason) < REASON_MIN_LENGTH:
        raise InvalidInput(
            f"A reason of at least {REASON_MIN_LENGTH} characters is needed.",
            fields={"reason": f"At least {REASON_MIN_LENGTH} characters."},
        )
    if problem := text_problem(reason, multiline=True):
        raise InvalidInput(f"reason: {problem}", fields={"reason": problem})
    return reason


def _driver_and_lease(driver_id, lease_id) -> tuple[Driver, Lease]:
    driver = Driver.objects.filter(pk=driver_id).first() if isinstance(driver_id, int) else None
    lease = Lease.objects.filter(pk=lease_id).first() if isinstance(lease_id, int) else None
    fields = {}
    if driver is None:
        fields["driver_id"] = "No such driver."
    if lease is None:
        fields["lease_id"] = "No such lease."
    if fields:
        raise InvalidInput("Unknown driver or lease.", fields=fields)
    if not lease_is_drivers(lease, driver):
        raise InvalidInput(
            f"Lease {lease.lease_number} is not a lease of driver {driver.pk}.",
            fields={"lease_id": "This lease does not belong to the driver."},
        )
    return driver, lease


# --- parking violations -------------------------------------------------------------------------------


def _violation_description(violation: Violation, total: Decimal, fine: Decimal):
    def describe(kind: str, amount: Decimal) -> str:
        return imports.describe(
            summons=violation.summons_number,
            issue_date=violation.issue_date,
            time=violation.violation_time,
            violation=violation.violation,
            kind=kind,
            amount=amount,
            total=total,
            fine=fine,
        )

    return describe


def follow_violation(*, violation: Violation, reason: str, actor) -> Decimal:
    """Bring a summons' charges to what its latest version owes, for its driver and lease (`charges.follow`).
    The caller holds the summons' row lock. Returns the amount newly charged."""
    latest = violation.versions.order_by("-number").first()
    existing = list(ViolationCharge.objects.select_for_update().filter(violation=violation).order_by("sequence"))
    if violation.review != Violation.Review.ATTRIBUTED:
        charges.void(charges=existing, category=Category.PVB, reason=reason, actor=actor)
        return ZERO
    created = charges.follow(
        charges=existing,
        make=lambda **values: ViolationCharge(violation=violation, version=latest, **values),
        category=Category.PVB,
        prefix="PVB",
        number=violation.summons_number,
        target=latest.driver_total,
        driver=violation.driver,
        lease=violation.lease,
        day=violation.issue_date,
        describe=_violation_description(violation, latest.driver_total, latest.fine_amount),
        reason=reason,
        actor=actor,
    )
    return sum((c.amount for c in created), ZERO)


def violation_create(*, actor=None, **values) -> Violation:
    """A summons entered by hand (the admin, `POST /api/violations/`): the same checks, attribution and
    charge as a file's row. A summons already on file is a 409 (a later file brings its new figures)."""
    named = {name: values.get(key, "") for name, key in FORM_FIELDS.items()}
    named = {name: _as_text(value) for name, value in named.items()}
    row, problems = imports.check_row(named, 0, timezone.localdate())
    if problems:
        raise InvalidInput("; ".join(problems) + ".", fields=_problem_fields(problems))
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE violations_violation IN SHARE ROW EXCLUSIVE MODE")
        if Violation.objects.filter(summons_number=row.summons).exists():
            raise Conflict(f"Summons {row.summons} is already on file.", code=ErrorCode.DUPLICATE)
        imports.start_staging(cursor)
        imports.stage(cursor, [row])
        imports.resolve_entered(cursor, actor=actor)
        violation = Violation.objects.get(summons_number=row.summons)
        audit(
            action=ViolationsAction.CREATE,
            actor=actor,
            obj=violation,
            payload={"summons_number": row.summons, "driver_total": str(row.total), "review": violation.review},
        )
        cursor.execute("DROP TABLE IF EXISTS violation_staging")
    return violation


# The API's and the admin's field names for the file's columns.
FORM_FIELDS = {
    "Plate": "plate",
    "State": "state",
    "License Type": "license_type",
    "Summons Number": "summons_number",
    "Issue Date": "issue_date",
    "Violation Time": "violation_time",
    "Violation": "violation",
    "Judgment Entry Date": "judgment_entry_date",
    "Fine Amount": "fine_amount",
    "Penalty Amount": "penalty_amount",
    "Interest Amount": "interest_amount",
    "Reduction Amount": "reduction_amount",
    "Payment Amount": "payment_amount",
    "Amount Due": "amount_due",
    "Precinct": "precinct",
    "County": "county",
    "Issuing Agency": "issuing_agency",
    "Violation Status": "violation_status",
}


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%m/%d/%Y")
    return str(value)


def _problem_fields(problems: list[str]) -> dict[str, str]:
    fields = {}
    for problem in problems:
        for name, key in FORM_FIELDS.items():
            if problem.startswith((name + " ", name + ":")):
                fields.setdefault(key, problem)
                break
        else:
            fields.setdefault("fine_amount" if "charge" in problem else "non_field_errors", problem)
    return fields


def violation_reassign(*, violation_id: int, driver_id, lease_id, reason: str, actor=None) -> Violation:
    """Charge a summons to another driver and lease (or a first time, one kept for review): a charge of
    what it owes for them, then the void of every live charge of the one before, with the reason."""
    reason = _reason(reason)
    driver, lease = _driver_and_lease(driver_id, lease_id)
    with transaction.atomic(durable=True):
        violation = Violation.objects.select_for_update().filter(pk=violation_id).first()
        if violation is None:
            raise NotFound(f"No violation {violation_id}.")
        if violation.driver_id == driver.pk and violation.lease_id == lease.pk:
            raise Conflict("The summons is already charged to this driver and lease.", code=ErrorCode.CONFLICT)
        before = {"driver_id": violation.driver_id, "lease_id": violation.lease_id, "review": violation.review}
        violation.driver, violation.lease = driver, lease
        violation.medallion_id = lease.medallion_id
        violation.vehicle_id = violation.vehicle_id or lease.vehicle_id
        violation.review = Violation.Review.ATTRIBUTED
        violation.review_reason = ""
        violation.attributed_by = Violation.AttributedBy.STAFF
        violation.save()
        charged = follow_violation(violation=violation, reason=f"Reassigned: {reason}", actor=actor)
        audit(
            action=ViolationsAction.REASSIGN,
            actor=actor,
            obj=violation,
            reason=reason,
            payload={"before": before, "driver_id": driver.pk, "lease_id": lease.pk, "charged": str(charged)},
        )
    return violation


def violation_reverse(*, violation_id: int, reason: str, actor=None) -> Violation:
    """A Controller's reversal: every live charge of the summons is voided with the reason (payments go back
    to their receipts) and the summons waits for review, charged nobody, until it is reassigned."""
    reason = _reason(reason)
    with transaction.atomic(durable=True):
        violation = Violation.objects.select_for_update().filter(pk=violation_id).first()
        if violation is None:
            raise NotFound(f"No violation {violation_id}.")
        if violation.review != Violation.Review.ATTRIBUTED:
            raise Conflict("The summons is charged to nobody: nothing to reverse.", code=ErrorCode.INVALID_TRANSITION)
        existing = list(ViolationCharge.objects.select_for_update().filter(violation=violation).order_by("sequence"))
        charges.void(charges=existing, category=Category.PVB, reason=f"Reversed: {reason}", actor=actor)
        before = {"driver_id": violation.driver_id, "lease_id": violation.lease_id}
        violation.driver = violation.lease = None
        violation.review = Violation.Review.NEEDS_REVIEW
        violation.review_reason = f"Reversed by a Controller: {reason}"
        violation.attributed_by = ""
        violation.save()
        audit(action=ViolationsAction.REVERSE, actor=actor, obj=violation, reason=reason, payload={"before": before})
    return violation


# --- TLC summonses ---------------------------------------------------------------------------------------

# Which hearing disposition may follow which (one function makes every change: tlc_change_disposition).
TRANSITIONS: dict[str, frozenset[str]] = {
    Disposition.PENDING: frozenset({Disposition.PAID, Disposition.REDUCED, Disposition.DISMISSED}),
    Disposition.PAID: frozenset({Disposition.REDUCED, Disposition.DISMISSED}),
    Disposition.REDUCED: frozenset({Disposition.PAID, Disposition.REDUCED, Disposition.DISMISSED}),
    Disposition.DISMISSED: frozenset({Disposition.PENDING}),
}
DOCUMENT_SIGNATURES = {b"%PDF-": "PDF", b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


def tlc_owed(*, disposition: str, amount: Decimal, reduced_amount: Decimal | None) -> Decimal:
    """What the driver owes: the amount (a reduced one when Reduced) plus the service fee, once the
    hearing made it owed (Paid or Reduced); nothing while Pending or once Dismissed."""
    if disposition == Disposition.PAID:
        return amount + Decimal(settings.TLC_SERVICE_FEE)
    if disposition == Disposition.REDUCED:
        return reduced_amount + Decimal(settings.TLC_SERVICE_FEE)
    return ZERO


def clean_document(document):
    """A scanned summons: a PDF, JPEG or PNG (by its first bytes, not its name) of at most TLC_DOCUMENT_MAX_SIZE."""
    if not document:
        return None
    size = getattr(document, "size", 0) or 0
    if size > settings.TLC_DOCUMENT_MAX_SIZE:
        raise InvalidInput(
            f"The document is {size} bytes; at most {settings.TLC_DOCUMENT_MAX_SIZE}.",
            fields={"document": f"At most {settings.TLC_DOCUMENT_MAX_SIZE} bytes."},
        )
    document.seek(0)
    head = document.read(8)
    document.seek(0)
    if not any(head.startswith(signature) for signature in DOCUMENT_SIGNATURES):
        raise InvalidInput("The document must be a PDF, JPEG or PNG scan.", fields={"document": "PDF, JPEG or PNG."})
    if problem := text_problem(getattr(document, "name", "") or ""):
        raise InvalidInput(f"document name: {problem}", fields={"document": problem})
    return document


def _tlc_description(summons: TlcSummons):
    def describe(kind: str, amount: Decimal) -> str:
        head = f"TLC summons {summons.summons_number}, {summons.violation_date:%m/%d/%Y}, {summons.violation_type.name}"
        fee = Decimal(settings.TLC_SERVICE_FEE)
        base = summons.reduced_amount if summons.disposition == Disposition.REDUCED else summons.amount
        detail = f"{amount} ({summons.get_disposition_display().lower()} {base}, service fee {fee})"
        return f"{head}: {detail}" if kind != "INCREASE" else f"{head}: +{amount}, now {summons.owed}"

    return describe


def _clean_disposition(disposition, amount: Decimal, reduced_amount) -> tuple[str, Decimal | None]:
    if disposition not in Disposition.values:
        raise InvalidInput("Unknown disposition.", fields={"disposition": f"One of {', '.join(Disposition.values)}."})
    if disposition == Disposition.REDUCED:
        if reduced_amount is None or reduced_amount == "":
            raise InvalidInput(
                "A reduced summons needs its reduced amount.", fields={"reduced_amount": "Required when Reduced."}
            )
        reduced_amount = clean_amount(reduced_amount, field="reduced_amount", noun="The reduced amount")
        if reduced_amount >= amount:
            raise InvalidInput(
                f"The reduced amount must be less than the summons' {amount}.",
                fields={"reduced_amount": f"Less than {amount}."},
            )
        return disposition, reduced_amount
    if reduced_amount not in (None, ""):
        raise InvalidInput(
            "Only a reduced summons has a reduced amount.", fields={"reduced_amount": "Only when Reduced."}
        )
    return disposition, None


def _follow_tlc(summons: TlcSummons, reason: str, actor) -> None:
    existing = list(TlcCharge.objects.select_for_update().filter(summons=summons).order_by("sequence"))
    charges.follow(
        charges=existing,
        make=lambda **values: TlcCharge(summons=summons, **values),
        category=Category.TLC,
        prefix="TLC",
        number=summons.summons_number,
        target=summons.owed,
        driver=summons.driver,
        lease=summons.lease,
        day=summons.violation_date,
        describe=_tlc_description(summons),
        reason=reason,
        actor=actor,
    )


def tlc_summons_create(
    *,
    summons_number,
    driver_id,
    lease_id,
    violation_type_id,
    violation_date,
    amount,
    medallion_id=None,
    disposition=Disposition.PENDING,
    reduced_amount=None,
    document=None,
    actor=None,
) -> TlcSummons:
    """Enter a TLC summons; if its disposition already makes it owed, the driver is charged at once."""
    number = (summons_number or "").strip().upper() if isinstance(summons_number, str) else ""
    if not imports._SUMMONS.fullmatch(number):
        raise InvalidInput(
            "A summons number is 1 to 20 letters and digits.", fields={"summons_number": "1 to 20 letters and digits."}
        )
    driver, lease = _driver_and_lease(driver_id, lease_id)
    medallion = lease.medallion
    if medallion_id not in (None, "") and medallion_id != lease.medallion_id:
        if not Medallion.objects.filter(pk=medallion_id).exists():
            raise InvalidInput("No such medallion.", fields={"medallion_id": "No such medallion."})
        raise InvalidInput(
            f"The lease's medallion is {medallion.number}.", fields={"medallion_id": "Must be the lease's medallion."}
        )
    violation_type = (
        TlcViolationType.objects.filter(pk=violation_type_id).first() if isinstance(violation_type_id, int) else None
    )
    if violation_type is None:
        raise InvalidInput("No such violation type.", fields={"violation_type_id": "No such violation type."})
    day = clean_date(violation_date, field="violation_date", noun="The violation date")
    if day > timezone.localdate():
        raise InvalidInput("The violation date is in the future.", fields={"violation_date": "Not in the future."})
    amount = clean_amount(amount, field="amount", noun="The amount")
    disposition, reduced = _clean_disposition(disposition, amount, reduced_amount)
    document = clean_document(document)
    with transaction.atomic(durable=True):
        if TlcSummons.objects.select_for_update().filter(summons_number=number).exists():
            raise Conflict(f"TLC summons {number} is already on file.", code=ErrorCode.DUPLICATE)
        summons = TlcSummons(
            summons_number=number,
            driver=driver,
            lease=lease,
            medallion=medallion,
            violation_type=violation_type,
            violation_date=day,
            amount=amount,
            reduced_amount=reduced,
            disposition=disposition,
            owed=tlc_owed(disposition=disposition, amount=amount, reduced_amount=reduced),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if document:
            summons.document.save(document.name.rsplit("/", 1)[-1][-100:], document, save=False)
        summons.save()
        TlcSummonsEvent.objects.create(
            summons=summons,
            from_disposition="",
            to_disposition=disposition,
            owed_before=ZERO,
            owed_after=summons.owed,
            reason="Entered",
            actor=summons.created_by,
        )
        _follow_tlc(summons, f"TLC summons {number} entered as {disposition}", actor)
        audit(
            action=ViolationsAction.TLC_CREATE,
            actor=actor,
            obj=summons,
            payload={"summons_number": number, "disposition": disposition, "owed": str(summons.owed)},
        )
    return summons


def tlc_change_disposition(*, summons_id: int, disposition, reduced_amount=None, reason: str = "", actor=None):
    """The one way a summons' hearing disposition changes (`TRANSITIONS`): what the driver owes follows
    (a charge, an increase, or a replacement and the void of the charges before), with an event row."""
    reason = _reason(reason)
    with transaction.atomic(durable=True):
        summons = TlcSummons.objects.select_for_update().select_related("violation_type").filter(pk=summons_id).first()
        if summons is None:
            raise NotFound(f"No TLC summons {summons_id}.")
        disposition, reduced = _clean_disposition(disposition, summons.amount, reduced_amount)
        allowed = TRANSITIONS[summons.disposition]
        if disposition not in allowed or (disposition == summons.disposition and reduced == summons.reduced_amount):
            raise Conflict(
                f"A {summons.get_disposition_display()} summons cannot become {Disposition(disposition).label}"
                + (" with the same amount." if disposition == summons.disposition else "."),
                code=ErrorCode.INVALID_TRANSITION,
            )
        before_disposition, before_owed = summons.disposition, summons.owed
        summons.disposition, summons.reduced_amount = disposition, reduced
        summons.owed = tlc_owed(disposition=disposition, amount=summons.amount, reduced_amount=reduced)
        summons.save(update_fields=["disposition", "reduced_amount", "owed", "updated_at"])
        TlcSummonsEvent.objects.create(
            summons=summons,
            from_disposition=before_disposition,
            to_disposition=disposition,
            owed_before=before_owed,
            owed_after=summons.owed,
            reason=reason,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _follow_tlc(
            summons, f"TLC summons {summons.summons_number} {before_disposition} → {disposition}: {reason}", actor
        )
        audit(
            action=ViolationsAction.TLC_DISPOSITION,
            actor=actor,
            obj=summons,
            reason=reason,
            payload={
                "from": before_disposition,
                "to": disposition,
                "owed_before": str(before_owed),
                "owed_after": str(summons.owed),
            },
        )
    return summons
