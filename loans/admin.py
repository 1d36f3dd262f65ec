"""Driver loans in the admin, for finance staff: the same services as the API, so the same rules.

The add form has a *Preview schedule* button: it checks the entry by the service's rules and
shows every installment's week, principal, interest and total due without saving anything.
Saving makes a DRAFT, shown again with its schedule, to be checked before pressing Confirm.
Confirm, hold, resume and cancel (with a reason) are buttons on a loan and actions on the list;
installments are posted from the installments list. A refused rule becomes an error message,
never a server error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from batpay.errors import DomainError
from batpay.forms import ServiceErrorsMixin, service_values
from batpay.money import DecimalFormField, MoneyFormField
from loans import selectors, services
from loans.exports import INSTALLMENT_COLUMNS, LOAN_COLUMNS
from loans.models import Loan, LoanInstallment
from loans.plan import LOANS
from plans.admin import (
    PREVIEW,
    InstallmentAdminMixin,
    PlanAdminMixin,
    PlanEntryFormMixin,
    entry_fields,
    start_week_field,
)
from plans.lifecycle import PlanStatus

# Form field → service argument.
SERVICE_NAMES = {"driver": "driver_id", "lease": "lease_id"}
ENTRY_FIELDS = entry_fields(LOANS, SERVICE_NAMES)


def preview_rows(checked: services.LoanInput) -> dict[str, Any]:
    """The schedule an entry would make, with the principal each week's interest is charged on."""
    rows, outstanding = [], checked.loan_amount
    for item in checked.schedule:
        rows.append({"item": item, "outstanding": outstanding, **item.extra})
        outstanding -= item.extra["principal_amount"]
    total_interest = checked.total_interest
    return {
        "rows": rows,
        "rate": checked.interest_rate,
        "principal": checked.loan_amount,
        "total_interest": total_interest,
        "total_due": checked.loan_amount + total_interest,
    }


