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
