"""Reference rows an app ships (TLC violation types, misc charge types): created by the app's data
migration, and again by a post_migrate receiver after any flush of the database (a test that
truncates every table, `manage.py flush`), so a list staff pick from is never found empty."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def reference_rows(app_label: str, model_name: str, rows: Sequence[dict[str, Any]], *, key: str = "name") -> Callable:
    """A post_migrate receiver that makes each of `rows` exist, found by `key` (a row that exists,
    edited or not, is left alone; rows staff added stay)."""

    def ensure(*, using: str = "default", apps=None, **kwargs) -> None:
        from django.apps import apps as global_apps
        from django.db import connections

        try:
            model = (apps or global_apps).get_model(app_label, model_name)
        except LookupError:
            return  # migrated to a state before the model existed
        database = connections[using]
        with database.cursor() as cursor:
            if model._meta.db_table not in database.introspection.table_names(cursor):
                return
        for row in rows:
            model.objects.using(using).get_or_create(
                **{key: row[key]}, defaults={k: v for k, v in row.items() if k != key}
            )

    return ensure
