"""Forms of the ledger admin screens. They only clean what is typed; the rules are the services'."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django import forms
from django.db.models import Q

from batpay.forms import ServiceErrorsMixin
from batpay.money import MoneyFormField
from batpay.periods import DateFormField
from leases.models import Driver, Lease
from leases.selectors import lease_is_drivers
from ledger.models import ObligationBalance, Receipt
from ledger.services import VOID_REASON_MIN_LENGTH, Allocation


class VoidReasonForm(forms.Form):
    # The length is the service's rule; asking for it here lets the page keep the selection
    # and say what is wrong instead of failing every posting one by one.
    reason = forms.CharField(
        min_length=VOID_REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=f"Why these postings are wrong (at least {VOID_REASON_MIN_LENGTH} characters). "
        "It is recorded on every reversal.",
    )


class DriverChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Driver) -> str:
        return f"{obj.last_name}, {obj.first_name} ({obj.tlc_license_number})"


class LeaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Lease) -> str:
        return f"{obj.lease_number} · {obj.primary_driver.full_name} · {obj.get_status_display()}"


def leases_of_driver(driver_id: int):
    """The leases a driver drives, as primary or additional driver: the cashier's choice narrows to them."""
    return (
        Lease.objects.filter(Q(primary_driver_id=driver_id) | Q(additional_drivers__id=driver_id))
        .select_related("primary_driver")
        .distinct()
        .order_by("lease_number")
    )


class ChooseLeaseForm(forms.Form):
    """Step 1 of the cashier's screen: whose payment, for which lease. The driver is found by name or
    TLC licence (cashier.js asks `interim-payment/drivers/`); the leases offered are the driver's, and
    a driver with one lease has it chosen."""

    driver = DriverChoiceField(
        queryset=Driver.objects.order_by("last_name", "first_name", "id"),
        widget=forms.HiddenInput,
        error_messages={"required": "Find the driver by name or TLC licence first."},
    )
    lease = LeaseChoiceField(
        queryset=Lease.objects.select_related("primary_driver").order_by("lease_number"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        driver_id = str(self.data.get("driver", "")) if self.is_bound else ""
        if _ID.match(driver_id):
            self.fields["lease"].queryset = leases_of_driver(int(driver_id))

    def clean(self):
        cleaned = super().clean()
        driver, lease = cleaned.get("driver"), cleaned.get("lease")
        if driver and lease is None and "lease" not in self.errors:
            leases = list(leases_of_driver(driver.pk)[:2])
            if len(leases) == 1:
                cleaned["lease"] = leases[0]
            else:
                self.add_error("lease", f"Choose which of {driver.full_name}'s leases the payment is for.")
        elif driver and lease and not lease_is_drivers(lease, driver):
            self.add_error("lease", f"{driver.full_name} is not a driver of lease {lease.lease_number}.")
        return cleaned


_ID = re.compile(r"^[1-9][0-9]{0,17}$")


# At most 18 digits: every such id fits a bigint, so a forged name cannot overflow the lookup.
_ALLOCATION_FIELD = re.compile(r"^alloc_([1-9][0-9]{0,17})$")


class InterimPaymentForm(forms.Form):
    """Step 2: the payment, and what of it goes to which open balance (`alloc_<balance id>`)."""

    amount = MoneyFormField(label="Payment amount")
    payment_method = forms.ChoiceField(choices=Receipt.Method.choices)
    received_on = DateFormField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Leave empty for today."
    )
    note = forms.CharField(max_length=255, required=False)
    # Generated when the page is shown: a double-clicked or re-sent form records one payment.
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, balances: list[ObligationBalance], **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", f"admin:{uuid.uuid4().hex}")
        super().__init__(*args, **kwargs)
        self.balances = {balance.pk: balance for balance in balances}
        # A balance that closed after the page was shown is still a field, so an amount typed
        # for it reaches the service and is refused there, not silently dropped.
        posted = {int(m.group(1)) for m in map(_ALLOCATION_FIELD.match, self.data) if m}
        for balance_id in [*self.balances, *sorted(posted - set(self.balances))]:
            self.fields[f"alloc_{balance_id}"] = MoneyFormField(
                required=False,
                label=f"Pay on {self.reference(balance_id)}",
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "class": "vTextField"}),
            )

    def reference(self, balance_id: int) -> str:
        """How the cashier knows a balance: its category and source reference, never its row id."""
        balance = self.balances.get(balance_id)
        if balance is None:
            return "a balance no longer open"
        return f"{balance.get_category_display()} {balance.source_reference}"

    def clean(self):
        """The service's allocation rules, checked here too so each refusal sits on its row and names
        the reference; the service checks them again under its locks."""
        cleaned = super().clean()
        key = cleaned.get("idempotency_key")
        if key and Receipt.objects.filter(idempotency_key=key).exists():
            return cleaned  # a re-sent form: the service answers with the payment it recorded, once
        total = Decimal("0")
        for balance_id, name in self._allocation_fields():
            pay = cleaned.get(name)
            if pay is None:
                continue
            total += pay
            balance = self.balances.get(balance_id)
            if balance is None:
                self.add_error(name, "This balance is no longer open for this driver and lease; clear the amount.")
            elif balance.category == "TAXES":
                self.add_error(name, f"{self.reference(balance_id)} is paid from earnings only.")
            elif pay > balance.outstanding:
                self.add_error(
                    name, f"At most {balance.outstanding} on {self.reference(balance_id)} (what it still owes)."
                )
        amount = cleaned.get("amount")
        if amount is not None and total > amount:
            self.add_error("amount", f"The rows add up to {total}, more than the payment of {amount}.")
        return cleaned

    def add_service_error(self, message: str) -> None:
        """A refusal of the service (a balance that changed after the page was shown): on the row of the
        balance it names, in the cashier's words, else at the top."""
        match = re.search(r"[Bb]alance (\d+)", message)
        name = f"alloc_{match.group(1)}" if match else None
        if name in self.fields:
            balance_id = int(match.group(1))
            self.add_error(name, re.sub(r"[Bb]alance \d+", self.reference(balance_id), message))
        else:
            self.add_error(None, message)

    def _allocation_fields(self) -> list[tuple[int, str]]:
        return [(int(name.removeprefix("alloc_")), name) for name in self.fields if name.startswith("alloc_")]

    def rows(self) -> list[tuple[ObligationBalance | None, int, forms.BoundField]]:
        """(balance, or None when no longer open; balance id; its amount input), in priority order."""
        return [
            (self.balances.get(balance_id), balance_id, self[name]) for balance_id, name in self._allocation_fields()
        ]

    def allocations(self) -> list[Allocation]:
        """What the cashier typed against each balance; empty inputs allocate nothing."""
        return [
            Allocation(balance_id=balance_id, amount=self.cleaned_data[name])
            for balance_id, name in self._allocation_fields()
            if self.cleaned_data.get(name) is not None
        ]


class BalanceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ObligationBalance) -> str:
        return (
            f"{obj.lease.lease_number} · {obj.get_category_display()} {obj.source_reference} · "
            f"due week of {obj.due_period} · owes {obj.outstanding}"
        )


def _reason_field() -> forms.CharField:
    return forms.CharField(
        min_length=VOID_REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text=f"Why (at least {VOID_REASON_MIN_LENGTH} characters); it is recorded with the money's move.",
    )


class ApplyCreditForm(ServiceErrorsMixin, forms.Form):
    """A Controller spends a receipt's credit on another open balance of its driver."""

    service_names = {"balance": "balance_id"}

    balance = BalanceChoiceField(queryset=ObligationBalance.objects.none(), label="Pay balance")
    amount = MoneyFormField(required=False, help_text="Leave empty for all the credit (at most what the balance owes).")
    reason = _reason_field()

    def __init__(self, *args, receipt: Receipt, **kwargs):
        super().__init__(*args, prefix="apply", **kwargs)
        self.fields["balance"].queryset = (
            ObligationBalance.objects.filter(driver_id=receipt.driver_id, status=ObligationBalance.Status.OPEN)
            .exclude(category="TAXES")
            .select_related("lease")
            .order_by("priority", "due_period", "id")
        )


class RefundCreditForm(ServiceErrorsMixin, forms.Form):
    """A Controller hands a receipt's credit back to the driver."""

    amount = MoneyFormField(required=False, help_text="Leave empty to refund all the credit.")
    method = forms.ChoiceField(choices=Receipt.Method.choices)
    reference = forms.CharField(max_length=64, help_text="Check number, ACH trace or cash voucher.")
    refunded_on = forms.DateField(required=False, help_text="Defaults to today; not in the future.")
    reason = _reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="refund", **kwargs)
