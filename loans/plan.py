"""Loans on the shared installment-plan mechanism: the few lines that plug them in.

A loan is the driver's and the lease's; it is not a charge on a car, so its obligations carry
no vehicle or medallion (the lease links them to the DTR).
"""

from loans.models import Loan, LoanInstallment
from plans.source import PlanSource

LOANS = PlanSource(
    name="loans",
    category="LOANS",
    plan_model=Loan,
    installment_model=LoanInstallment,
    id_prefix="DL",
    id_width=4,
    label="Loan",
    noun="loan",
    document="loan",
    fields=("driver_id", "lease_id", "loan_amount", "interest_rate", "loan_date", "start_week", "purpose"),
    editable_after_confirmation={"purpose": "purpose"},
)
