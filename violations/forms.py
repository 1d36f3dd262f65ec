"""The admin's forms: they clean what is typed and hand it to `violations.services` (the same rules as the API)."""

from django import forms

from batpay.money import MoneyFormField
from batpay.periods import DateFormField
from leases.models import Driver, Lease
from violations.models import Disposition, TlcViolationType


class ViolationFileForm(forms.Form):
    file = forms.FileField(
        label="Violations CSV",
        help_text="The Department of Finance's Open Parking and Camera Violations columns, in any order: Plate, "
        "State, License Type, Summons Number, Issue Date, Violation Time, Violation, Judgment Entry Date, Fine "
        "Amount, Penalty Amount, Interest Amount, Reduction Amount, Payment Amount, Amount Due, Precinct, County, "
        "Issuing Agency, Violation Status.",
    )


class ViolationEntryForm(forms.Form):
    summons_number = forms.CharField(max_length=20)
    plate = forms.CharField(max_length=16)
    state = forms.CharField(max_length=4, required=False, initial="NY")
    license_type = forms.CharField(max_length=8, required=False, initial="OMT")
    issue_date = DateFormField()
    violation_time = forms.CharField(max_length=6, help_text="As on the summons, e.g. 10:05A or 03:40P.")
    violation = forms.CharField(max_length=120)
    judgment_entry_date = DateFormField(required=False)
    fine_amount = MoneyFormField()
    penalty_amount = MoneyFormField(required=False)
    interest_amount = MoneyFormField(required=False)
    reduction_amount = MoneyFormField(required=False)
    payment_amount = MoneyFormField(required=False)
    amount_due = MoneyFormField(required=False)
    precinct = forms.CharField(max_length=8, required=False)
    county = forms.CharField(max_length=8, required=False)
    issuing_agency = forms.CharField(max_length=64, required=False)
    violation_status = forms.CharField(max_length=64, required=False)


class ReassignForm(forms.Form):
    driver = forms.ModelChoiceField(queryset=Driver.objects.all())
    lease = forms.ModelChoiceField(queryset=Lease.objects.all())
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, min_length=10)


class TlcSummonsEntryForm(forms.Form):
    summons_number = forms.CharField(max_length=20)
    driver = forms.ModelChoiceField(queryset=Driver.objects.all())
    lease = forms.ModelChoiceField(queryset=Lease.objects.all())
    violation_type = forms.ModelChoiceField(queryset=TlcViolationType.objects.filter(active=True))
    violation_date = DateFormField()
    amount = MoneyFormField()
    disposition = forms.ChoiceField(choices=Disposition.choices, initial=Disposition.PENDING)
    reduced_amount = MoneyFormField(required=False)
    document = forms.FileField(required=False, help_text="The scanned summons: PDF, JPEG or PNG.")


class DispositionForm(forms.Form):
    disposition = forms.ChoiceField(choices=Disposition.choices)
    reduced_amount = MoneyFormField(required=False, help_text="Only when Reduced.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, min_length=10)


class ReverseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, min_length=10)
