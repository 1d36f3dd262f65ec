"""The roles of SPEC §8 and the permissions each one holds.

The groups themselves are created by migration (batpay 0002). Their permissions are granted
after every `migrate` from the patterns below, so a permission added by a later app or
migration reaches its role without another data migration. Granting is additive: a permission
an administrator added to a group by hand is never taken away.
"""

from fnmatch import fnmatchcase

from django.conf import settings

FINANCE = "Finance"
CASHIER = "Cashier"
MANAGER = "Manager"
CONTROLLER = "Controller"

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    FINANCE: (
        "leases.add_*",
        "leases.change_*",
        "leases.view_*",
        "repairs.add_*",
        "repairs.change_*",
        "repairs.view_*",
        "repairs.confirm_*",
        "repairs.post_*",
        "repairs.export_*",
        "loans.add_*",
        "loans.change_*",
        "loans.view_*",
        "loans.confirm_*",
        "loans.post_*",
        "loans.export_*",
        "charges.add_*",
        "charges.view_*",
        "charges.export_*",
        "charges.change_miscchargetype",
        "deposits.add_*",
        "deposits.view_*",
        "deposits.export_*",
        "ledger.view_*",
        "ledger.export_*",
        "lease_schedules.view_*",
        "statements.view_*",
        "statements.export_*",
        "statements.import_trips",
        "violations.add_*",
        "violations.change_*",
        "violations.view_*",
        "violations.export_*",
        "violations.import_violations",
        "tolls.view_*",
        "tolls.export_*",
        "tolls.import_tolls",
        "tolls.change_toll",
        "tolls.add_tolltag",
        "tolls.change_tolltag",
        "operations.view_jobrun",
        "operations.run_jobrun",
        "payouts.view_*",
        "payouts.add_bankaccount",
        "payouts.change_bankaccount",
        "payouts.prepare_payoutrun",
        "payouts.export_payoutrun",
        "payouts.return_payout",
    ),
    CASHIER: (
        "ledger.view_*",
        "ledger.record_interim_payment",
        "leases.view_*",
        "lease_schedules.view_*",
        "statements.view_*",
    ),
    MANAGER: ("*.view_*", "*.export_*"),
    # Controllers also decide what happens to credit nothing will consume (ledger.services.apply_credit,
    # refund_credit).
    # Controllers also release deposits early, and approve (or cancel) payout runs that Finance prepared
    # (maker-checker).
    CONTROLLER: (
        "*.view_*",
        "*.void_*",
        "ledger.apply_credit",
        "ledger.refund_credit",
        "deposits.release_deposit",
        "payouts.approve_payoutrun",
    ),
}


def permissions_for(role: str, available: list[str]) -> list[str]:
    """The `app_label.codename` strings of `available` that the role's patterns grant."""
    patterns = ROLE_PERMISSIONS[role]
    return [perm for perm in available if any(fnmatchcase(perm, p) for p in patterns)]


def sync_role_permissions(**kwargs) -> None:
    """post_migrate receiver: grant each role the permissions its patterns match."""
    from django.contrib.auth.models import Group, Permission

    perms = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in=settings.PROJECT_APPS
        )
    }
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = {perms[name].pk for name in permissions_for(role, sorted(perms))}
        have = set(group.permissions.values_list("pk", flat=True))
        if wanted - have:
            group.permissions.add(*(wanted - have))
