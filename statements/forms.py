"""Forms of the statements admin screens: they only clean what is typed."""

from __future__ import annotations

from django import forms

from ledger.services import VOID_REASON_MIN_LENGTH


class TripFileForm(forms.Form):
    file = forms.FileField(
        label="Trips CSV",
        help_text="The card-payment system's trip export: trip_id, tlc_license, medallion, start_time, end_time, "
        "payment_type, fare, tips, tolls, mta_surcharge, improvement_surcharge, congestion_fee, cbdt_fee, "
        "airport_fee, total_amount.",
    )


class DtrVoidForm(forms.Form):
    reason = forms.CharField(
        min_length=VOID_REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=f"Why the report is wrong (at least {VOID_REASON_MIN_LENGTH} characters). A new version is issued "
        "at once from the ledger as of the week's end.",
    )
