"""A trips file never aborts on a bad row: every row ends as a trip or as a row kept for review with
its line number and reason — rows only the database refuses included — and nothing is half-written."""

import csv
import datetime as dt
import io
import os
import pathlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from batpay.roles import FINANCE
from statements import trips
from statements.models import Trip, TripImport
from statements.tests.trip_files import HEADER, import_lines, trip

MONDAY = dt.datetime(2025, 9, 29, 8, 0)


def kept(batch) -> dict[int, tuple[str, str]]:
    return {row.line_number: (row.trip_id, row.reason) for row in batch.kept_rows.all()}


def accounted(batch) -> bool:
    """Every data row of the file is a new trip, an old one, or a kept row: none vanished."""
    return batch.rows == batch.imported + batch.already_imported + batch.kept_for_review


def test_characters_postgresql_refuses_are_kept_for_review_with_their_reasons(fleet):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    lines = [
        trip("OK-1", d, m, MONDAY),  # line 2
        trip("NUL\x00ID", d, m, MONDAY),  # 3
        trip("NUL-FARE", d, m, MONDAY, fare="20.\x0000", total="24.75"),  # 4
        trip("TAB\tID", d, m, MONDAY),  # 5
        trip("NUL-MEDALLION", d, f"{m.number}\x00", MONDAY),  # 6
        trip("X" * 65, d, m, MONDAY),  # 7: longer than the column
        "NUL-TIME,5000001,0A01,2025-09-29T08:00:00\x00,2025-09-29T08:22:00,CARD,20,0,0,0.5,1,2.5,0.75,0,24.75",  # 8
        trip("OK-2", d, m, MONDAY + dt.timedelta(hours=1)),  # 9
        trip("YEAR-1", d, m, "0001-01-01T00:00:00", end="0001-01-01T00:20:00"),  # 10: its week would start in year 0
        trip("YEAR-9999", d, m, "9999-12-31T23:00:00-05:00", end="9999-12-31T23:30:00-05:00"),  # 11: UTC is year 10000
    ]
    content = ("\n".join([HEADER, *lines]) + "\n").encode()
    # Bytes that are not UTF-8 (the UTF-8 form of a lone surrogate, U+D800) in a trip id: line 12.
    content += b"SUR\xed\xa0\x80ID," + trip("", d, m, MONDAY + dt.timedelta(hours=2)).encode()[1:] + b"\n"

    batch = trips.import_trips(stream=io.BytesIO(content), file_name="bad\x00name-\udcff.csv")

    assert sorted(Trip.objects.values_list("trip_id", flat=True)) == ["OK-1", "OK-2"]
    assert accounted(batch) and (batch.rows, batch.imported, batch.invalid) == (11, 2, 9)
    reasons = kept(batch)
    # A cell that is not text is refused as such before anything else is read from the row (batpay.text).
    assert reasons[3] == ("NUL\ufffdID", "trip_id: contains the control character U+0000, which text cannot hold")
    assert reasons[4][1] == "fare: contains the control character U+0000, which text cannot hold"
    assert reasons[5][1] == "trip_id: contains a tab or a line break (U+0009); this field is a single line"
    assert reasons[6][1] == "medallion: contains the control character U+0000, which text cannot hold"
    assert reasons[7][1] == "trip_id is longer than 64 characters"
    assert reasons[8][1] == "start_time: contains the control character U+0000, which text cannot hold"
    assert reasons[10][1] == (
        "start_time '0001-01-01T00:00:00': must be between 2000-01-01 and 2099-12-31; "
        "end_time '0001-01-01T00:20:00': must be between 2000-01-01 and 2099-12-31"
    )
    assert reasons[11][1] == (
        "start_time '9999-12-31T23:00:00-05:00' is outside the calendar; "
        "end_time '9999-12-31T23:30:00-05:00' is outside the calendar"
    )
    assert reasons[12] == ("SUR\ufffd\ufffd\ufffdID", "trip_id holds bytes that are not UTF-8 text")
    assert batch.kept_rows.get(line_number=4).raw["fare"] == "20.\ufffd00"
    assert batch.file_name == "bad\\x00name-\\udcff.csv"  # a name that is not text is kept escaped


@pytest.fixture
def lenient_checks(monkeypatch):
    """The import's own checks let through what only the database then refuses: NUL in the trip id
    (refused by the COPY into the staging table) and ids too long for the trips table (refused by
    the insert), as a check with a gap would."""
    monkeypatch.setattr(trips, "text_problem", lambda name, text: None)
    monkeypatch.setattr(trips, "cell_problem", lambda text, **kwargs: None)
    monkeypatch.setattr(trips, "MAX_TRIP_ID_LENGTH", 1000)


