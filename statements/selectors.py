"""Reads of trips, imports and DTRs for the API and the admin."""

from statements.models import DriverTransactionReport, Trip, TripImport, TripImportRow

DTR = DriverTransactionReport


def dtr_list():
    """DTRs with what a list row shows, without their (large) snapshots."""
    return DTR.objects.select_related(
        "lease__medallion", "driver", "supersedes", "superseded_by", "voided_by", "generated_by"
    ).defer("snapshot")


def dtr_detail():
    return DTR.objects.select_related(
        "lease__medallion", "driver", "supersedes", "superseded_by", "voided_by", "generated_by"
    )


def period_dtrs(period):
    """A period's issued DTRs (the ones in force), in number order, read a few at a time: a bulk
    download of thousands never holds all their snapshots at once."""
    return dtr_detail().filter(period=period, status=DTR.Status.ISSUED).order_by("dtr_number").iterator(chunk_size=100)


def trip_list():
    return Trip.objects.select_related("lease", "driver", "medallion")


def import_list():
    return TripImport.objects.select_related("created_by")


def kept_row_list():
    return TripImportRow.objects.select_related("batch")
