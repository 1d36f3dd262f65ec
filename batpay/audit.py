from typing import Any

from batpay.models import AuditEvent


def audit(
    *,
    action: str,
    actor,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Record a user-visible write. Call it inside the write's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        action=action,
        actor=user,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        payload=payload or {},
    )
