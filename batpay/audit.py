"""Who did what, when and why: one `AuditEvent` per user-visible write (Zulip's RealmAuditLog).

Actions are enums, never free text: each app names its actions in a subclass of `AuditAction`
(`LedgerAction.VOID_POSTING = "ledger.void_posting"`), so a typo is an AttributeError where it is
written, and the admin and the API can list every action there is. `audit()` refuses a string.
"""

from enum import StrEnum
from typing import Any

from batpay.models import AuditEvent


class AuditAction(StrEnum):
    """The base of every app's actions; its value is what `AuditEvent.action` stores."""


def audit(
    *,
    action: AuditAction,
    actor,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Record a user-visible write. Call it inside the write's transaction."""
    if not isinstance(action, AuditAction):
        raise TypeError(f"audit action {action!r} is not an AuditAction member")
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        action=action.value,
        actor=user,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        payload=payload or {},
    )