class LoanForm(PlanEntryFormMixin, ServiceErrorsMixin, forms.ModelForm):
    service_names = SERVICE_NAMES

    start_week = start_week_field(
        initial="CURRENT",
        help_text="The first installment's week.",
        current_label="The loan date's week",
        next_label="The week after the loan date's",
    )

    class Meta:
        model = Loan
        fields = ENTRY_FIELDS
        field_classes = {"loan_amount": MoneyFormField, "interest_rate": DecimalFormField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checked: services.LoanInput | None = None
        if "interest_rate" in self.fields:
            self.fields["interest_rate"].required = False
            self.fields["interest_rate"].help_text = (
                f"Annual simple interest in percent, 0 to {settings.LOAN_MAX_INTEREST_RATE}; "
                f"empty means {settings.LOAN_DEFAULT_INTEREST_RATE}."
            )
        if "loan_date" in self.fields:
            self.fields["loan_date"].required = False
            self.fields["loan_date"].help_text = "The day the money was lent (not in the future); empty means today."
        if not self.instance.pk:
            self.initial.setdefault("interest_rate", settings.LOAN_DEFAULT_INTEREST_RATE)
            self.initial.setdefault("loan_date", timezone.localdate())
        elif "start_week" in self.fields:
            self.initial["start_week"] = self.instance.start_week.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or (self.instance.pk and self.instance.status != PlanStatus.DRAFT):
            return cleaned
        try:
            checked = services.loan_input_clean(**service_values(cleaned, ENTRY_FIELDS, SERVICE_NAMES))
        except DomainError as exc:
            self.add_domain_error(exc)
            return cleaned
        self.checked = checked
        # What the model validation that follows must see: the defaults filled in, the week a Sunday.
        cleaned.update(start_week=checked.start_week, interest_rate=checked.interest_rate, loan_date=checked.loan_date)
        return cleaned

    def is_valid(self) -> bool:
        # A preview checks the entry and shows its schedule but must never save it: the admin saves
        # only a valid form, so a valid preview reports itself as not ready to save (with no errors).
        return super().is_valid() and PREVIEW not in self.data


class LoanInstallmentInline(admin.TabularInline):
    model = LoanInstallment
    extra = 0
    max_num = 0
    can_delete = False
    fields = (
        "installment_id",
        "period_start",
        "period_end",
        "interest_days",
        "principal_amount",
        "interest_amount",
        "amount",
        "status",
        "posting",
        "posted_at",
    )
    readonly_fields = fields
    ordering = ("sequence",)
    verbose_name_plural = "Schedule (amount = total due: principal + interest)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Loan)
class LoanAdmin(PlanAdminMixin, admin.ModelAdmin):
    form = LoanForm
    change_form_template = "loans/admin/change_form.html"
    list_display = (
        "loan_id",
        "driver_link",
        "lease_link",
        "loan_amount",
        "interest_rate",
        "total_interest",
        "weekly_installment_amount",
        "paid",
        "outstanding",
        "status_label",
        "loan_date",
        "start_week",
    )
    list_totals = ("loan_amount", "total_interest")
    list_select_related = ("driver", "lease")
    list_filter = ("status", "loan_date", "start_week")
    search_fields = (
        "=loan_id",
        "driver__first_name",
        "driver__last_name",
        "=driver__tlc_license_number",
        "=lease__lease_number",
    )
    autocomplete_fields = ("driver", "lease")
    date_hierarchy = "loan_date"
    export_columns = LOAN_COLUMNS
    export_title = "Driver loans"
    export_basename = "loans"
    export_permission = "loans.export_loan"
    readonly_always = (
        "loan_id",
        "status",
        "status_reason",
        "weekly_installment_amount",
        "total_interest",
        "created_by",
        "confirmed_at",
        "created_at",
    )
    plan_source = LOANS
    entry_fields = ENTRY_FIELDS
    form_renames = SERVICE_NAMES
    summary_name = "loan"
    plan_noun = "a loan"
    confirm_permission = "loans.confirm_loan"
    plan_list = staticmethod(selectors.loan_list)
    create_plan = staticmethod(services.loan_create)
    update_plan = staticmethod(services.loan_update)
    confirm_plan = staticmethod(services.loan_confirm)
    change_plan_status = staticmethod(services.loan_change_status)

    def describe_plan(self, plan: Loan) -> str:
        return (
            f"{plan.loan_id} — {plan.loan_amount} at {plan.interest_rate} % to {plan.driver.full_name} "
            f"({plan.get_status_display()})"
        )

    def get_inlines(self, request, obj=None):
        return [LoanInstallmentInline] if obj is not None else []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        editable = obj is None or obj.status == PlanStatus.DRAFT
        context["can_preview"] = editable and (add or self.has_change_permission(request, obj))
        if request.method == "POST" and PREVIEW in request.POST and form.checked is not None:
            context["preview"] = preview_rows(form.checked)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


@admin.register(LoanInstallment)
class LoanInstallmentAdmin(InstallmentAdminMixin, admin.ModelAdmin):
    list_display = (
        "installment_id",
        "loan_link",
        "driver_name",
        "period_start",
        "period_end",
        "principal_amount",
        "interest_amount",
        "amount",
        "status_label",
        "plan_status",
        "posting_link",
        "posted_at",
    )
    list_select_related = ("plan", "plan__driver")
    list_filter = ("status", "plan__status", "period_start")
    list_totals = ("principal_amount", "interest_amount", "amount")
    search_fields = (
        "=installment_id",
        "=plan__loan_id",
        "plan__driver__first_name",
        "plan__driver__last_name",
        "=plan__driver__tlc_license_number",
    )
    export_columns = INSTALLMENT_COLUMNS
    export_title = "Loan installments"
    export_basename = "loan-installments"
    export_permission = "loans.export_loan"
    post_permission = "loans.post_loan"
    post_installments = staticmethod(services.loan_installments_post)

    def export_rows(self, queryset):
        return selectors.installment_list().filter(pk__in=queryset.values("pk"))

    @admin.display(description="Loan", ordering="plan__loan_id")
    def loan_link(self, obj: LoanInstallment):
        url = reverse("admin:loans_loan_change", args=[obj.plan_id])
        return format_html('<a href="{}">{}</a>', url, obj.plan.loan_id)
