"""Job runs in the admin: read-only history of every scheduled job, and "Run now for a period".

Running a job from here enqueues its Celery task after the request commits (`delay_on_commit`);
a worker runs it like the Sunday schedule would, recorded as a new job run with the user who
asked. It needs the `operations.run_jobrun` permission (Finance, and superusers).
"""

from __future__ import annotations

from celery import current_app
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from batpay.periods import DateFormField, is_period_start, last_closed_period, not_to_come
from operations.models import JobRun, Shard
from operations.names import WEEKLY_CLOSE, job_label, job_labels, runnable_jobs

RUN_PERMISSION = "operations.run_jobrun"


class RunJobForm(forms.Form):
    job = forms.ChoiceField(choices=())
    period = DateFormField(help_text="The period's Sunday (YYYY-MM-DD).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["job"].choices = [(job, job_label(job)) for job in runnable_jobs()]
        self.fields["period"].initial = last_closed_period()

    def clean_period(self):
        period = self.cleaned_data["period"]
        if not is_period_start(period):
            raise forms.ValidationError(f"{period} is a {period:%A}; a period is named by its Sunday.")
        try:
            return not_to_come(period)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


def enqueue(*, job: str, period, user) -> None:
    """Queue the job's task for `period` once the current transaction commits."""
    current_app.tasks[job].delay_on_commit(period=period.isoformat(), actor_id=user.pk)


class JobFilter(admin.SimpleListFilter):
    """The job filter by the names people read, for every job that has a run."""

    title = "job"
    parameter_name = "job"

    def lookups(self, request, model_admin):
        labels = job_labels()
        ran = JobRun.objects.order_by().values_list("job", flat=True).distinct()
        return sorted(((job, labels.get(job, job)) for job in ran), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(job=self.value()) if self.value() else queryset


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    change_list_template = "admin/operations/jobrun/change_list.html"
    list_display = (
        "job_name",
        "period",
        "status_badge",
        "trigger",
        "started_at",
        "seconds",
        "count",
        "amount",
        "shards",
        "actor",
    )
    list_display_links = ("job_name",)
    list_filter = ("status", JobFilter, "trigger", "period")
    search_fields = ("=job", "=task_id")
    date_hierarchy = "started_at"
    list_select_related = ("actor",)
    readonly_fields = ["job_name", *(field.name for field in JobRun._meta.fields), "seconds", "shards"]
    actions = ["run_again"]

    def get_queryset(self, request: HttpRequest):
        # A sharded step's progress: its latest set of shards, done / all (two subqueries, no query per row).
        latest = (
            Shard.objects.filter(job=OuterRef(OuterRef("job")), period=OuterRef(OuterRef("period")))
            .order_by("-generation")
            .values("generation")[:1]
        )
        in_set = Shard.objects.filter(job=OuterRef("job"), period=OuterRef("period"), generation=Subquery(latest))

        def counted(shards):
            return Subquery(shards.order_by().values("job").annotate(n=Count("pk")).values("n"))

        return (
            super()
            .get_queryset(request)
            .annotate(shards_total=counted(in_set), shards_done=counted(in_set.filter(done_at__isnull=False)))
        )

    @admin.display(description="shards done")
    def shards(self, obj: JobRun) -> str:
        total = getattr(obj, "shards_total", None)
        return f"{getattr(obj, 'shards_done', None) or 0}/{total}" if total else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RUN_PERMISSION)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: JobRun) -> str:
        colour = {"SUCCEEDED": "#2e7d32", "FAILED": "#c62828", "INTERRUPTED": "#ef6c00"}.get(obj.status, "#1565c0")
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.get_status_display())

    @admin.display(description="job", ordering="job")
    def job_name(self, obj: JobRun) -> str:
        return job_label(obj.job)

    @admin.display(description="seconds")
    def seconds(self, obj: JobRun) -> str:
        return f"{obj.duration.total_seconds():.2f}" if obj.duration else "-"

    @admin.action(description="Run again for the same periods", permissions=["run"])
    def run_again(self, request: HttpRequest, queryset) -> None:
        known = set(runnable_jobs())
        # A close step runs only inside its weekly close: running the close again re-runs the step
        # (every step is idempotent).
        pairs = sorted(
            {
                (run.job if run.job in known else WEEKLY_CLOSE, run.period)
                for run in queryset
                if run.job in known or run.job.startswith(f"{WEEKLY_CLOSE}.")
            }
        )
        for job, period in pairs:
            enqueue(job=job, period=period, user=request.user)
        queued = "; ".join(f"{job_label(job)} for the period {period}" for job, period in pairs) or "nothing"
        self.message_user(
            request, f"Queued: {queued}. Their runs appear here as a worker takes them.", messages.SUCCESS
        )

    def get_urls(self):
        run = self.admin_site.admin_view(self.run_view)
        return [path("run/", run, name="operations_jobrun_run"), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "can_run_jobs": self.has_run_permission(request)}
        return super().changelist_view(request, extra_context)

    def run_view(self, request: HttpRequest):
        """Run now for a period: choose a job and a Sunday; the task is queued."""
        if not self.has_run_permission(request):
            raise PermissionDenied
        form = RunJobForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            job, period = form.cleaned_data["job"], form.cleaned_data["period"]
            enqueue(job=job, period=period, user=request.user)
            self.message_user(request, f"{job_label(job)} queued for the period {period}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:operations_jobrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Run a job now for a period",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "operations/admin/run_job.html", context)
