"""Job runs in the admin: "Run now" and "Run again" work in a web process, with the names people read."""

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.core.management import call_command

from operations.jobs import run_posting_job
from operations.models import JobRun
from operations.names import job_label

P = dt.date(2025, 10, 5)
START = dt.date(2025, 9, 28)


def test_a_fresh_process_knows_every_job_task_without_importing_the_task_modules():
    """The web process never imports `operations.tasks` itself; "Run now" looks the task up by name."""
    code = (
        "import sys, django; django.setup();"
        "from celery import current_app; from operations.names import runnable_jobs;"
        "print('imported before lookup:', 'operations.tasks' in sys.modules);"
        "print('missing:', sorted(set(runnable_jobs()) - set(current_app.tasks)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ}, capture_output=True, text=True, cwd=settings.BASE_DIR
    )

    assert done.returncode == 0, done.stderr
    assert "missing: []" in done.stdout, done.stdout + done.stderr


def test_jobs_read_as_people_name_them():
    assert job_label("leases.post_due_installments") == "Post lease installments"
    assert job_label("repairs.post_due_installments") == "Post repair installments"
    assert job_label("loans.post_due_installments") == "Post loan installments"
    assert job_label("ledger.weekly_close") == "Weekly close"
    assert job_label("ledger.weekly_close.ledger.generate_dtrs") == "Weekly close: Generate the DTRs"
    assert job_label("ledger.weekly_close.ledger.close_earnings") == "Weekly close: Taxes and card earnings"
    assert job_label("retired.job") == "retired.job"


def test_run_again_queues_the_jobs_by_their_names_and_says_so(
    client, make_user, fleet, monkeypatch, django_capture_on_commit_callbacks
):
    fleet.lease(weekly_rate=Decimal("500.00"), start_date=START)
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    finance = make_user("Finance")
    finance.is_staff = True
    finance.save()
    first = run_posting_job(source="leases", period=P)
    client.force_login(finance)

    listing = client.get("/admin/operations/jobrun/").content.decode()
    assert "Post lease installments" in listing
    assert "leases.post_due_installments" not in listing.split('id="changelist-filter"')[0].split("<tbody>")[1]
    assert (
        '<option value="leases.post_due_installments">Post lease installments</option>'
        in client.get("/admin/operations/jobrun/run/").content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True) as queued:
        done = client.post(
            "/admin/operations/jobrun/",
            {"action": "run_again", "_selected_action": [first.pk]},
            follow=True,
        )

    assert done.status_code == 200 and len(queued) == 1
    assert "Queued: Post lease installments for the period 2025-10-05." in done.content.decode()
    runs = JobRun.objects.filter(job="leases.post_due_installments").order_by("started_at")
    # The second run finds both weeks already posted: the job is idempotent.
    assert [(run.status, run.count, run.trigger) for run in runs] == [
        ("SUCCEEDED", 2, "CALL"),
        ("SUCCEEDED", 0, "TASK"),
    ]
    call_command("check_ledger")
