"""Reads of the tolls app: the querysets the API, the admin and the exports list."""

from __future__ import annotations

from django.db.models import QuerySet

from tolls.models import Toll, TollImport, TollImportRow


def toll_list() -> QuerySet[Toll]:
    return Toll.objects.select_related("lease", "driver", "vehicle", "batch", "refund_of")


def import_list() -> QuerySet[TollImport]:
    return TollImport.objects.select_related("created_by")


def kept_row_list() -> QuerySet[TollImportRow]:
    return TollImportRow.objects.all()
