"""The lease page's weekly schedule and the "Terminate selected leases early…" action.

They belong to the lease schedules, so this app extends the fleet's lease admin with them and
registers the extended admin in its place: the leases app knows nothing of schedules.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from batpay.errors import DomainError
from batpay.money import MoneyFormField
from batpay.periods import DateFormField
from lease_schedules.selectors import lease_schedule
from lease_schedules.services import lease_terminate
from leases.admin import LeaseAdmin
from leases.models import Lease


class TerminateForm(forms.Form):
    termination_date = DateFormField(help_text="The lease's last day (YYYY-MM-DD).")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), max_length=500)
    cancellation_fee = MoneyFormField(
        min_value=0,
        required=False,
        help_text="Charged to the driver as a CANCELLATION_FEE in the termination week; leave empty for none.",
    )


class ScheduledLeaseAdmin(LeaseAdmin):
    readonly_fields = (*LeaseAdmin.readonly_fields, "weekly_schedule")
    actions = ["terminate_leases"]

    @admin.display(description="Schedule")
    def weekly_schedule(self, obj: Lease) -> str:
        if obj.pk is None:
            return "Written when the lease is saved: one installment per week, partial weeks prorated."
        schedule, installments = lease_schedule(obj)
        if schedule is None:
            return "None: the lease was entered already closed."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    item.installment_id,
                    item.period_start,
                    item.period_end,
                    item.days,
                    item.weekly_rate,
                    item.amount,
                    item.get_status_display(),
                    item.posting_id or "",
                )
                for item in installments
            ),
        )
        return format_html(
            "<p>{} · {} · written through the week of {}</p>"
            "<table><thead><tr><th>Installment</th><th>Week from</th><th>to</th><th>Days</th><th>Weekly rate</th>"
            "<th>Amount</th><th>Status</th><th>Posting</th></tr></thead><tbody>{}</tbody></table>",
            schedule.schedule_id,
            schedule.get_status_display(),
            schedule.scheduled_through or "-",
            rows,
        )

    @admin.action(description="Terminate selected leases early…", permissions=["change"])
    def terminate_leases(self, request: HttpRequest, queryset: QuerySet[Lease]):
        form = TerminateForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for lease in queryset.order_by("lease_number"):
                try:
                    lease_terminate(actor=request.user, lease=lease, **form.cleaned_data)
                except DomainError as exc:
                    self.message_user(request, f"{lease.lease_number}: {exc.message}", messages.ERROR)
                else:
                    done += 1
            if done:
                self.message_user(request, f"{done} lease(s) terminated.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Terminate leases early",
            "opts": self.opts,
            "leases": queryset.order_by("lease_number"),
            "form": form,
            "action": "terminate_leases",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "lease_schedules/admin/terminate.html", context)


admin.site.unregister(Lease)
admin.site.register(Lease, ScheduledLeaseAdmin)
