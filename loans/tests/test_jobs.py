"""The weekly posting job for loans: Celery task, management command, metrics."""

import datetime as dt
import io

from django.core.management import call_command

from loans import services
from loans.models import LoanInstallment
from operations import tasks

from .conftest import P1

P3 = P1 + dt.timedelta(days=14)


def test_command_posts_due_loan_installments_once(make_loan, finance):
    make_loan("1200.00")  # due by P3: 251.32 + 251.82 + 251.34
    held = make_loan("500.00")
    services.loan_change_status(loan_id=held.loan_id, status="HOLD", reason="disputed", actor=finance)

    out = io.StringIO()
    call_command("post_due_installments", "--source", "loans", "--period", P3.isoformat(), "--dry-run", stdout=out)
    assert "loans: 3 installment(s) due (dry run, nothing posted), amount 754.48" in out.getvalue()
    assert not LoanInstallment.objects.filter(status="POSTED").exists()

    out, err = io.StringIO(), io.StringIO()
    call_command("post_due_installments", "--source", "loans", "--period", P3.isoformat(), stdout=out, stderr=err)
    assert "loans: 3 installment(s) posted, amount 754.48" in out.getvalue()
    assert "1/1" in err.getvalue()  # the progress bar, in shards of leases (one for this small fleet)
    out = io.StringIO()
    call_command("post_due_installments", "--source", "all", "--period", P3.isoformat(), stdout=out)
    assert "loans: 0 installment(s) posted, amount 0.00" in out.getvalue()
    assert not held.installments.exclude(status="SCHEDULED").exists()
    call_command("check_ledger", stdout=io.StringIO())


def test_celery_task_is_thin_and_idempotent(make_loan):
    make_loan("300.00", rate="0")
    result = tasks.post_loan_installments.apply(kwargs={"period": P3.isoformat()}).get()
    assert result == {"source": "loans", "period": P3.isoformat(), "installments": 3, "amount": "300.00"}
    assert tasks.post_loan_installments.apply(kwargs={"period": P3.isoformat()}).get()["installments"] == 0


def test_metrics_report_loans(make_loan, client):
    make_loan("300.00")
    make_loan("200.00", confirm=False)
    services.loan_installments_post_due(period=P1)
    text = client.get("/metrics").content.decode()
    assert 'batpay_plans{source="loans",status="OPEN"} 1.0' in text
    assert 'batpay_plans{source="loans",status="DRAFT"} 1.0' in text
    assert 'batpay_installments_posted{source="loans"} 1.0' in text
    assert 'batpay_unposted_backlog{source="loans"} 2.0' in text
