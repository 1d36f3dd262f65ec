"""Payouts (docs/rules.md, "Payouts"): drivers' bank details, payout runs and the payouts in them.

Only payouts/services.py writes these tables; the money itself moves in the ledger (PAYOUT postings
written by ledger/services.py), these rows say where it went and how.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from batpay.money import money_field


class AccountType(models.TextChoices):
    CHECKING = "CHECKING", "Checking"
    SAVINGS = "SAVINGS", "Savings"


class BankAccount(models.Model):
    """Where a driver paid by ACH is paid. The account number is stored encrypted (payouts.crypto)
    and shown by its last four digits only."""

    driver = models.OneToOneField("leases.Driver", on_delete=models.PROTECT, related_name="bank_account")
    routing_number = models.CharField(max_length=9)
    account_number_encrypted = models.TextField(editable=False)
    account_last4 = models.CharField("account number (last four)", max_length=4, editable=False)
    account_type = models.CharField(max_length=8, choices=AccountType.choices, default=AccountType.CHECKING)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["driver_id"]
        verbose_name = "bank account"
        constraints = [
            models.CheckConstraint(condition=Q(routing_number__regex=r"^[0-9]{9}$"), name="bank_routing_9_digits"),
            models.CheckConstraint(condition=Q(account_last4__regex=r"^[0-9]{4}$"), name="bank_last4_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.get_account_type_display()} ••••{self.account_last4} (routing {self.routing_number})"


class PayoutRun(models.Model):
    """The payouts of one closed period: Finance prepares, a Controller approves (maker-checker)."""

    class Status(models.TextChoices):
        PREPARED = "PREPARED", "Prepared (awaiting approval)"
        APPROVED = "APPROVED", "Approved"
        PAID = "PAID", "Paid"
        CANCELLED = "CANCELLED", "Cancelled"

    number = models.CharField(max_length=16, unique=True)
    period = models.DateField(help_text="The closed payment period (its Sunday) whose money due is paid.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREPARED)
    minimum = money_field(help_text="Smaller amounts due were carried to the next run.")
    settled = money_field(default=0, help_text="Money due that paid what drivers owed before the run.")
    payout_count = models.PositiveIntegerField(default=0)
    total = money_field(default=0)
    ach_count = models.PositiveIntegerField(default=0)
    ach_total = money_field(default=0)
    check_count = models.PositiveIntegerField(default=0)
    check_total = money_field(default=0)
    carried_count = models.PositiveIntegerField(default=0, help_text="Drivers whose money due was under the minimum.")
    carried_total = money_field(default=0)
    effective_entry_date = models.DateField(null=True, blank=True, help_text="The ACH file's settlement date.")
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-period", "-id"]
        verbose_name = "payout run"
        permissions = [
            ("prepare_payoutrun", "Can prepare payout runs and mark approved runs paid"),
            ("approve_payoutrun", "Can approve or cancel payout runs (the checker)"),
            ("export_payoutrun", "Can download NACHA files and check registers"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["period"], condition=~Q(status="CANCELLED"), name="one_live_payout_run_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.period:%Y-%m-%d})"


class Payout(models.Model):
    """One driver's payout in a run: ACH to their bank account, or a check."""

    class Method(models.TextChoices):
        ACH = "ACH", "ACH"
        CHECK = "CHECK", "Check"

    class Status(models.TextChoices):
        PREPARED = "PREPARED", "Prepared"
        ISSUED = "ISSUED", "Issued"
        RETURNED = "RETURNED", "Returned (ACH)"
        VOIDED = "VOIDED", "Voided (check)"
        CANCELLED = "CANCELLED", "Cancelled with its run"

    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="payouts")
    driver = models.ForeignKey("leases.Driver", on_delete=models.PROTECT, related_name="payouts")
    method = models.CharField(max_length=5, choices=Method.choices)
    amount = money_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREPARED)
    payee = models.CharField(max_length=120)
    # ACH: the bank details as approved (a later change of the driver's account does not redirect it).
    routing_number = models.CharField(max_length=9, blank=True)
    account_number_encrypted = models.TextField(blank=True, editable=False)
    account_last4 = models.CharField(max_length=4, blank=True)
    account_type = models.CharField(max_length=8, choices=AccountType.choices, blank=True)
    trace_number = models.CharField(max_length=15, null=True, blank=True, unique=True)
    check_number = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    dtr_numbers = models.JSONField(default=list, blank=True, help_text="The statements whose money it pays.")
    note = models.CharField(max_length=255, blank=True)
    return_code = models.CharField(max_length=3, blank=True)
    returned_on = models.DateField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    voided_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "id"]
        permissions = [
            ("return_payout", "Can enter ACH returns"),
            ("void_payout", "Can void issued checks"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "driver"], name="one_payout_per_driver_per_run"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        how = f"check #{self.check_number}" if self.check_number else self.get_method_display()
        return f"{self.amount} to {self.payee} ({how})"

    @property
    def ledger_key(self) -> str:
        """The PAYOUT postings of this payout are keyed `<ledger_key>:r<receipt id>`."""
        return f"payout:p{self.pk}"
