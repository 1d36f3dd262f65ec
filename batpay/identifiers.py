from django.db import connection


def next_number(key: str) -> int:
    """The next number of the series `key` (1, 2, 3 …), race-free: call it inside the writing transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO batpay_counter (key, value) VALUES (%s, 1)
            ON CONFLICT (key) DO UPDATE SET value = batpay_counter.value + 1
            RETURNING value
            """,
            [key],
        )
        return cursor.fetchone()[0]


def yearly_id(prefix: str, year: int, width: int) -> str:
    """`yearly_id("RPR", 2025, 3)` → "RPR-2025-001"; numbering restarts every year and grows past `width`."""
    return f"{prefix}-{year}-{next_number(f'{prefix}-{year}'):0{width}d}"


def next_numbers(key: str, count: int) -> range:
    """The next `count` numbers of the series `key` in one upsert: numbering a batch of rows
    costs one statement, with the same guarantees as next_number."""
    if count < 1:
        return range(0)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO batpay_counter (key, value) VALUES (%s, %s)
            ON CONFLICT (key) DO UPDATE SET value = batpay_counter.value + EXCLUDED.value
            RETURNING value
            """,
            [key, count],
        )
        last = cursor.fetchone()[0]
    return range(last - count + 1, last + 1)
