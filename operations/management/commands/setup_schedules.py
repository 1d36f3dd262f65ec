"""manage.py setup_schedules: the Sunday jobs of SPEC §6 in django-celery-beat.

`migrate` already does this; the command exists for an operator who deleted an entry and wants it
back. It adds the entries that are missing and never changes one that exists, so times or enabled
flags edited in the admin stay as they are.
"""

from django.core.management.base import BaseCommand

from operations.jobs import DAILY_SCHEDULE, SUNDAY_SCHEDULE, ensure_beat_schedule


class Command(BaseCommand):
    help = "Create the missing Sunday job schedules (never changes existing ones)."

    def handle(self, *args, **options):
        created = ensure_beat_schedule()
        for task in created:
            self.stdout.write(f"Scheduled {task}.")
        kept = len(SUNDAY_SCHEDULE) + len(DAILY_SCHEDULE) - len(created)
        self.stdout.write(self.style.SUCCESS(f"{len(created)} schedule(s) added, {kept} already present and kept."))
