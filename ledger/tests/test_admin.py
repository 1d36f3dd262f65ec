import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from batpay.roles import CASHIER, CONTROLLER, MANAGER
from ledger import services
from ledger.models import Category, ObligationBalance, Posting, Receipt

P1 = dt.date(2025, 9, 28)
P2 = dt.date(2025, 10, 5)

POSTINGS = reverse("admin:ledger_posting_changelist")
BALANCES = reverse("admin:ledger_obligationbalance_changelist")
RECEIPTS = reverse("admin:ledger_receipt_changelist")
PAY = reverse("admin:ledger_receipt_interim_payment")


def charge(lease, category, amount, ref, period=P1):
    return services.create_obligation(
        category=category,
        amount=D(amount),
        source_reference=ref,
        driver=lease.primary_driver,
        lease=lease,
        period=period,
    )


def ledger_counts():
    return (Posting.objects.count(), ObligationBalance.objects.count(), Receipt.objects.count())


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """make_user sets a password; the production hasher's deliberate slowness would dominate these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def login(client, make_user):
    """login(role) → the test client, logged in to the admin as staff of that role (None: a superuser)."""

    def log_in(role=None):
        user = make_user(role) if role else make_user(superuser=True)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def book(fleet):
    lease = fleet.lease()
    other = fleet.lease()
    taxes = charge(lease, Category.TAXES, "191.25", "TAX-1")
    rent = charge(lease, Category.LEASE, "500.00", "LEASE-1")
    repair = charge(lease, Category.REPAIRS, "250.00", "RPR-2025-001-01", period=P2)
    charge(other, Category.LEASE, "400.00", "LEASE-9")
    earnings = services.apply_earnings(driver=lease.primary_driver, lease=lease, period=P1, amount=D("300.00"))
    return dict(
        lease=lease, other=other, driver=lease.primary_driver, taxes=taxes, rent=rent, repair=repair, earnings=earnings
    )


def test_ledger_pages_load_read_only_with_filters_search_and_links(login, book):
    client = login()
    rent, earnings, lease = book["rent"], book["earnings"], book["lease"]
    credit = rent.postings.get(entry_type="CREDIT")
    lists = [
        POSTINGS,
        f"{POSTINGS}?category=LEASE&status=POSTED&entry_type=CREDIT&period=2025-09-28",
        f"{POSTINGS}?q={book['driver'].tlc_license_number}",
        f"{POSTINGS}?q=LEASE-1",
        f"{POSTINGS}?obligation__id__exact={rent.pk}",
        f"{POSTINGS}?created_at__year={timezone.localdate().year}",
        BALANCES,
        f"{BALANCES}?category=LEASE&status=OPEN&due_period=2025-09-28",
        f"{BALANCES}?q={book['driver'].first_name}+{book['driver'].last_name}",
        RECEIPTS,
        f"{RECEIPTS}?kind=EARNINGS&period=2025-09-28&q={lease.lease_number}",
        f"{RECEIPTS}?received_on__year=2025",
    ]
    for url in lists:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "?e=1" not in response.get("Location", "")

    filtered = client.get(f"{POSTINGS}?category=LEASE&entry_type=CREDIT")
    assert list(filtered.context["cl"].result_list) == [credit]
    driver = book["driver"]
    searched = client.get(f"{BALANCES}?q={driver.first_name}+{driver.last_name}")
    assert {b.source_reference for b in searched.context["cl"].result_list} == {"TAX-1", "LEASE-1", "RPR-2025-001-01"}
    assert client.get(f"{POSTINGS}?period=2025-09-29").status_code == 302, "not a Sunday: the admin's ?e=1"

    page = client.get(reverse("admin:ledger_posting_change", args=[credit.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("admin:ledger_obligationbalance_change", args=[rent.pk]) in html
    assert reverse("admin:ledger_receipt_change", args=[earnings.pk]) in html
    assert 'name="_save"' not in html
    for url in (
        reverse("admin:ledger_obligationbalance_change", args=[rent.pk]),
        reverse("admin:ledger_receipt_change", args=[earnings.pk]),
    ):
        detail = client.get(url)
        assert detail.status_code == 200
        assert reverse("admin:ledger_posting_change", args=[credit.pk]) in detail.content.decode()

    before = ledger_counts()
    assert client.get(reverse("admin:ledger_posting_add")).status_code == 403
    assert client.post(reverse("admin:ledger_posting_delete", args=[credit.pk]), {"post": "yes"}).status_code == 403
    changed = client.post(reverse("admin:ledger_obligationbalance_change", args=[rent.pk]), {"outstanding": "0.00"})
    assert changed.status_code == 403
    assert ledger_counts() == before
    rent.refresh_from_db()
    assert rent.outstanding == D("391.25")


def void_action(client, postings, **extra):
    data = {"action": "void_selected", "_selected_action": [p.pk for p in postings], **extra}
    return client.post(POSTINGS, data)


def test_void_action_asks_for_a_reason_then_voids_through_the_service(login, book):
    client = login(CONTROLLER)
    rent, earnings = book["rent"], book["earnings"]
    credit = rent.postings.get(entry_type="CREDIT")
    rent.refresh_from_db()
    earnings.refresh_from_db()
    owed_before, unapplied_before = rent.outstanding, earnings.unapplied
    assert "void_selected" in dict(client.get(POSTINGS).context["action_form"].fields["action"].choices)

    confirm = void_action(client, [credit])
    assert confirm.status_code == 200
    assert "admin/ledger/posting/void_confirmation.html" in [t.name for t in confirm.templates]
    assert f"#{credit.pk}" in confirm.content.decode()

    before = ledger_counts()
    short = void_action(client, [credit], confirm="yes", reason="wrong")
    assert short.status_code == 200
    assert "at least 10 characters" in short.content.decode()
    assert ledger_counts() == before

    done = void_action(client, [credit], confirm="yes", reason="Earnings belonged to another week")
    assert done.status_code == 302
    credit.refresh_from_db()
    rent.refresh_from_db()
    earnings.refresh_from_db()
    assert credit.status == "VOIDED"
    assert credit.reversal.reason == "Earnings belonged to another week"
    # The earnings handed back pay the rent again at once (docs/rules.md, "Effective dates").
    assert (rent.outstanding, earnings.unapplied) == (owed_before, unapplied_before)
    assert rent.postings.filter(entry_type="CREDIT", status="POSTED", reverses=None).get().amount == credit.amount
    assert any("Voided 1 posting(s)" in m for m in messages_of(done))


def test_void_action_voids_a_charge_with_its_payment_and_reports_refusals(login, book):
    client = login(CONTROLLER)
    taxes = book["taxes"]
    charge_posting = taxes.postings.get(entry_type="DEBIT")
    payment = taxes.postings.get(entry_type="CREDIT")
    foreign = Posting.objects.get(obligation__source_reference="LEASE-9")
    services.void_posting(posting=foreign, reason="Charged to the wrong lease")
    reversal = foreign.reversal
    rent = book["rent"]
    rent.refresh_from_db()
    rent_before = rent.outstanding

    response = void_action(
        client, [charge_posting, payment, foreign, reversal], confirm="yes", reason="Tax computed twice"
    )

    assert response.status_code == 302
    taxes.refresh_from_db()
    assert (taxes.outstanding, taxes.status) == (D("0.00"), "CLOSED")
    assert set(taxes.postings.filter(reverses__isnull=True).values_list("status", flat=True)) == {"VOIDED"}
    book["earnings"].refresh_from_db()
    # The 191.25 handed back pays what the driver still owes (the rent) before anything is due to them.
    rent.refresh_from_db()
    assert book["earnings"].unapplied == D("0.00")
    assert rent.outstanding == rent_before - D("191.25")
    assert rent.postings.filter(description__contains="returned by void").get().amount == D("191.25")
    shown = messages_of(response)
    assert any(f"Posting #{foreign.pk} was not voided: Posting {foreign.pk} is already voided." in m for m in shown)
    assert any(f"Posting #{reversal.pk} was not voided: A reversal cannot itself be voided." in m for m in shown)
    assert any("Voided 2 posting(s)" in m for m in shown)


@pytest.mark.parametrize("role", [MANAGER, CASHIER])
def test_only_controllers_can_void_from_the_admin(login, book, role):
    client = login(role)
    credit = book["rent"].postings.get(entry_type="CREDIT")
    changelist = client.get(POSTINGS)
    assert changelist.status_code == 200
    offered = changelist.context["action_form"]
    offered = [] if offered is None else [name for name, _ in offered.fields["action"].choices if name]
    # Managers export every list; neither role voids.
    assert offered == (["export_xlsx", "export_csv", "export_pdf"] if role == MANAGER else [])
    before = ledger_counts()
    void_action(client, [credit], confirm="yes", reason="Earnings belonged to another week")
    credit.refresh_from_db()
    assert credit.status == "POSTED"
    assert ledger_counts() == before


def test_the_cashier_screen_lists_open_balances_in_priority_order_and_pays(login, book):
    client = login(CASHIER)
    driver, lease, repair, rent = book["driver"], book["lease"], book["repair"], book["rent"]
    misc = charge(lease, Category.MISC, "20.00", "MISC-1")
    assert PAY in client.get(RECEIPTS).content.decode(), "the receipts list links to the screen"
    assert client.get(PAY).status_code == 200

    screen = client.get(PAY, {"driver": driver.pk, "lease": lease.pk})
    assert screen.status_code == 200
    html = screen.content.decode()
    assert [b.source_reference for b, _, _ in screen.context["form"].rows()] == ["LEASE-1", "RPR-2025-001-01", "MISC-1"]
    assert html.index("LEASE-1") < html.index("RPR-2025-001-01") < html.index("MISC-1")
    assert "TAX-1" not in html, "closed balances are not offered"
    assert "391.25" in html and screen.context["outstanding"] == D("661.25")
    key = screen.context["form"]["idempotency_key"].value()

    payment = {
        "amount": "300.00",
        "payment_method": "CASH",
        "note": "At the window",
        "idempotency_key": key,
        f"alloc_{repair.pk}": "100.00",
        f"alloc_{misc.pk}": "20.00",
        f"alloc_{rent.pk}": "",
    }
    url = f"{PAY}?driver={driver.pk}&lease={lease.pk}"
    done = client.post(url, payment)

    receipt = Receipt.objects.get(kind="INTERIM_PAYMENT")
    assert done.status_code == 302 and done["Location"] == reverse("admin:ledger_receipt_change", args=[receipt.pk])
    assert (receipt.amount, receipt.unapplied, receipt.method, receipt.note) == (
        D("300.00"),
        D("0.00"),
        "CASH",
        "At the window",
    )
    for balance in (repair, misc, rent):
        balance.refresh_from_db()
    assert (repair.outstanding, misc.status, rent.outstanding) == (D("150.00"), "CLOSED", D("211.25"))
    assert any("Recorded receipt" in m and "Applied 300.00" in m for m in messages_of(done))

    before = ledger_counts()
    assert client.post(url, payment).status_code == 302, "a re-sent form records the payment once"
    assert ledger_counts() == before


def test_the_cashier_screen_shows_refusals_and_writes_nothing(login, book):
    client = login(CASHIER)
    driver, lease, repair, taxes = book["driver"], book["lease"], book["repair"], book["taxes"]
    fee = charge(lease, Category.MISC, "5.00", "MISC-1")
    services.apply_interim_payment(
        driver=driver, lease=lease, amount=D("5.00"), method="CASH", allocations=[services.Allocation(fee.pk, D("5"))]
    )
    url = f"{PAY}?driver={driver.pk}&lease={lease.pk}"
    before = ledger_counts()

    def pay(amount, **allocations):
        data = {"amount": amount, "payment_method": "CASH", "idempotency_key": f"admin:{amount}:{allocations}"}
        return client.post(url, {**data, **{f"alloc_{b.pk}": v for b, v in allocations.values()}})

    over = pay("300.00", a=(repair, "250.01"))
    assert over.status_code == 200
    # On the row, naming the balance by its reference (not its row id).
    assert over.context["form"].errors[f"alloc_{repair.pk}"] == [
        "At most 250.00 on Repairs RPR-2025-001-01 (what it still owes)."
    ]
    assert over.context["form"][f"alloc_{repair.pk}"].value() == "250.01", "what was typed is kept"

    closed = pay("10.00", a=(fee, "1.00"))
    assert closed.context["form"].errors[f"alloc_{fee.pk}"] == [
        "This balance is no longer open for this driver and lease; clear the amount."
    ], "the typed amount is not dropped"

    assert "Taxes are paid from earnings only" in pay("10.00", a=(taxes, "1.00")).content.decode()
    assert "more than the payment of 10.00" in pay("10.00", a=(repair, "10.01")).content.decode()
    assert pay("ten").context["form"].errors["amount"]
    assert pay("10.001").context["form"].errors["amount"]

    wrong_lease = client.get(PAY, {"driver": driver.pk, "lease": book["other"].pk})
    # Only the driver's leases are offered: another lease is refused on the lease field.
    assert wrong_lease.context["choose_form"].errors["lease"]
    assert "form" not in wrong_lease.context
    assert ledger_counts() == before


@pytest.mark.parametrize("role", [MANAGER, CONTROLLER])
def test_only_cashiers_open_the_payment_screen(login, book, role):
    client = login(role)
    assert client.get(PAY).status_code == 403
    url = f"{PAY}?driver={book['driver'].pk}&lease={book['lease'].pk}"
    assert client.post(url, {"amount": "10.00", "payment_method": "CASH", "idempotency_key": "k"}).status_code == 403
    assert PAY not in client.get(RECEIPTS).content.decode()
    assert not Receipt.objects.filter(kind="INTERIM_PAYMENT").exists()


def test_the_cashier_screen_offers_no_input_for_taxes(login, book):
    client = login(CASHIER)
    lease = book["lease"]
    taxes = charge(lease, Category.TAXES, "40.00", "TAX-OPEN")
    html = client.get(PAY, {"driver": book["driver"].pk, "lease": lease.pk}).content.decode()
    assert "TAX-OPEN" in html and "paid from earnings only" in html
    assert f'name="alloc_{taxes.pk}"' not in html
    assert f'name="alloc_{book["repair"].pk}"' in html


# --- the lists: totals over the filtered rows, links, labels, exports by role ---------------------------

REFUNDS = "/admin/ledger/refund/"


def cells_of_totals(page) -> dict[str, str]:
    changelist = page.context["cl"]
    return dict(zip(changelist.list_display, changelist.totals_row, strict=True))


def test_money_lists_total_every_filtered_row_not_only_the_page(login, book):
    client = login(MANAGER)

    postings = client.get(POSTINGS)
    # Charges 191.25 + 500 + 250 + 400; earnings of 300 paid taxes 191.25 and lease 108.75.
    totals = cells_of_totals(postings)
    assert (totals["debit"], totals["credit"]) == ("1,341.25", "300.00")
    assert totals["id"] == "Total of 6 rows"  # in the first column that holds no sum
    html = postings.content.decode()
    assert '<tr class="totals">' in html and "1,341.25" in html
    lease_only = cells_of_totals(client.get(POSTINGS, {"category__exact": "LEASE"}))
    assert (lease_only["debit"], lease_only["credit"]) == ("900.00", "108.75")

    balances = cells_of_totals(client.get(BALANCES, {"q": book["lease"].lease_number}))
    assert (balances["original_amount"], balances["outstanding"]) == ("941.25", "641.25")
    receipts = cells_of_totals(client.get(RECEIPTS))
    assert (receipts["amount"], receipts["unapplied"]) == ("300.00", "0.00")
    call_command("check_ledger")


def test_totals_show_only_once_filters_bound_the_rows(login, book, monkeypatch):
    monkeypatch.setattr("ledger.admin.LIST_TOTALS_MAX_ROWS", 5)
    client = login(MANAGER)
    everything = client.get(POSTINGS)
    assert everything.context["cl"].result_count == 6
    assert not hasattr(everything.context["cl"], "totals_row")
    assert '<tr class="totals">' not in everything.content.decode()
    lease_only = cells_of_totals(client.get(POSTINGS, {"category__exact": "LEASE"}))
    assert (lease_only["debit"], lease_only["credit"]) == ("900.00", "108.75")
    balances = cells_of_totals(client.get(BALANCES, {"q": book["lease"].lease_number}))
    assert (balances["original_amount"], balances["outstanding"]) == ("941.25", "641.25")


def test_rows_link_to_the_driver_and_the_lease_and_read_labels(login, book):
    page = login(MANAGER).get(BALANCES).content.decode()

    lease, driver = book["lease"], book["driver"]
    assert f'href="/admin/leases/lease/{lease.pk}/change/">{lease.lease_number}</a>' in page
    assert f'href="/admin/leases/driver/{driver.pk}/change/">{driver.full_name}</a>' in page
    assert '<td class="field-status">Open</td>' in page and ">OPEN<" not in page  # labels, not codes


@pytest.mark.parametrize(("role", "exports"), [(MANAGER, True), (CASHIER, False), (CONTROLLER, False)])
def test_managers_export_the_ledger_lists_and_others_do_not(login, book, role, exports):
    client = login(role)
    for url in (POSTINGS, BALANCES, RECEIPTS, REFUNDS):
        form = client.get(url).context["action_form"]
        offered = [] if form is None else [name for name, _ in form.fields["action"].choices]
        assert ("export_xlsx" in offered) is exports, (url, offered)

    ids = list(Posting.objects.values_list("pk", flat=True))
    sent = client.post(POSTINGS, {"action": "export_xlsx", "_selected_action": ids})
    if not exports:
        assert not sent.get("Content-Type", "").startswith("application/vnd.openxmlformats")
        return
    rows = list(load_workbook(io.BytesIO(sent.getvalue())).active.iter_rows(values_only=True))
    header = rows[0]
    assert rows[-1][0] == "Total" and rows[-1][header.index("Debit")] == 1341.25
    assert rows[-1][header.index("Credit")] == 300
    assert {row[header.index("Category")] for row in rows[1:-1]} == {"Taxes", "Lease", "Repairs"}
    balances = client.post(BALANCES, {"action": "export_csv", "_selected_action": [book["rent"].pk]})
    record = next(csv.DictReader(io.StringIO(balances.getvalue().decode())))
    assert (record["Category"], record["Original"], record["Paid"], record["Outstanding"], record["Status"]) == (
        "Lease",
        "500.00",
        "108.75",
        "391.25",
        "Open",
    )


# --- the cashier's screen, issue 15: type-ahead, the lease chosen, a printable receipt ---

SEARCH = reverse("admin:ledger_receipt_driver_search")


def test_type_ahead_finds_drivers_by_name_or_licence_with_their_leases(login, fleet):
    client = login(CASHIER)
    ana = fleet.driver(first_name="Ana", last_name="Zorrilla")
    lease = fleet.lease(driver=ana)
    fleet.driver(first_name="Bob", last_name="Young")
    by_name = client.get(SEARCH, {"q": "zorr"}).json()["drivers"]
    assert [(d["name"], [x["lease_number"] for x in d["leases"]]) for d in by_name] == [
        ("Ana Zorrilla", [lease.lease_number])
    ]
    by_licence = client.get(SEARCH, {"q": ana.tlc_license_number[:5]}).json()["drivers"]
    assert ana.pk in [d["id"] for d in by_licence]
    assert client.get(SEARCH, {"q": ""}).json() == {"drivers": []}


def test_the_lease_is_chosen_when_the_driver_has_one(login, fleet):
    client = login(CASHIER)
    lease = fleet.lease()
    balance = charge(lease, "LEASE", "80.00", "LEASE-ONE")
    screen = client.get(PAY, {"driver": lease.primary_driver_id})
    assert screen.context["lease"] == lease
    assert "LEASE-ONE" in screen.content.decode()
    second = fleet.lease(driver=lease.primary_driver)
    two = client.get(PAY, {"driver": lease.primary_driver_id})
    assert "form" not in two.context
    assert "Choose which of" in two.context["choose_form"].errors["lease"][0]
    assert set(two.context["choose_form"].fields["lease"].queryset) == {lease, second}
    assert balance.outstanding == D("80.00")


def test_receipt_pdf_after_recording(login, fleet):
    client = login(CASHIER)
    lease = fleet.lease()
    balance = charge(lease, "LEASE", "80.00", "LEASE-PDF")
    url = f"{PAY}?driver={lease.primary_driver_id}&lease={lease.pk}"
    key = client.get(url).context["form"]["idempotency_key"].value()
    done = client.post(
        url, {"amount": "100.00", "payment_method": "CASH", "idempotency_key": key, f"alloc_{balance.pk}": "80.00"}
    )
    receipt = Receipt.objects.get(kind="INTERIM_PAYMENT")
    assert done.status_code == 302
    page = client.get(done["Location"])
    pdf_url = reverse("admin:ledger_receipt_pdf", args=[receipt.pk])
    assert pdf_url in page.content.decode()
    pdf = client.get(pdf_url)
    assert pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "LEASE-PDF" in text and "100.00" in text and "20.00" in text  # 80.00 applied, 20.00 credit
    call_command("check_ledger")
