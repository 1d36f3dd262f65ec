"""The API kit every app's views and URLs share, so every list behaves the same (SPEC §1 "Lists").

- `KnownQueryParameters` (a filter backend): a query parameter the endpoint does not read is a
  400 naming it, instead of a page that silently ignores it (`?lease=55` for `?lease_id=55`).
- `AllowListOrdering` (a filter backend): `ordering=` from the view's `ordering_fields` only,
  else a 400 naming `ordering`; the primary key breaks ties so pages never overlap or skip rows.
- `ApiRouter` and `either_slash`: the trailing-slash rule — every API path answers with or
  without its trailing slash, the same way, never with a redirect (docs/rules.md, "API conventions").
- `DateFilter`, `DateFromToRangeFilter`, `DecimalRangeFilter`: the filters of dates and amounts,
  reading them as the API's bodies do (`batpay.periods.DateFormField`, `batpay.money.DecimalFormField`).

Both filter backends are the REST_FRAMEWORK defaults (with django-filter's backend between them);
the pagination is `batpay.pagination.PageNumberPagination`.
"""

from __future__ import annotations

from collections.abc import Iterable

import django_filters
from django import forms
from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django_filters import fields as filter_fields
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.widgets import SuffixedMultiWidget
from rest_framework import filters, routers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from batpay.money import MONEY_PLACES, DecimalFormField
from batpay.periods import DateFormField

# --- query parameters ---------------------------------------------------------------------------


def _filterset_parameters(view, queryset) -> set[str]:
    """The query parameters the view's FilterSet reads: a range filter reads `<name>_min`/`_max`
    or `<name>_after`/`_before`, not `<name>`."""
    filterset_class = DjangoFilterBackend().get_filterset_class(view, queryset)
    if filterset_class is None:
        return set()
    names = set()
    for name, filter_ in filterset_class.base_filters.items():
        widget = filter_.field.widget
        if isinstance(widget, SuffixedMultiWidget):
            names.update(widget.suffixed(name, suffix) for suffix in widget.suffixes)
        elif isinstance(widget, forms.MultiWidget):
            names.update(f"{name}_{index}" for index in range(len(widget.widgets)))
        else:
            names.add(name)
    return names


def known_parameters(view, queryset) -> set[str]:
    """Every query parameter the endpoint reads: its filters, the pagination's, `ordering`, and DRF's
    `format` (a renderer override on every view, and the file type of the exports)."""
    names = set()
    if api_settings.URL_FORMAT_OVERRIDE:
        names.add(api_settings.URL_FORMAT_OVERRIDE)
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        names.update(parameter["name"] for parameter in paginator.get_schema_operation_parameters(view))
    for backend in view.filter_backends:
        if issubclass(backend, DjangoFilterBackend):
            names |= _filterset_parameters(view, queryset)
        elif issubclass(backend, filters.OrderingFilter | filters.SearchFilter):
            names.update(parameter["name"] for parameter in backend().get_schema_operation_parameters(view))
    return names


def refuse_unknown_parameters(request, known: Iterable[str]) -> None:
    """A 400 naming every query parameter not in `known`."""
    known = set(known)
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        reads = ", ".join(sorted(known))
        raise ValidationError({name: [f"Unknown query parameter. This endpoint reads: {reads}."] for name in unknown})


class KnownQueryParameters(filters.BaseFilterBackend):
    """First of the filter backends: an unknown query parameter is a 400 that names it."""

    def filter_queryset(self, request, queryset, view):
        refuse_unknown_parameters(request, known_parameters(view, queryset))
        return queryset


# --- filters of dates and amounts --------------------------------------------------------------


class DateFilter(django_filters.DateFilter):
    """A date (YYYY-MM-DD) from EARLIEST_DATE to LATEST_DATE, else a 400 naming the parameter."""

    field_class = DateFormField


class DateRangeField(filter_fields.DateRangeField):
    def __init__(self, *args, **kwargs):
        filter_fields.RangeField.__init__(self, (DateFormField(), DateFormField()), *args, **kwargs)


