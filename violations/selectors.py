"""Reads of parking violations and TLC summonses for the API and the admin."""

from django.db.models import Prefetch, QuerySet

from violations.models import (
    TlcCharge,
    TlcSummons,
    TlcSummonsEvent,
    TlcViolationType,
    Violation,
    ViolationCharge,
    ViolationImport,
    ViolationImportRow,
    ViolationVersion,
)


def violation_list() -> QuerySet[Violation]:
    return Violation.objects.select_related("driver", "lease", "vehicle", "medallion")


def violation_detail() -> QuerySet[Violation]:
    return violation_list().prefetch_related(
        Prefetch("versions", queryset=ViolationVersion.objects.order_by("number")),
        Prefetch("charges", queryset=ViolationCharge.objects.order_by("sequence")),
    )


def import_list() -> QuerySet[ViolationImport]:
    return ViolationImport.objects.all()


def import_detail() -> QuerySet[ViolationImport]:
    return import_list().prefetch_related(
        Prefetch("kept_rows", queryset=ViolationImportRow.objects.order_by("line_number"))
    )


def tlc_list() -> QuerySet[TlcSummons]:
    return TlcSummons.objects.select_related("driver", "lease", "medallion", "violation_type")


def tlc_detail() -> QuerySet[TlcSummons]:
    return tlc_list().prefetch_related(
        Prefetch("events", queryset=TlcSummonsEvent.objects.order_by("id")),
        Prefetch("charges", queryset=TlcCharge.objects.order_by("sequence")),
    )


def violation_types() -> QuerySet[TlcViolationType]:
    return TlcViolationType.objects.all()
