"""Every endpoint checks a Django permission, so roles (groups) decide who may do what.

By default a request needs the model permission matching its method (GET → view, POST → add,
PUT/PATCH → change, DELETE → delete). A view names other permissions for its custom actions
in `action_permissions`, e.g. `{"confirm": ["repairs.confirm_repairinvoice"]}`.
"""

from rest_framework import permissions

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def required_permissions(view, method: str) -> list[str]:
    action = getattr(view, "action", None)
    action_perms = getattr(view, "action_permissions", {}) or {}
    if action in action_perms:
        return list(action_perms[action])
    if method in action_perms:
        return list(action_perms[method])
    queryset = getattr(view, "queryset", None)
    if queryset is None and hasattr(view, "get_queryset"):
        queryset = view.get_queryset()
    if queryset is None:
        return []
    meta = queryset.model._meta
    return [f"{meta.app_label}.{METHOD_ACTIONS.get(method, 'change')}_{meta.model_name}"]


class RolePermissions(permissions.BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if user.is_superuser:
            return True
        perms = required_permissions(view, request.method)
        if not perms:
            # A view that names no permission is open only to superusers: fail closed.
            return False
        return user.has_perms(perms)
