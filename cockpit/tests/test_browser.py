"""Issue 15 in a real browser: Playwright drives Debian's Chromium (`/usr/bin/chromium`; Playwright
cannot download its own here) against a live server, logging in as each role and walking what that
role does, asserting what each page shows. Skipped with a reason when Chromium is missing, failed
under REQUIRE_SERVICES=1 (.ci/run installs it). A failing test leaves a screenshot in
.ci/artifacts/; `make screenshots` (SCREENSHOTS=docs/screenshots) keeps the four pages the README
shows.
"""

from __future__ import annotations

import io
import os
import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from pypdf import PdfReader

from batpay.testing import REQUIRE_SERVICES
from cockpit.tests.conftest import W1
from ledger.models import Posting, Receipt
from repairs.models import RepairInvoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts"
PASSWORD = "pw-for-browser-1"


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        message = "Chromium is not installed (apt-get install chromium): the browser tests need it"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message} and REQUIRE_SERVICES=1")
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in the test's thread; the test's own database calls
    # (fixtures, assertions) are still plain synchronous calls made between its steps. Only while these
    # tests run: a process they start (`check --deploy`) must not inherit it.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            yield launched
            launched.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def keep_screenshot(page, name: str) -> None:
    """Under SCREENSHOTS=<dir> (`make screenshots`), keep this page as <dir>/<name>.png."""
    target = os.environ.get("SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


@pytest.fixture
def users(make_user):
    found = {}
    for role in ("Finance", "Cashier", "Manager", "Controller"):
        user = make_user(role, username=role.lower())
        user.is_staff = True
        user.set_password(PASSWORD)
        user.save()
        found[role] = user
    return found


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#panel-outstanding")


def pdf_text(page, url: str) -> str:
    response = page.request.get(url)
    assert response.ok and response.headers["content-type"] == "application/pdf", url
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)


def test_finance_dashboard_sunday_run_and_loan_and_repair_previews(page, live_server, history, users, today):
    log_in(page, live_server, "finance")
    assert page.inner_text("#panel-outstanding .figure a") == "820.00"
    assert "Sunday run" in page.inner_text("#panel-sunday")
    assert "Trip rows kept for review" in page.inner_text("#panel-waiting")
    keep_screenshot(page, "dashboard")

    # The LEASE bar leads to the open LEASE balances: Ana's 400.00 and Ben's 100.00.
    page.click("svg.category-bars a[href*='category__exact=LEASE']")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 2

    # A loan entry with its schedule preview: nothing saved.
    lease = history["lease_a"]
    page.goto(f"{live_server.url}/admin/loans/loan/add/")
    page.evaluate(
        """([driver, lease]) => {
            for (const [name, value] of [["driver", driver], ["lease", lease]]) {
                const select = document.querySelector(`select[name=${name}]`);
                select.add(new Option(String(value), String(value), true, true));
            }
        }""",
        [lease.primary_driver_id, lease.pk],
    )
    page.fill("input[name=loan_amount]", "1200.00")
    page.fill("input[name=interest_rate]", "10")
    page.fill("input[name=loan_date]", "2025-10-15")
    page.select_option("select[name=start_week_0]", "NEXT")
    page.click("input[name=_preview]")
    preview = page.inner_text("#schedule-preview")
    assert "Schedule preview" in preview and ("1,200.00" in preview or "1200.00" in preview)

    # A repair entry with its schedule preview, starting next week: nothing saved.
    repairs_before = RepairInvoice.objects.count()
    page.goto(f"{live_server.url}/admin/repairs/repairinvoice/add/")
    page.evaluate(
        """([driver, lease]) => {
            for (const [name, value] of [["driver", driver], ["lease", lease]]) {
                const select = document.querySelector(`select[name=${name}]`);
                select.add(new Option(String(value), String(value), true, true));
            }
        }""",
        [lease.primary_driver_id, lease.pk],
    )
    page.fill("input[name=invoice_number]", "W-BROWSER-1")
    page.fill("input[name=invoice_date]", "2025-10-15")
    page.select_option("select[name=workshop_type]", "EXTERNAL")
    page.fill("[name=repair_description]", "Brake pads")
    page.fill("input[name=repair_amount]", "900.00")
    page.select_option("select[name=start_week_0]", "NEXT")
    page.click("input[name=_preview]")
    preview = page.inner_text("#schedule-preview")
    assert "Schedule preview" in preview and "900.00" in preview.replace(",", "")
    assert RepairInvoice.objects.count() == repairs_before


def test_finance_runs_a_job_now(page, live_server, history, users):
    log_in(page, live_server, "finance")
    page.goto(f"{live_server.url}/admin/operations/jobrun/run/")
    page.select_option("select[name=job]", "repairs.post_due_installments")
    page.fill("input[name=period]", W1.isoformat())
    page.locator("form:has(select[name=job]) [type=submit]").click()
    assert "queued" in page.inner_text(".messagelist")


