"""The parking violations import: columns, bad rows, attribution by plate, lease and trips, versions,
re-imports, the fee's rounding, the three ways in, and the charges that follow to the cent."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from batpay.errors import InvalidInput
from batpay.testing import set_clock
from ledger import services as ledger_services
from ledger.models import ObligationBalance, Posting
from statements.tests.trip_files import import_lines, trip
from violations import charges
from violations.imports import read_time
from violations.models import Violation
from violations.tests.files import HEADER, csv_bytes, import_pvb, pvb

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(monkeypatch):
    return set_clock(monkeypatch, "2025-10-03T12:00:00-04:00")


def balances(summons: str) -> list[tuple[str, D, str]]:
    return [
        (b.source_reference, b.original_amount, b.status)
        for b in ObligationBalance.objects.filter(
            category="PVB", source_reference__startswith=f"PVB-{summons}-"
        ).order_by("id")
    ]


@given(st.decimals(min_value=0, max_value=10000, places=2))
def test_the_processing_fee_is_two_and_a_half_percent_of_the_fine_half_up(fine):
    fee = charges.processing_fee(fine)
    exact = fine * D("0.025")
    assert abs(fee - exact) <= D("0.005") and fee == fee.quantize(D("0.01"))
    if exact * 1000 % 10 == 5:  # exactly half a cent: up
        assert fee > exact


def test_the_fee_is_a_setting_and_may_be_zero(settings):
    assert charges.processing_fee(D("65.00")) == D("1.63")  # 1.625 half-up
    assert charges.processing_fee(D("115.00")) == D("2.88")  # 2.875
    settings.PVB_PROCESSING_FEE_PERCENT = D("0")
    assert charges.processing_fee(D("65.00")) == D("0.00")


def test_violation_times_read_as_the_data_set_writes_them():
    assert read_time("10:05A") == dt.time(10, 5)
    assert read_time("12:10A") == dt.time(0, 10)
    assert read_time("00:10A") == dt.time(0, 10)
    assert read_time("12:30P") == dt.time(12, 30)
    assert read_time("03:40p") == dt.time(15, 40)
    for bad in ("13:00P", "10:60A", "1005A", "10:05", "10:05X", ""):
        assert read_time(bad) is None


def test_a_header_missing_a_column_refuses_the_whole_file(fleet, today):
    header = HEADER.replace(",Violation Status", "")
    with pytest.raises(InvalidInput) as refused:
        import_pvb(["x"], header=header)
    assert "missing Violation Status" in refused.value.message
    assert not Violation.objects.exists()


def test_columns_in_any_order_and_case_and_extra_columns_ignored(fleet, today):
    lease = fleet.lease()
    line = pvb("5000000001", lease.vehicle.plate_number, "10/01/2025", "08:00A").split(",")
    names = HEADER.split(",")
    order = list(reversed(range(len(names))))
    header = ",".join([names[i].upper() for i in order] + ["Summons Image"])
    body = ",".join([line[i] for i in order] + ["http://example.com/img"])
    batch = import_pvb([body], header=header)
    assert (batch.new_summonses, batch.invalid, batch.charged) == (1, 0, D("66.63"))


def test_bad_rows_are_kept_with_line_and_reason_and_the_good_rows_go_in(fleet, today):
    lease = fleet.lease()
    plate = lease.vehicle.plate_number
    good = pvb("5000000002", plate, "10/01/2025", "08:00A")
    lines = [
        good,
        pvb("5000000003", plate, "10/01/2025", "08:00A", fine="1e3"),  # an exponent
        pvb("5000000004", plate, "10/01/2025", "8AM"),  # not hh:mmA
        pvb("5000000005", plate, "13/45/2025", "08:00A"),  # no such date
        pvb("5000000006", plate, "10/01/2025", "08:00A", fine="99999999999.00"),  # beyond the money column
        pvb("5000000007\x00", plate, "10/01/2025", "08:00A"),  # a NUL
        pvb("5000000008", plate, "10/01/2026", "08:00A"),  # in the future
        pvb("5000000002", plate, "10/01/2025", "09:00A"),  # the same summons again
        "1,2,3",  # too few columns
    ]
    batch = import_pvb(lines)
    assert (batch.rows, batch.new_summonses, batch.invalid) == (9, 1, 8)
    reasons = {row.line_number: row.reason for row in batch.kept_rows.all()}
    assert "Fine Amount '1e3' is not an amount" in reasons[3]
    assert "Violation Time '8AM'" in reasons[4]
    assert "Issue Date '13/45/2025' is not a date" in reasons[5]
    assert "more than the largest charge" in reasons[6]
    assert "U+0000" in reasons[7]
    assert "in the future" in reasons[8]
    assert "appears again (first on line 2)" in reasons[9]
    assert "has 3 columns" in reasons[10]
    assert balances("5000000002") == [("PVB-5000000002-1", D("66.63"), "OPEN")]


def test_a_file_that_is_not_utf8_keeps_its_rows_for_review(fleet, today):
    lease = fleet.lease()
    body = csv_bytes([pvb("5000000009", lease.vehicle.plate_number, "10/01/2025", "08:00A")])
    body = body.replace(b"NO PARKING", b"NO PARK\xe9NG")
    from violations.imports import import_violations

    batch = import_violations(stream=io.BytesIO(body), file_name="latin1.csv")
    assert (
        batch.invalid == 1 and "not UTF-8" in batch.kept_rows.get().reason or "U+FFFD" in batch.kept_rows.get().reason
    )


def test_attribution_by_trip_within_two_hours_else_the_primary_driver(fleet, today):
    extra = fleet.driver()
    lease = fleet.lease(additional_driver_ids=[extra.pk])
    plate = lease.vehicle.plate_number
    # The additional driver drives 06:00–06:22; the primary driver 13:00–13:22 on 10/01.
    import_lines(
        [
            trip("AT-1", extra, lease.medallion, dt.datetime(2025, 10, 1, 6, 0)),
            trip("AT-2", lease.primary_driver, lease.medallion, dt.datetime(2025, 10, 1, 13, 0)),
        ]
    )
    import_pvb(
        [
            pvb("6000000001", plate, "10/01/2025", "08:15A"),  # 1 h 53 after the extra driver's trip ended
            pvb("6000000002", plate, "10/01/2025", "11:30A"),  # 1 h 30 before the primary driver's trip
            pvb("6000000003", plate, "10/01/2025", "07:00P"),  # no trip within two hours
            pvb("6000000004", plate.lower(), "10/01/2025", "06:10A"),  # during the extra driver's trip
        ]
    )
    found = {v.summons_number: (v.driver_id, v.attributed_by) for v in Violation.objects.all()}
    assert found == {
        "6000000001": (extra.pk, "TRIP"),
        "6000000002": (lease.primary_driver_id, "TRIP"),
        "6000000003": (lease.primary_driver_id, "PRIMARY"),
        "6000000004": (extra.pk, "TRIP"),
    }
    charged = ObligationBalance.objects.get(source_reference="PVB-6000000004-1")
    assert (charged.driver_id, charged.lease_id, charged.due_period) == (extra.pk, lease.pk, dt.date(2025, 9, 28))


def test_the_lease_in_force_at_the_time_not_the_vehicle_s_latest(fleet, today):
    vehicle = fleet.vehicle()
    old = fleet.lease(
        vehicle_id=vehicle.pk, start_date=dt.date(2025, 9, 1), end_date=dt.date(2025, 9, 20), status="EXPIRED"
    )
    new = fleet.lease(vehicle_id=vehicle.pk, start_date=dt.date(2025, 9, 28))
    import_pvb(
        [
            pvb("7000000001", vehicle.plate_number, "09/10/2025", "10:00A"),
            pvb("7000000002", vehicle.plate_number, "10/01/2025", "10:00A"),
            pvb("7000000003", vehicle.plate_number, "09/24/2025", "10:00A"),  # between the two leases
        ]
    )
    found = {v.summons_number: (v.lease_id, v.review) for v in Violation.objects.all()}
    assert found["7000000001"] == (old.pk, "ATTRIBUTED")
    assert found["7000000002"] == (new.pk, "ATTRIBUTED")
    assert found["7000000003"] == (None, "NEEDS_REVIEW")
    assert "No lease on the vehicle" in Violation.objects.get(summons_number="7000000003").review_reason


def test_versions_increase_decrease_reimport_and_reassignment(fleet, finance, today):
    lease, other = fleet.lease(), fleet.lease()
    plate = lease.vehicle.plate_number
    v1 = pvb("8000000001", plate, "10/01/2025", "10:00A", fine="115.00")
    import_pvb([v1], actor=finance)
    assert balances("8000000001") == [("PVB-8000000001-1", D("117.88"), "OPEN")]
    # The driver pays 50.00 at the cashier.
    balance = ObligationBalance.objects.get(source_reference="PVB-8000000001-1")
    ledger_services.apply_interim_payment(
        driver=lease.primary_driver,
        lease=lease,
        amount=D("50.00"),
        method="CASH",
        allocations=[ledger_services.Allocation(balance_id=balance.pk, amount=D("50.00"))],
    )
    # Penalty 60.00 and interest 1.20: an increase of 61.20.
    v2 = pvb("8000000001", plate, "10/01/2025", "10:00A", fine="115.00", penalty="60.00", interest="1.20")
    assert import_pvb([v2]).charged == D("61.20")
    # Re-importing the first file after the second changes nothing: its figures are a version on file.
    again = import_pvb([v1])
    assert (again.unchanged, again.new_versions, again.charged) == (1, 0, D("0"))
    # A reduction of 40.00: a replacement of 136.20 + 2.88 = 139.08, then both charges voided; the 50.00
    # the driver paid goes back to the cashier's receipt as credit.
    v3 = pvb(
        "8000000001",
        plate,
        "10/01/2025",
        "10:00A",
        fine="115.00",
        penalty="60.00",
        interest="1.20",
        reduction="40.00",
        status="HEARING HELD-GUILTY REDUCTION",
    )
    assert import_pvb([v3]).charged == D("139.08")
    assert balances("8000000001") == [
        ("PVB-8000000001-1", D("117.88"), "CLOSED"),
        ("PVB-8000000001-2", D("61.20"), "CLOSED"),
        ("PVB-8000000001-3", D("139.08"), "OPEN"),
    ]
    violation = Violation.objects.get(summons_number="8000000001")
    assert violation.driver_total == D("139.08") and violation.versions.count() == 3
    # Reassigned to the other lease's driver: a charge there, the void of this one, with the reason.
    from violations.services import violation_reassign

    violation_reassign(
        violation_id=violation.pk,
        driver_id=other.primary_driver_id,
        lease_id=other.pk,
        reason="The driver swapped cabs that day",
        actor=finance,
    )
    assert balances("8000000001")[-2:] == [
        ("PVB-8000000001-3", D("139.08"), "CLOSED"),
        ("PVB-8000000001-4", D("139.08"), "OPEN"),
    ]
    moved = ObligationBalance.objects.get(source_reference="PVB-8000000001-4")
    assert (moved.driver_id, moved.lease_id) == (other.primary_driver_id, other.pk)
    reversal = Posting.objects.filter(obligation__source_reference="PVB-8000000001-3", reverses__isnull=False).get()
    assert "The driver swapped cabs that day" in reversal.reason
    call_command("check_ledger")


def test_a_charge_a_controller_voided_in_the_ledger_is_not_voided_again(fleet, today):
    lease = fleet.lease()
    plate = lease.vehicle.plate_number
    import_pvb([pvb("8100000001", plate, "10/01/2025", "10:00A")])
    debit = Posting.objects.get(
        obligation__source_reference="PVB-8100000001-1", entry_type="DEBIT", reverses__isnull=True
    )
    ledger_services.void_posting(posting=debit, reason="Controller: wrong vehicle")
    # Now dismissed: nothing left to void, nothing charged.
    batch = import_pvb([pvb("8100000001", plate, "10/01/2025", "10:00A", status="DISMISSED", due="0")])
    assert (batch.new_versions, batch.charged) == (1, D("0"))
    # And a penalty on a charge voided in the ledger charges the whole new figure again, once.
    batch = import_pvb([pvb("8100000001", plate, "10/01/2025", "10:00A", penalty="10.00")])
    assert batch.charged == D("76.63")
    call_command("check_ledger")


def test_the_command_prints_a_summary(fleet, today, tmp_path, capsys):
    lease = fleet.lease()
    path = tmp_path / "dof.csv"
    path.write_bytes(
        csv_bytes(
            [
                pvb("9000000001", lease.vehicle.plate_number, "10/01/2025", "10:00A"),
                pvb("9000000002", "NOPE1", "10/01/2025", "10:00A"),
            ]
        )
    )
    out = io.StringIO()
    call_command("import_violations", str(path), stdout=out, verbosity=0)
    text = out.getvalue()
    assert "2 rows, 2 new summonses" in text and "1 waiting to be assigned" in text and "66.63 charged" in text
    assert "summons 9000000002: No vehicle with plate NOPE1" in text


def test_a_file_costs_the_same_few_statements_however_many_rows(fleet, today, django_assert_max_num_queries):
    """Set-based: new charges and increases are one bulk post, whatever the file's size."""
    leases = [fleet.lease() for _ in range(6)]

    def rows(first: int, count: int, penalty: str = "0.00") -> list[str]:
        return [
            pvb(f"{first + n}", leases[n % 6].vehicle.plate_number, "10/01/2025", "10:00A", penalty=penalty)
            for n in range(count)
        ]

    with django_assert_max_num_queries(45):
        assert import_pvb(rows(3_000_000_000, 12)).charged == D("66.63") * 12
    with django_assert_max_num_queries(45):
        assert import_pvb(rows(3_100_000_000, 240)).charged == D("66.63") * 240
    with django_assert_max_num_queries(45):
        assert import_pvb(rows(3_100_000_000, 240, penalty="10.00")).charged == D("10.00") * 240
