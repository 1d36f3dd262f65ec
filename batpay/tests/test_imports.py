"""The row-keeping kit every file import shares (`batpay.imports`)."""

import math

import pytest
from django.db import OperationalError, connection

from batpay.imports import storable, text_problem, write_or_isolate


@pytest.fixture
def table(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE import_kit_rows (id integer PRIMARY KEY, name varchar(5) NOT NULL CHECK (name <> 'bad'))"
        )
    yield "import_kit_rows"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE import_kit_rows")


def copy_into(table: str, calls: list[int]):
    def write(rows):
        calls.append(len(rows))
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} (id, name) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    return write


def stored(table: str) -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, name FROM {table} ORDER BY id")
        return cursor.fetchall()


def test_a_good_batch_is_one_write(table):
    calls: list[int] = []
    rows = [(n, f"r{n}") for n in range(500)]

    assert write_or_isolate(rows, copy_into(table, calls)) == []

    assert calls == [500]
    assert len(stored(table)) == 500


def test_each_row_the_database_refuses_comes_back_with_its_reason_and_the_rest_is_written(table):
    calls: list[int] = []
    rows = [(n, f"r{n}") for n in range(200)]
    rows[10] = (10, "nul\x00")  # PostgreSQL keeps no NUL in text
    rows[50] = (50, "\ud800")  # a lone surrogate cannot be encoded
    rows[90] = (90, "toolong")  # varchar(5)
    rows[130] = (130, "bad")  # the CHECK
    rows[170] = (3, "dup")  # the primary key of row 3 again

    refused = write_or_isolate(rows, copy_into(table, calls))

    assert [row for row, _ in refused] == [rows[10], rows[50], rows[90], rows[130], rows[170]]
    reasons = [reason for _, reason in refused]
    assert reasons[0] == "refused by the database: PostgreSQL text fields cannot contain NUL (0x00) bytes"
    assert reasons[1] == "refused by the database: text that is not valid Unicode (a lone surrogate)"
    assert reasons[2] == "refused by the database: value too long for type character varying(5)"
    assert "violates check constraint" in reasons[3]
    assert "duplicate key value violates unique constraint" in reasons[4]
    assert stored(table) == sorted(row for n, row in enumerate(rows) if n not in (10, 50, 90, 130, 170))
    # Halving: about 2·log2(n) writes per refused row, not one write per row.
    assert len(calls) <= 1 + 5 * 2 * math.ceil(math.log2(len(rows)))


def test_a_failure_that_is_not_the_rows_stops_the_import(table):
    def write(rows):
        raise OperationalError("the server went away")

    with pytest.raises(OperationalError):
        write_or_isolate([(1, "a")], write)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("T-000123", None),
        ("Ünïcode-ok", None),
        ("T\x00123", "trip_id contains a control character (U+0000)"),
        ("T\t123", "trip_id contains a control character (U+0009)"),
        ("T\x85123", "trip_id contains a control character (U+0085)"),
        ("T\ud800123", "trip_id contains a lone surrogate (U+D800)"),
        ("T\ufffd123", "trip_id holds bytes that are not UTF-8 text"),
    ],
)
def test_an_identifier_with_characters_no_id_has_is_refused_by_name(text, problem):
    assert text_problem("trip_id", text) == problem


def test_what_postgresql_cannot_keep_is_kept_as_the_replacement_character():
    assert storable("a\x00b\ud800c\té") == "a\ufffdb\ufffdc\té"
    assert storable("plain") == "plain"