def test_cashier_finds_the_driver_and_pays_by_priority(page, live_server, history, users):
    log_in(page, live_server, "cashier")
    assert page.locator("#panel-sunday").count() == 0  # not a cashier's work
    page.click("#action-record-payment")
    page.fill("#driver-search", "Brow")
    page.click("button.driver-choice")  # Ben has one lease: it is chosen and the balances shown
    page.wait_for_selector("#payment-form")
    assert "B-LEASE-W1" in page.inner_text("#interim-balances")
    page.fill("input[name=amount]", "130.00")
    page.click("#allocate-by-priority")
    assert page.inner_text("#sum-allocated") == "100.00"  # all that Ben owes
    assert page.inner_text("#sum-remaining") == "30.00"
    assert "goes to the lease's open LEASE balances, then waits as credit" in page.inner_text("#sum-rest")
    keep_screenshot(page, "cashier")
    page.click("#payment-form input[type=submit]")
    page.wait_for_selector("#receipt-pdf")
    receipt = Receipt.objects.filter(kind="INTERIM_PAYMENT", amount=D("130.00")).get()
    assert receipt.unapplied == D("30.00")
    text = pdf_text(page, live_server.url + page.get_attribute("#receipt-pdf", "href"))
    assert "130.00" in text and "B-LEASE-W1" in text

    # A row error names the reference: more than Ana's REPAIRS owes.
    page.goto(f"{live_server.url}/admin/ledger/receipt/interim-payment/?driver={history['ana'].pk}")
    page.fill("input[name=amount]", "400.00")
    row = page.locator("tr.balance-row", has_text="A-RPR-W1")
    row.locator("input").fill("300.01")
    page.click("#payment-form input[type=submit]")
    assert "At most 300.00 on Repairs A-RPR-W1" in page.inner_text("#interim-balances")
    call_command("check_ledger")


def test_manager_reads_an_account_a_dtr_and_exports(page, live_server, history, users):
    log_in(page, live_server, "manager")
    page.click("#panel-arrears a:has-text('Ana Alvarez')")
    page.wait_for_selector("#account-ageing")
    assert page.inner_text("#account-outstanding") == "720.00"
    ageing = page.inner_text("#account-ageing")
    assert "Lease" in ageing and "400.00" in ageing and "300.00" in ageing
    assert "DTR-" in page.inner_text("#account-dtrs")
    keep_screenshot(page, "driver-account")
    statement_url = page.evaluate(
        "() => { const f = document.getElementById('statement-form'); "
        "return f.action + '?' + new URLSearchParams(new FormData(f)).toString(); }"
    )
    assert "Account statement" in pdf_text(page, statement_url)

    page.click("#account-dtrs a[href*='/change/']")
    page.wait_for_load_state()
    assert "Ana Alvarez" in page.content()
    keep_screenshot(page, "dtr")
    pdf_link = page.locator("a[href*='/pdf/']").first.get_attribute("href")
    assert "Ana Alvarez" in pdf_text(page, live_server.url + pdf_link)

    # An export, as the Manager may: the drivers list, selected rows.
    page.goto(f"{live_server.url}/admin/leases/driver/")
    page.check("#action-toggle")
    actions = [o for o in page.locator("select[name=action] option").all_inner_texts() if "xport" in o]
    if actions:
        page.select_option("select[name=action]", label=actions[0])
        page.click("button[name=index]")
        page.wait_for_selector("select[name=format]")  # django-import-export asks for the file type
        page.select_option("select[name=format]", label="csv")
        with page.expect_download() as download:
            page.locator("form:has(select[name=format]) [type=submit]").click()
        assert download.value.suggested_filename.endswith(".csv")
        assert "Ana" in Path(download.value.path()).read_text()
    else:
        pytest.fail("Managers have no export on the drivers list")


def test_controller_voids_a_posting_with_a_reason(page, live_server, history, users):
    log_in(page, live_server, "controller")
    posting = Posting.objects.get(obligation__source_reference="A-EZP-NOW", entry_type="DEBIT")
    page.goto(f"{live_server.url}/admin/ledger/posting/?q=A-EZP-NOW")
    page.check(f"input[name=_selected_action][value='{posting.pk}']")
    page.select_option("select[name=action]", "void_selected")
    page.click("button[name=index]")
    page.fill("textarea[name=reason]", "Toll charged to the wrong lease")
    page.locator("form:has(textarea[name=reason]) [type=submit]").click()
    assert "Voided 1 posting(s)" in page.inner_text(".messagelist")
    posting.refresh_from_db()
    assert posting.status == "VOIDED"
    assert get_user_model().objects.get(username="controller").pk == Posting.objects.get(reverses=posting).created_by_id
    call_command("check_ledger")
