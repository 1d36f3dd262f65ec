"""`manage.py serve`: the whole product on one machine — web, Celery worker and beat.

Migrates, creates the `admin` superuser when there is none, loads the demo fleet into an empty
database, collects the static files, then runs the three processes until Ctrl-C (or SIGTERM),
which stops them all. The web process is gunicorn, as in production (README, "Production"); its
static files are served by WhiteNoise from STATIC_ROOT.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from leases.models import Driver, Lease, Medallion, Vehicle


class Command(BaseCommand):
    help = "Run the admin and API, a Celery worker and beat together (Ctrl-C stops all)."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--demo-leases", type=int, default=int(os.environ.get("DEMO_LEASES", "50")))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")), help="gunicorn workers"
        )
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=1)
        self._ensure_admin()
        self._ensure_demo(opts["demo_leases"])
        if _has_command("setup_schedules"):
            call_command("setup_schedules")
        self.stdout.write("Collecting static files (the first time takes a while: they are compressed)…")
        call_command("collectstatic", interactive=False, verbosity=0)

        python = sys.executable
        procs = {"web": web_command(opts["host"], opts["port"], workers=opts["web_workers"])}
        if not opts["no_worker"]:
            procs["worker"] = [
                python,
                "-m",
                "celery",
                "-A",
                "batpay",
                "worker",
                "-l",
                "info",
                "--concurrency",
                os.environ.get("WORKER_CONCURRENCY", "2"),
            ]
            procs["beat"] = [
                python,
                "-m",
                "celery",
                "-A",
                "batpay",
                "beat",
                "-l",
                "info",
                "--scheduler",
                settings.CELERY_BEAT_SCHEDULER,
                "--pidfile",
                str(settings.DATA_DIR / "celerybeat.pid"),
            ]
        running = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in procs.items()}
        self.stdout.write(
            self.style.SUCCESS(
                f"Serving on http://{opts['host']}:{opts['port']}/admin/ with {', '.join(running)}. "
                "Ctrl-C stops everything."
            )
        )
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in running.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping the rest.")
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in running.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            for proc in running.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.stdout.write("Stopped.")

    def _ensure_admin(self):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = os.environ.get("BATPAY_ADMIN_PASSWORD") or "admin"
        User.objects.create_superuser("admin", "admin@example.com", password)
        self.stdout.write(self.style.WARNING(f"Created superuser 'admin' with password '{password}'."))

    def _ensure_demo(self, leases: int):
        empty = not any(model.objects.exists() for model in (Driver, Vehicle, Medallion, Lease))
        if leases and empty:
            call_command("seed_demo", leases=leases, with_users=True)


def web_command(host: str, port: str | int, *, workers: int) -> list[str]:
    """The web process: gunicorn on the WSGI application, access log to stdout (README, "Production")."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "batpay.wsgi",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
    ]


def _has_command(name: str) -> bool:
    from django.core.management import get_commands

    return name in get_commands()
