"""The dashboard's charts, drawn on the server as SVG: no script, no library, nothing fetched — the
page works offline and prints. Each bar is a link to the admin list behind its figure and carries
its exact amount as a tooltip (<title>).

Geometry is integer pixels computed from Decimal amounts (bar = amount × width ÷ largest, rounded
down): no float comes near the money.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from cockpit.selectors import CategoryOutstanding, SeriesValues


def money(amount: Decimal) -> str:
    return intcomma(f"{amount:.2f}")


def _scaled(amount: Decimal, largest: Decimal, pixels: int) -> int:
    if largest <= 0 or amount <= 0:
        return 0
    return max(1, int((amount * pixels / largest).to_integral_value(rounding=ROUND_DOWN)))


def category_bars(rows: Sequence[CategoryOutstanding], *, width: int = 560) -> SafeString:
    """Horizontal bars, one per category, in payment priority order."""
    label_width, amount_width, row_height = 150, 110, 26
    bar_room = width - label_width - amount_width
    largest = max((row.outstanding for row in rows), default=Decimal(0))
    height = row_height * len(rows) + 4
    parts = [
        f'<svg class="chart category-bars" role="img" aria-label="Outstanding by category" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, row in enumerate(rows):
        y = index * row_height + 2
        bar = _scaled(row.outstanding, largest, bar_room)
        title = escape(f"{row.label}: {money(row.outstanding)} on {row.balances} open balance(s)")
        parts.append(
            f'<a href="{escape(row.url)}" class="bar-link"><title>{title}</title>'
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" class="label">{escape(row.label)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{bar}" height="{row_height - 8}" '
            f'class="bar {escape(row.category.lower())}"/>'
            f'<text x="{label_width + bar + 6}" y="{y + 17}" class="amount">{escape(money(row.outstanding))}</text>'
            "</a>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every value above is escaped


def weekly_bars(series: Sequence[SeriesValues], *, width: int = 720, height: int = 220) -> SafeString:
    """Grouped columns per week (one per series), oldest week left, with the largest week's amount
    as the scale's top and each week's Sunday under its group."""
    if not series:
        return mark_safe("")
    periods: list[dt.date] = [period for period, _, _ in series[0].values]
    left, bottom, top = 70, 24, 12
    plot_height = height - bottom - top
    group = (width - left) // max(1, len(periods))
    column = max(3, (group - 6) // len(series))
    largest = max((amount for s in series for _, amount, _ in s.values), default=Decimal(0))
    parts = [
        f'<svg class="chart weekly-bars" role="img" aria-label="Money per week" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width}" y2="{top + plot_height}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" class="scale">{escape(money(largest))}</text>',
        f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end" class="scale">0</text>',
    ]
    for index, period in enumerate(periods):
        x0 = left + index * group + 3
        parts.append(
            f'<text x="{x0 + (group - 6) // 2}" y="{height - 6}" text-anchor="middle" class="week">'
            f"{period:%m-%d}</text>"
        )
        for offset, s in enumerate(series):
            _, amount, url = s.values[index]
            bar = _scaled(amount, largest, plot_height)
            title = escape(f"{s.label}, week of {period:%Y-%m-%d}: {money(amount)}")
            parts.append(
                f'<a href="{escape(url)}" class="bar-link"><title>{title}</title>'
                f'<rect x="{x0 + offset * column}" y="{top + plot_height - bar}" width="{column - 1}" '
                f'height="{bar}" class="bar {escape(s.css_class)}"/></a>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every value above is escaped