class DateFromToRangeFilter(django_filters.DateFromToRangeFilter):
    """`<name>_after` / `<name>_before`, both inclusive, each a date as `DateFilter` reads it."""

    field_class = DateRangeField


class DecimalRangeField(filter_fields.RangeField):
    def __init__(self, *args, max_digits: int = 12, decimal_places: int = MONEY_PLACES, **kwargs):
        bounds = [DecimalFormField(max_digits=max_digits, decimal_places=decimal_places) for _ in range(2)]
        super().__init__(tuple(bounds), *args, **kwargs)


class DecimalRangeFilter(django_filters.RangeFilter):
    """`<name>_min` / `<name>_max`, both inclusive: plain decimals as money is typed (no "3e2"), at most
    the column's digits (default: money, numeric(12,2))."""

    field_class = DecimalRangeField


# --- ordering -----------------------------------------------------------------------------------


class AllowListOrdering(filters.OrderingFilter):
    """`ordering=a,-b` restricted to the view's `ordering_fields` (no allow-list, no ordering).

    A term outside the list is a 400 naming `ordering` (DRF would drop it silently and the client
    would page through an order it did not ask for). Unless the client orders by the key itself,
    the primary key is the last term, in the direction of the one before it, so rows that tie
    keep one order from page to page.
    """

    def get_valid_fields(self, queryset, view, context=None):
        allowed = getattr(view, "ordering_fields", None) or []
        return [(item, item) if isinstance(item, str) else item for item in allowed]

    def get_ordering(self, request, queryset, view):
        requested = request.query_params.get(self.ordering_param, "")
        terms = [term.strip() for term in requested.split(",") if term.strip()]
        if not terms:
            return self.get_default_ordering(view)
        allowed = [name for name, _ in self.get_valid_fields(queryset, view)]
        if unknown := [term for term in terms if term.removeprefix("-") not in allowed]:
            choices = ", ".join(allowed) or "nothing: this list has one order"
            raise ValidationError(
                {self.ordering_param: [f"Cannot order by {', '.join(unknown)}. Choose from: {choices}."]}
            )
        if not any(term.removeprefix("-") in ("pk", "id") for term in terms):
            terms.append("-pk" if terms[-1].startswith("-") else "pk")
        return terms


# --- the trailing-slash rule --------------------------------------------------------------------


class _EitherSlash:
    """A URL pattern that also matches its path with the trailing slash added or removed."""

    def match(self, path: str):
        return super().match(path) or super().match(path[:-1] if path.endswith("/") else f"{path}/")


class _EitherSlashRoute(_EitherSlash, RoutePattern):
    pass


class _EitherSlashRegex(_EitherSlash, RegexPattern):
    pass


def either_slash(patterns: Iterable[URLPattern]) -> list[URLPattern]:
    """The patterns, each answering with or without its trailing slash.

    The pattern as written stays the canonical form: `reverse()` and the OpenAPI schema give it.
    """
    wrapped = []
    for url in patterns:
        if isinstance(url, URLResolver):
            raise TypeError(f"either_slash() takes endpoints, not an include(): {url!r}")
        kind = _EitherSlashRoute if isinstance(url.pattern, RoutePattern) else _EitherSlashRegex
        pattern = kind(str(url.pattern), name=url.pattern.name, is_endpoint=True)
        wrapped.append(URLPattern(pattern, url.callback, url.default_args, url.name))
    return wrapped


class ApiRouter(routers.SimpleRouter):
    """The router of every app's API: `/repairs/` and `/repairs/{id}/` end with a slash, their actions
    do not (`/repairs/{id}/confirm`, `/repairs/statistics`, as SPEC §7 writes them); every route
    answers in both forms (`either_slash`)."""

    routes = [
        route._replace(url=route.url.replace("{trailing_slash}", ""))
        if isinstance(route, routers.DynamicRoute)
        else route
        for route in routers.SimpleRouter.routes
    ]

    def get_urls(self) -> list[URLPattern]:
        return either_slash(super().get_urls())
