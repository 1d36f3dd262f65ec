"""Exports: the files of long exports (batpay.export_jobs), each user seeing only their own."""

from django.contrib import admin
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from batpay.export_jobs import job_file
from batpay.exports import FORMATS
from batpay.models import ExportFile


@admin.register(ExportFile)
class ExportFileAdmin(admin.ModelAdmin):
    """The signed-in user's long exports, newest first, with a link to each file once it is ready."""

    list_display = ["title", "fmt", "status_label", "rows_shown", "created_at", "download"]
    list_filter = ["status"]
    fields = ["title", "fmt", "status_label", "rows_shown", "filters", "created_at", "finished_at", "error", "download"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(created_by=request.user).defer("query", "prefetch")

    # Anyone on the staff sees the list of their own exports; nobody adds or edits one by hand.
    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request) and (obj is None or obj.created_by_id == request.user.pk)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # files go by themselves after settings.EXPORT_KEEP_DAYS

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: ExportFile) -> str:
        return obj.get_status_display()

    @admin.display(description="rows", ordering="rows")
    def rows_shown(self, obj: ExportFile) -> str:
        return f"{obj.rows:,}" if obj.rows is not None else ""

    @admin.display(description="file")
    def download(self, obj: ExportFile) -> str:
        if job_file(obj) is None:
            return obj.error or "—"
        url = reverse("admin:batpay_exportfile_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a> ({} kB)', url, obj.filename, f"{(obj.size or 0) // 1024:,}")

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<uuid:pk>/download/", download, name="batpay_exportfile_download"), *super().get_urls()]

    def download_view(self, request, pk):
        obj = self.get_queryset(request).filter(pk=pk).first()
        found = job_file(obj) if obj is not None else None
        if found is None:
            raise Http404("No such export, or not ready.")
        return FileResponse(open(found, "rb"), as_attachment=True, filename=obj.filename, content_type=FORMATS[obj.fmt])
