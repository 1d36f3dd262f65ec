"""Reads of the fleet reference data. Each list loads its related rows in a fixed number of
queries, whatever the page size, so a page of 1,000 leases costs what a page of 10 does."""

from django.db.models import Prefetch, Q, QuerySet

from leases.models import Driver, Lease, Medallion, Vehicle

# A search box gets a few words; more only make the query slower without narrowing it.
MAX_SEARCH_TERMS = 5


def driver_list() -> QuerySet[Driver]:
    return Driver.objects.all()


def vehicle_list() -> QuerySet[Vehicle]:
    return Vehicle.objects.all()


def medallion_list() -> QuerySet[Medallion]:
    return Medallion.objects.all()


def lease_list() -> QuerySet[Lease]:
    return Lease.objects.select_related("primary_driver", "vehicle", "medallion").prefetch_related(
        Prefetch("additional_drivers", queryset=Driver.objects.only("id"))
    )


def lease_is_drivers(lease: Lease, driver: Driver) -> bool:
    """Whether `driver` drives `lease`: as its primary driver or as one of its additional drivers."""
    return lease.primary_driver_id == driver.pk or lease.additional_drivers.filter(pk=driver.pk).exists()


def driver_search(queryset: QuerySet[Driver], text: str) -> QuerySet[Driver]:
    """Every word must match a first name, a last name or the start of a TLC license number."""
    for term in _terms(text):
        queryset = queryset.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(tlc_license_number__startswith=term)
        )
    return queryset


def vehicle_search(queryset: QuerySet[Vehicle], text: str) -> QuerySet[Vehicle]:
    """Every word must occur in the VIN or the plate."""
    for term in _terms(text):
        queryset = queryset.filter(Q(vin__icontains=term) | Q(plate_number__icontains=term))
    return queryset


def medallion_search(queryset: QuerySet[Medallion], text: str) -> QuerySet[Medallion]:
    for term in _terms(text):
        queryset = queryset.filter(number__icontains=term)
    return queryset


def lease_search(queryset: QuerySet[Lease], text: str) -> QuerySet[Lease]:
    """Every word must occur in the lease number or the medallion number."""
    for term in _terms(text):
        queryset = queryset.filter(Q(lease_number__icontains=term) | Q(medallion__number__iexact=term))
    return queryset


def _terms(text: str) -> list[str]:
    return text.split()[:MAX_SEARCH_TERMS]
