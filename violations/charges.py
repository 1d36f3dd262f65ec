"""How a summons' charge follows what the driver owes for it (docs/rules.md, "Parking violations").

A summons holds a list of charges, each one ledger obligation keyed `<prefix>-<summons>-<n>`. The
ledger cannot lower a charge, only reverse it, so:

- **more** owed, by the same driver and lease: one more charge of the difference (`INCREASE`), the
  earlier ones untouched (what was paid on them stays paid);
- **less** owed, or owed by another driver or lease: a charge of the new amount is posted first
  (`REPLACEMENT`, or `REASSIGNMENT`), then every live charge is voided. A void returns what the driver
  paid on it to the receipts it came from; earnings handed back go straight through the waterfall,
  which reaches the new charge first (it is open and due already). Nothing owed (a dismissal): the
  live charges are voided and nothing replaces them.

Rows are written by `ledger.services` only; this module keeps the summons' own list in step, in the
caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from batpay.money import ZERO, to_money
from batpay.periods import period_start
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from violations.models import Charge


def processing_fee(fine: Decimal) -> Decimal:
    """The fleet's processing fee on a parking fine: PVB_PROCESSING_FEE_PERCENT of it, half-up to the cent."""
    percent = Decimal(settings.PVB_PROCESSING_FEE_PERCENT)
    return to_money(fine * percent / 100) if percent > 0 and fine > 0 else ZERO


def source_reference(prefix: str, number: str, sequence: int) -> str:
    return f"{prefix}-{number}-{sequence}"


def follow(
    *,
    charges: Sequence[Charge],
    make: Callable[..., Charge],
    category: str,
    prefix: str,
    number: str,
    target: Decimal,
    driver,
    lease,
    day: dt.date,
    describe: Callable[[str, Decimal], str],
    reason: str,
    actor,
) -> list[Charge]:
    """Bring the live charges of one summons to `target` owed by `driver` on `lease` (see the module).

    `charges` are the summons' charges, locked by the caller; `make(sequence=, kind=, amount=, …)`
    builds an unsaved charge row; `describe(kind, amount)` is the ledger's description (what the DTR
    shows). Returns the new charge rows, saved.
    """
    sync_voids(charges=charges, category=category)
    live = [c for c in charges if c.voided_at is None]
    charged = sum((c.amount for c in live), ZERO)
    same_owner = all(c.driver_id == driver.pk and c.lease_id == lease.pk for c in live)
    if target == charged and same_owner:
        return []
    sequence = max((c.sequence for c in charges), default=0) + 1

    def post(kind: str, amount: Decimal) -> Charge:
        reference = source_reference(prefix, number, sequence)
        ledger_services.create_obligation(
            category=category,
            amount=amount,
            source_reference=reference,
            driver=driver,
            lease=lease,
            period=period_start(day),
            description=describe(kind, amount)[:255],
            actor=actor,
        )
        charge = make(
            sequence=sequence,
            kind=kind,
            source_reference=reference,
            amount=amount,
            driver=driver,
            lease=lease,
            reason=reason,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        charge.save()
        return charge

    if target > charged and same_owner:
        return [post(Charge.Kind.INCREASE if live else Charge.Kind.CHARGE, target - charged)]
    # Less owed, or owed by someone else: the new figure first, so that money the voids hand back
    # through the waterfall finds it open; then every live charge is voided.
    created = [post(Charge.Kind.REPLACEMENT if same_owner else Charge.Kind.REASSIGNMENT, target)] if target > 0 else []
    void(charges=live, category=category, reason=reason, actor=actor)
    return created


def sync_voids(*, charges: Sequence[Charge], category: str) -> None:
    """Mark the charges a Controller voided in the ledger directly (`POST /api/ledger/postings/{id}/void`):
    the ledger is the truth of what is owed, and a void is never repeated."""
    live = [c for c in charges if c.voided_at is None]
    if not live:
        return
    balances = ledger_selectors.obligation_balances(
        category=category, source_references=[c.source_reference for c in live]
    )
    now = timezone.now()
    for charge in live:
        view = balances.get(charge.source_reference)
        if view is not None and view.voided:
            charge.voided_at = now
            charge.void_reason = "Voided in the ledger"
            charge.save(update_fields=["voided_at", "void_reason"])


def void(*, charges: Sequence[Charge], category: str, reason: str, actor) -> None:
    """Void each live charge in the ledger (payments on it go back to their receipts) and mark it."""
    sync_voids(charges=charges, category=category)
    live = [c for c in charges if c.voided_at is None]
    if not live:
        return
    debits = ledger_selectors.charges(category=category, source_references=[c.source_reference for c in live])
    now = timezone.now()
    for charge in live:
        ledger_services.void_posting(posting=debits[charge.source_reference].posting_id, reason=reason, actor=actor)
        charge.voided_at = now
        charge.void_reason = reason
        charge.save(update_fields=["voided_at", "void_reason"])
