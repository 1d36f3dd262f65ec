from rest_framework import serializers

from batpay.money import DecimalInputField, MoneyField
from batpay.periods import DateField
from loans.models import Loan, LoanInstallment
from loans.services import PURPOSE_MAX_LENGTH

MONEY = {"max_digits": 14, "decimal_places": 2, "read_only": True}


class LoanInstallmentSerializer(serializers.ModelSerializer):
    """An installment of SPEC §7: its week, principal, interest and total due (what is posted)."""

    loan_id = serializers.CharField(source="plan.loan_id", read_only=True)
    week_start = serializers.DateField(source="period_start", read_only=True)
    week_end = serializers.DateField(source="period_end", read_only=True)
    total_due = serializers.DecimalField(source="amount", **MONEY)
    posting_reference = serializers.IntegerField(source="posting_id", read_only=True, allow_null=True)

    class Meta:
        model = LoanInstallment
        fields = [
            "installment_id",
            "loan_id",
            "sequence",
            "week_start",
            "week_end",
            "interest_days",
            "principal_amount",
            "interest_amount",
            "total_due",
            "status",
            "posting_reference",
            "posted_at",
        ]
        read_only_fields = fields


class LoanListedInstallmentSerializer(LoanInstallmentSerializer):
    """An installment in the all-installments lists: with whom it is charged to."""

    driver_id = serializers.IntegerField(source="plan.driver_id", read_only=True)
    lease_id = serializers.IntegerField(source="plan.lease_id", read_only=True)
    loan_status = serializers.CharField(source="plan.status", read_only=True)

    class Meta(LoanInstallmentSerializer.Meta):
        fields = [*LoanInstallmentSerializer.Meta.fields, "loan_status", "driver_id", "lease_id"]
        read_only_fields = fields


class LoanListSerializer(serializers.ModelSerializer):
    """A loan in a list: everything but its installments (GET /api/loans/{id}/installments has them)."""

    driver_id = serializers.IntegerField(read_only=True)
    driver_name = serializers.CharField(source="driver.full_name", read_only=True)
    lease_id = serializers.IntegerField(read_only=True)
    lease_number = serializers.CharField(source="lease.lease_number", read_only=True)
    total_due = serializers.DecimalField(**MONEY)
    installment_count = serializers.IntegerField(read_only=True)
    total_paid = serializers.DecimalField(**MONEY)
    outstanding_balance = serializers.DecimalField(**MONEY)

    class Meta:
        model = Loan
        fields = [
            "loan_id",
            "status",
            "status_reason",
            "driver_id",
            "driver_name",
            "lease_id",
            "lease_number",
            "loan_amount",
            "interest_rate",
            "loan_date",
            "start_week",
            "purpose",
            "weekly_installment_amount",
            "total_interest",
            "total_due",
            "installment_count",
            "total_paid",
            "outstanding_balance",
            "confirmed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LoanSerializer(LoanListSerializer):
    """A loan with its schedule: what create, retrieve, update and the lifecycle actions return."""

    installments = LoanInstallmentSerializer(many=True, read_only=True)

    class Meta(LoanListSerializer.Meta):
        fields = [*LoanListSerializer.Meta.fields, "installments"]
        read_only_fields = fields


class LoanCreateSerializer(serializers.Serializer):
    """The create body of SPEC §7. Types only: the rules (lease of the driver, rate bounds, the
    loan date against the first period) are the service's."""

    driver_id = serializers.IntegerField()
    lease_id = serializers.IntegerField()
    loan_amount = MoneyField(help_text="The principal, greater than 0.")
    interest_rate = DecimalInputField(
        max_digits=5,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="Annual simple interest in percent (0 … LOAN_MAX_INTEREST_RATE); default LOAN_DEFAULT_INTEREST_RATE.",
    )
    loan_date = DateField(
        required=False, allow_null=True, help_text="The day the money was lent; default today, not in the future."
    )
    start_week = serializers.CharField(
        max_length=10, help_text="CURRENT or NEXT (read against the loan date) or a Sunday (YYYY-MM-DD)."
    )
    purpose = serializers.CharField(required=False, allow_blank=True, default="", max_length=PURPOSE_MAX_LENGTH)


class LoanUpdateSerializer(LoanCreateSerializer):
    """PATCH: any create field while DRAFT (the schedule and its interest are rebuilt); only the purpose afterwards."""
