"""The trip import's rows kept for review, as a queue on the dashboard (batpay.cockpit)."""

from __future__ import annotations

from django.urls import reverse

from batpay.cockpit import REVIEW_QUEUES, ReviewQueue
from statements.models import TripImportRow


def register_review_queues() -> None:
    REVIEW_QUEUES.register(
        "statements.trip_rows",
        ReviewQueue(
            label="Trip rows kept for review",
            count=lambda: TripImportRow.objects.count(),
            url=lambda: reverse("admin:statements_tripimportrow_changelist"),
            permission="statements.view_tripimportrow",
        ),
        order=10,
    )
