"""The ledger's vocabulary, for every app that names a category or a direction: the categories in
payment priority order, and DEBIT/CREDIT. Importing it is not touching the ledger's tables."""

from django.db import models


class Category(models.TextChoices):
    """In payment priority order: earnings pay the first category first."""

    TAXES = "TAXES", "Taxes"
    EZPASS = "EZPASS", "EZ-Pass tolls"
    LEASE = "LEASE", "Lease"
    PVB = "PVB", "PVB violations"
    TLC = "TLC", "TLC tickets"
    REPAIRS = "REPAIRS", "Repairs"
    LOANS = "LOANS", "Loans"
    MISC = "MISC", "Miscellaneous"
    DEPOSIT = "DEPOSIT", "Deposit"
    CANCELLATION_FEE = "CANCELLATION_FEE", "Cancellation fee"


PRIORITY: dict[str, int] = {category: rank for rank, category in enumerate(Category.values)}


class EntryType(models.TextChoices):
    DEBIT = "DEBIT", "Debit (driver owes more)"
    CREDIT = "CREDIT", "Credit (driver owes less)"


# Money leaving the ledger to the driver (the payouts app): a CREDIT on a receipt with no obligation,
# drawing down the receipt's unapplied money; its reversal (an ACH return, a voided check) gives the
# money back. Deliberately not a `Category`: that list is the waterfall's priority and every DTR's
# category table, and a payout is neither a charge nor something earnings pay.
PAYOUT = "PAYOUT"
POSTING_CATEGORIES: list[tuple[str, str]] = [*Category.choices, (PAYOUT, "Payout to the driver")]