@pytest.fixture
def refuses_fare_13_13(db):
    """A constraint the import knows nothing of (DDL is transactional: the test's rollback drops it)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_trip ADD CONSTRAINT test_no_13_13 CHECK (fare <> 13.13)")


def test_rows_only_the_database_refuses_are_kept_and_the_file_goes_on(fleet, lenient_checks, refuses_fare_13_13):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    good = [trip(f"G-{n:03d}", d, m, MONDAY + dt.timedelta(minutes=n)) for n in range(300)]
    lines = [
        *good[:100],
        trip("DB-NUL\x00", d, m, MONDAY),  # line 102: the COPY refuses it
        *good[100:200],
        trip("DB-" + "L" * 70, d, m, MONDAY),  # 203: varchar(64)
        trip("DB-CHECK", d, m, MONDAY, fare="13.13"),  # 204: the constraint
        *good[200:],
    ]

    batch = import_lines(lines)

    assert accounted(batch) and (batch.rows, batch.imported, batch.invalid) == (303, 300, 3)
    assert Trip.objects.count() == 300 and not Trip.objects.filter(trip_id__startswith="DB-").exists()
    reasons = kept(batch)
    assert reasons[102] == (
        "DB-NUL\ufffd",
        "refused by the database: PostgreSQL text fields cannot contain NUL (0x00) bytes",
    )
    assert reasons[203][1] == "refused by the database: value too long for type character varying(64)"
    assert reasons[204][1] == (
        'refused by the database: new row for relation "ledger_trip" violates check constraint "test_no_13_13"'
    )
    assert batch.kept_rows.get(line_number=204).raw["fare"] == "13.13"
    call_command("check_ledger", stdout=io.StringIO())


def test_a_good_file_keeps_the_bulk_path(fleet, django_assert_max_num_queries):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    small = [trip(f"S-{n}", d, m, MONDAY + dt.timedelta(minutes=n)) for n in range(10)]
    large = [trip(f"L-{n}", d, m, MONDAY + dt.timedelta(minutes=n)) for n in range(trips.STAGE_CHUNK + 10)]
    with django_assert_max_num_queries(40) as small_run:
        import_lines(small)
    baseline = len(small_run.captured_queries)

    # Two COPY chunks instead of one: a savepoint and its release more, whatever the file's size.
    with django_assert_max_num_queries(baseline + 2):
        batch = import_lines(large)

    assert batch.imported == trips.STAGE_CHUNK + 10


def test_the_command_reports_a_mixed_file_and_an_unreadable_one_without_a_traceback(fleet, tmp_path, monkeypatch):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    path = tmp_path / os.fsdecode(b"week-\xff.csv")  # a file name that is not UTF-8
    lines = [
        trip("C-1", d, m, MONDAY),
        trip("C-\x00", d, m, MONDAY),
        trip("C-3", d, m, "2025-13-01T00:00:00", end="2025-13-01T00:30:00"),
    ]
    path.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode())
    out = io.StringIO()

    call_command("import_trips", str(path), stdout=out, stderr=io.StringIO())

    text = out.getvalue()
    assert "3 rows, 1 new trips, 0 already imported, 2 kept for review (2 bad" in text
    assert "line 3: Bad data: trip_id: contains the control character U+0000, which text cannot hold" in text
    assert "line 4: Bad data: start_time '2025-13-01T00:00:00' is not an ISO 8601 date and time" in text
    assert TripImport.objects.get().file_name == "week-\\udcff.csv"  # kept escaped

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pathlib.Path, "open", refused)
    with pytest.raises(CommandError, match="Cannot read .*: Permission denied"):
        call_command("import_trips", str(path), stdout=io.StringIO())
    assert TripImport.objects.count() == 1


def test_the_admin_upload_reports_a_mixed_file(fleet, client, make_user):
    lease = fleet.lease()
    d, m = lease.primary_driver, lease.medallion
    user = make_user(FINANCE)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    lines = [trip("U-1", d, m, MONDAY), trip("U-\x00", d, m, MONDAY), trip("U-3", d, m, MONDAY, total="1.00")]
    content = ("\n".join([HEADER, *lines]) + "\n").encode()

    response = client.post(
        reverse("admin:statements_tripimport_upload"), {"file": SimpleUploadedFile("week.csv", content, "text/csv")}
    )

    batch = TripImport.objects.get()
    assert response.status_code == 302 and (batch.imported, batch.invalid) == (1, 2)
    page = client.get(response["Location"])
    assert "3 row(s) read, 1 new trip(s), 0 already imported, 2 kept for review" in page.content.decode()
    row = batch.kept_rows.get(line_number=3)
    shown = client.get(reverse("admin:statements_tripimportrow_change", args=[row.pk]))
    assert shown.status_code == 200 and "trip_id: contains the control character U+0000" in shown.content.decode()


_CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["2026-03-08T02:51:00", "2025-11-02T01:30:00-05:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00",
     "5000001", "0A01", "CARD", "24.75", "1e3", "NaN", "-0.00"]
)  # fmt: skip


@given(cells=st.lists(st.lists(_CELL, min_size=15, max_size=15), min_size=1, max_size=4))
def test_no_row_of_any_text_aborts_the_import(fleet, cells):
    lease = fleet.lease()
    good = trip("HYP-GOOD", lease.primary_driver, lease.medallion, MONDAY)
    content = io.StringIO()
    content.write(HEADER + "\n" + good + "\n")
    csv.writer(content).writerows(cells)

    batch = trips.import_trips(stream=io.BytesIO(content.getvalue().encode()), file_name="fuzz.csv")

    assert accounted(batch)
    assert Trip.objects.filter(trip_id="HYP-GOOD").exists()
