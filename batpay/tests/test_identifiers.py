import threading

import pytest
from django.db import connection, transaction

from batpay.identifiers import next_number, yearly_id


@pytest.mark.django_db
def test_yearly_ids_count_per_prefix_and_year():
    assert yearly_id("RPR", 2025, 3) == "RPR-2025-001"
    assert yearly_id("RPR", 2025, 3) == "RPR-2025-002"
    assert yearly_id("RPR", 2026, 3) == "RPR-2026-001"
    assert yearly_id("DL", 2025, 4) == "DL-2025-0001"


@pytest.mark.django_db(transaction=True)
def test_concurrent_numbers_never_repeat():
    got: list[int] = []
    lock = threading.Lock()

    def take():
        try:
            for _ in range(20):
                with transaction.atomic():
                    n = next_number("race")
                with lock:
                    got.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 161))
