"""Reads of payouts: runs and payouts with what their lists and pages show."""

from django.db.models import QuerySet

from payouts.models import BankAccount, Payout, PayoutRun


def runs() -> QuerySet[PayoutRun]:
    return PayoutRun.objects.select_related("prepared_by", "approved_by", "paid_by", "cancelled_by")


def payouts() -> QuerySet[Payout]:
    return Payout.objects.select_related("run", "driver")


def bank_accounts() -> QuerySet[BankAccount]:
    return BankAccount.objects.select_related("driver", "updated_by")
