"""The admin kit's list pieces: exports of the selected rows, and a totals row under money lists.

`ExportAdminMixin` gives a changelist the actions "Export selected to Excel / CSV / PDF" with the
table its API export uses (`batpay.exports`), for those holding the list's export permission
(`<app>.export_<model>`: Managers hold every one). `ListTotalsMixin` sums the money columns named
in `list_totals` over every row the filters and the search select — not only the page shown — and
shows the sums as the list's last row, under their columns (templates/admin/change_list_results.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from batpay.errors import DomainError
from batpay.exports import PDF_MAX_ROWS, Column, ExportSpec, export_file_response, inline_limit, too_many_for_pdf
from batpay.money import ZERO, to_money


class ExportAdminMixin:
    """Admin actions writing the selected rows with the list's export columns.

    The file streams as it is written (batpay.exports); a selection longer than
    `inline_limit` (settings.EXPORT_INLINE_MAX_ROWS) is written by a job instead, and listed under Exports when ready.
    """

    export_columns: Sequence[Column]
    export_title: str
    export_basename: str
    export_permission: str | None = None  # default: "<app>.export_<model>"
    export_actions = ("export_xlsx", "export_csv", "export_pdf")

    def export_rows(self, queryset: QuerySet) -> QuerySet | list:
        """The rows to write, with what their columns read joined in: a queryset, read a chunk at a time."""
        return queryset

    def export_prepare(self, rows: list) -> None:
        """Give a chunk of rows what their columns need and no query brings (nothing by default)."""

    def export_spec(self) -> ExportSpec:
        prepare = None if type(self).export_prepare is ExportAdminMixin.export_prepare else self.export_prepare
        return ExportSpec(self.export_columns, self.export_title, self.export_basename, prepare)

    def _export(self, request: HttpRequest, queryset: QuerySet, fmt: str) -> HttpResponseBase | None:
        rows = self.export_rows(queryset)
        try:
            count = rows.count() if isinstance(rows, QuerySet) else len(rows)
            if fmt == "pdf" and count > PDF_MAX_ROWS:
                raise too_many_for_pdf(count)
            if fmt != "pdf" and isinstance(rows, QuerySet) and count > inline_limit(fmt):
                from batpay.export_jobs import export_start

                export_start(user=request.user, owner=self, fmt=fmt, rows=rows, count=count)
                self.message_user(
                    request,
                    f"Your export of {count:,} rows is being prepared; it will be listed under Exports.",
                    messages.SUCCESS,
                )
                return None
            return export_file_response(fmt=fmt, spec=self.export_spec(), rows=rows, expected_rows=count)
        except DomainError as exc:
            self.message_user(request, f"Nothing exported: {exc.message}", messages.ERROR)
            return None

    @admin.action(description="Export selected to Excel (xlsx)", permissions=["export"])
    def export_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    @admin.action(description="Export selected to CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description="Export selected to PDF", permissions=["export"])
    def export_pdf(self, request, queryset):
        return self._export(request, queryset, "pdf")

    def has_export_permission(self, request: HttpRequest) -> bool:
        permission = self.export_permission or f"{self.opts.app_label}.{get_permission_codename('export', self.opts)}"
        return request.user.has_perm(permission)

    def get_actions(self, request):
        # Every exporting list offers the three, whatever else its `actions` lists.
        actions = super().get_actions(request)
        for name in self.export_actions:
            if name not in actions:
                action = self.get_action(name)
                if action is not None and self._filter_actions_by_permissions(request, [action]):
                    actions[name] = action
        return actions


class ListTotalsMixin:
    """A totals row under the list: the sums of `list_totals` over every filtered row."""

    list_totals: tuple[str, ...] = ()  # list_display names that are money fields of the queryset's rows

    def list_totals_of(self, queryset: QuerySet) -> dict[str, Decimal]:
        """Column name → its sum over `queryset` (the filtered rows); one query."""
        if not self.list_totals:
            return {}
        sums = queryset.order_by().aggregate(**{name: Sum(name) for name in self.list_totals})
        return {name: to_money(value or ZERO) for name, value in sums.items()}

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            sums = self.list_totals_of(changelist.queryset)
            if sums:
                changelist.totals_row = totals_row(changelist, sums)
        return response


def totals_row(changelist, sums: dict[str, Decimal]) -> list[str]:
    """The cells of the totals row, one per column of the list (the checkbox column included)."""
    cells = []
    for name in changelist.list_display:
        if name in sums:
            cells.append(f"{sums[name]:,.2f}")
        else:
            cells.append("")
    label = f"Total of {changelist.result_count} row{'s' if changelist.result_count != 1 else ''}"
    first_free = next(
        (index for index, name in enumerate(changelist.list_display) if name not in sums and name != "action_checkbox"),
        None,
    )
    if first_free is not None:
        cells[first_free] = label
    return cells
