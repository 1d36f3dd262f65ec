from django.apps import AppConfig


class LeaseSchedulesConfig(AppConfig):
    name = "lease_schedules"
    verbose_name = "Lease schedules"

    def ready(self) -> None:
        # Imported here, once every app's models are loaded: these modules need them (the one
        # place an import may sit inside a function, batpay/registry.py says why hooks exist).
        from lease_schedules.services import FOLLOWER, LEASES
        from leases.services import LEASE_FOLLOWERS
        from plans.services import register_source

        register_source(LEASES)
        LEASE_FOLLOWERS.register("lease_schedules", FOLLOWER)
