"""Exports too long for a request: a job writes the file, the user downloads it when it is ready.

`export_start` records what to export — the exporting view or admin (a dotted path; its
`export_spec()` gives the table) and the filtered list's query, pickled as Django allows for a
QuerySet's `query` — and queues the task `batpay.export_file` once the transaction commits.
`export_run` (the task) writes the file under MEDIA_ROOT/exports/<job id>/ with the same streaming
writers as an inline export, so memory stays flat for any length. GET /api/exports/<id>/ says
where the job is and, once it is done, gives the download link; both answer only the user who
asked (another user gets 404). Files older than settings.EXPORT_KEEP_DAYS go when a new job starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import shutil
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from batpay.exports import write_export
from batpay.models import ExportFile

logger = logging.getLogger(__name__)


def owner_path(owner) -> str:
    cls = type(owner)
    return f"{cls.__module__}.{cls.__qualname__}"


def owner_of(path: str):
    """The view or admin a job exports for: the registered admin of that class, or a new view."""
    from django.contrib.admin import ModelAdmin, site

    cls = import_string(path)
    if isinstance(cls, type) and issubclass(cls, ModelAdmin):
        for model_admin in site._registry.values():
            if type(model_admin) is cls:
                return model_admin
        raise LookupError(f"{path} is not registered with the admin.")
    return cls()


def export_start(*, user, owner, fmt: str, rows: QuerySet, count: int, filters: dict | None = None) -> ExportFile:
    """Record the export of `rows` (the list as filtered now) and queue its task after commit."""
    from batpay.tasks import export_file

    export_cleanup()
    spec = owner.export_spec()
    job = ExportFile.objects.create(
        created_by=user,
        title=spec.title,
        fmt=fmt,
        filename=f"{spec.basename}-{timezone.localtime().strftime('%Y%m%d-%H%M')}.{fmt}",
        owner=owner_path(owner),
        model=rows.model._meta.label,
        query=pickle.dumps(rows.query),
        prefetch=pickle.dumps(tuple(rows._prefetch_related_lookups)),
        filters=filters or {},
        rows=count,
    )
    job_id = str(job.pk)
    transaction.on_commit(lambda: export_file.delay(job_id))
    return job


def job_rows(job: ExportFile) -> QuerySet:
    """The list the job exports, rebuilt from its recorded query."""
    rows = apps.get_model(job.model)._default_manager.all()
    rows.query = pickle.loads(bytes(job.query))  # noqa: S301  (written by export_start, never by a client)
    lookups = pickle.loads(bytes(job.prefetch))  # noqa: S301
    return rows.prefetch_related(*lookups) if lookups else rows


def export_run(job_id: str) -> ExportFile:
    """Write the job's file (the task's body). Running it again writes the file again."""
    job = ExportFile.objects.get(pk=job_id)
    if job.status == ExportFile.Status.DONE:
        return job
    ExportFile.objects.filter(pk=job.pk).update(status=ExportFile.Status.RUNNING)
    folder = Path(settings.MEDIA_ROOT) / "exports" / str(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / job.filename
    try:
        owner = owner_of(job.owner)
        rows = job_rows(job)
        with open(target, "wb") as out:
            write_export(
                out, fmt=job.fmt, spec=owner.export_spec(), rows=rows, filters=job.filters, expected_rows=job.rows
            )
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        job.status, job.error, job.finished_at = (
            ExportFile.Status.FAILED,
            f"{type(exc).__name__}: {exc}",
            timezone.now(),
        )
        job.save(update_fields=["status", "error", "finished_at"])
        return job
    job.status, job.finished_at = ExportFile.Status.DONE, timezone.now()
    job.path, job.size = str(target.relative_to(settings.MEDIA_ROOT)), target.stat().st_size
    job.save(update_fields=["status", "finished_at", "path", "size"])
    return job


def export_cleanup() -> int:
    """Delete the exports older than settings.EXPORT_KEEP_DAYS, their files with them."""
    old = list(ExportFile.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=settings.EXPORT_KEEP_DAYS)))
    for job in old:
        shutil.rmtree(Path(settings.MEDIA_ROOT) / "exports" / str(job.pk), ignore_errors=True)
    ExportFile.objects.filter(pk__in=[job.pk for job in old]).delete()
    return len(old)


def job_file(job: ExportFile) -> Path | None:
    if job.status != ExportFile.Status.DONE or not job.path:
        return None
    path = Path(settings.MEDIA_ROOT) / job.path
    return path if path.is_file() else None


def job_payload(job: ExportFile, request=None) -> dict:
    """What the poll URL answers (and the 202 that started the job)."""
    url = reverse("api-export", args=[job.pk])
    download = reverse("api-export-download", args=[job.pk]) if job_file(job) else None
    absolute = request.build_absolute_uri if request is not None else (lambda u: u)
    return {
        "id": str(job.pk),
        "title": job.title,
        "format": job.fmt,
        "status": job.status,
        "status_label": job.get_status_display(),
        "rows": job.rows,
        "size": job.size,
        "error": job.error or None,
        "created_at": job.created_at.isoformat(timespec="seconds") if job.created_at else None,
        "url": absolute(url),
        "download_url": absolute(download) if download else None,
    }
