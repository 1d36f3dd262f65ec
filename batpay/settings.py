"""Settings for the BAT Payment Engine. Everything an operator sets comes from the environment.

Production sets BATPAY_PRODUCTION=1, DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY and
ALLOWED_HOSTS (README, "Production"): then the site is HTTPS only behind a proxy and
`manage.py check --deploy` is clean. With those unset the project runs on one machine: an
embedded PostgreSQL and a file-system broker, both under BATPAY_DATA_DIR (default `.data/`).
"""

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("BATPAY_DATA_DIR") or BASE_DIR / ".data").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG")
# Production: served over HTTPS behind a proxy that sets X-Forwarded-Proto (README, "Production").
PRODUCTION = env_bool("BATPAY_PRODUCTION")


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    if PRODUCTION:
        raise ImproperlyConfigured("BATPAY_PRODUCTION=1 needs SECRET_KEY (50 or more random characters).")
    # A single-machine install keeps a generated key beside its data, so sessions and tokens
    # survive restarts without anybody having to invent one.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
if PRODUCTION and not os.environ.get("ALLOWED_HOSTS", "").strip():
    raise ImproperlyConfigured("BATPAY_PRODUCTION=1 needs ALLOWED_HOSTS (the host names the site answers to).")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# The project's apps, lowest layer first (README, "Layout"; .importlinter enforces it). Their
# loggers and their role permissions (batpay.roles) follow this list.
PROJECT_APPS = (
    "batpay",
    "leases",
    "ledger",
    "plans",
    "lease_schedules",
    "repairs",
    "loans",
    "charges",
    "deposits",
    "statements",
    "violations",
    "tolls",
    "payouts",
    "operations",
    "cockpit",
)

INSTALLED_APPS = [
    # The admin, with the back office's site: the dashboard as its home page (cockpit.site).
    "cockpit.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # PostgreSQL only: its index operator classes (repairs' invoice-number prefix index)
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Bodies over the limits (413) and text that is not text in query strings and forms (400).
    "batpay.middleware.RequestLimits",
    # Static files straight from STATIC_ROOT, before sessions or anything else is looked at.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login the login guard refused into its lockout answer (batpay.login_guard.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "batpay.urls"
WSGI_APPLICATION = "batpay.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database: PostgreSQL only --------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
DB_NAME = os.environ.get("BATPAY_DB_NAME", "batpay")
if DATABASE_URL:
    import dj_database_url

    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")))
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgresql://…).")
    # BATPAY_DB_NAME, when set, picks another database on the same server (a worker started by a
    # test works on the test database; a second copy of the product on a database of its own).
    if os.environ.get("BATPAY_DB_NAME"):
        _db["NAME"] = DB_NAME
    EMBEDDED_DATABASE = False
else:
    from batpay.embedded_db import database_settings

    _db = database_settings(DATA_DIR, DB_NAME)
    EMBEDDED_DATABASE = True
# Each test run (or each parallel developer) can pick its own test database name.
_db["TEST"] = {"NAME": os.environ.get("BATPAY_TEST_DB_NAME") or f"test_{_db['NAME']}"}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/New_York"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Request bodies: an API body or a form at most DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB), an
# upload (the admin's trips file) at most UPLOAD_MAX_SIZE; larger is a 413 (batpay.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE") or 2_621_440)
UPLOAD_MAX_SIZE = int(os.environ.get("UPLOAD_MAX_SIZE") or 256 * 1024 * 1024)

MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or DATA_DIR / "media")
# An export longer than this is written by a Celery job and downloaded when ready (batpay.export_jobs);
# its file is kept this many days.
EXPORT_INLINE_MAX_ROWS = int(os.environ.get("EXPORT_INLINE_MAX_ROWS") or 50_000)
EXPORT_KEEP_DAYS = 7
# WhiteNoise serves STATIC_ROOT (filled by `collectstatic`, which `manage.py serve` runs) from the
# web process, compressed. Production names every file by its content hash and lets browsers cache
# it for ever; elsewhere the names stay plain, so tests and a fresh checkout need no manifest, and
# a file is compressed again only when it changed (batpay.staticfiles).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "batpay.staticfiles.ChangedOnlyCompressedStaticFilesStorage"
    },
}

# --- logins and tokens (docs/rules.md, "Logins and tokens") -----------------------------------
# django-axes counts failed logins (API token and admin alike) in the database every process
# shares. LOGIN_FAILURE_LIMIT failures for one username from one address, none more than the
# cool-off apart, lock that pair out until LOGIN_COOLOFF_MINUTES after the last one.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
# Axes answers the failure that reaches its limit with the lockout itself: one more than the failures
# allowed, so the first LOGIN_FAILURE_LIMIT wrong passwords are each told so and the next is refused.
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT + 1
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked out are refused without being counted: the lock ends a cool-off after the
# failure that set it, however often a script keeps knocking.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "batpay.login_guard.client_ip"
AXES_LOCKOUT_CALLABLE = "batpay.login_guard.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # failures are what it keeps; logins and logouts are not logged
# How many proxies in front of the web process append to X-Forwarded-For (the client's address is
# the entry the outermost trusted proxy wrote). 0: the address of the connection itself.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "1" if PRODUCTION else "0"))

# API tokens (django-rest-knox): only a SHA-512 digest is stored; each expires API_TOKEN_TTL_HOURS
# after it was issued; DELETE /api/auth/token/ revokes the one that authenticated the request.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=float(os.environ.get("API_TOKEN_TTL_HOURS", "12"))),
    "AUTH_HEADER_PREFIX": "Bearer",
    "AUTO_REFRESH": False,
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "batpay.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["batpay.permissions.RolePermissions"],
    "DEFAULT_PAGINATION_CLASS": "batpay.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Every list: unknown parameters refused, then the view's FilterSet, then its ordering allow-list.
    "DEFAULT_FILTER_BACKENDS": [
        "batpay.api.KnownQueryParameters",
        "django_filters.rest_framework.DjangoFilterBackend",
        "batpay.api.AllowListOrdering",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "batpay.parsers.DecimalJSONParser",
        "batpay.parsers.FormParser",
        "batpay.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "batpay.schema.AutoSchema",
    "EXCEPTION_HANDLER": "batpay.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "ORDERING_PARAM": "ordering",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "BAT Payment Engine API",
    "DESCRIPTION": "Repairs, loans, leases and the centralized ledger of the fleet's back office.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # assets shipped in a wheel: the docs work offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Many models have a `status`; each choice set gets its own name instead of a hashed one.
    "ENUM_NAME_OVERRIDES": {
        "ErrorCodeEnum": "batpay.errors.ErrorCode",
        "DriverStatusEnum": "leases.models.Driver.Status",
        "LeaseStatusEnum": "leases.models.Lease.Status",
        "PlanStatusEnum": "plans.lifecycle.PlanStatus",
        "InstallmentStatusEnum": "plans.lifecycle.InstallmentStatus",
        "RequestedPlanStatusEnum": "plans.lifecycle.RequestedStatus",
        "DtrStatusEnum": "statements.models.DriverTransactionReport.Status",
        "ReceiptKindEnum": "ledger.models.Receipt.Kind",
        "PaymentMethodEnum": "ledger.models.Receipt.Method",
        "TripRowKindEnum": "statements.models.TripImportRow.Kind",
        "ViolationReviewEnum": "violations.models.Violation.Review",
        "ViolationRowKindEnum": "violations.models.ViolationImportRow.Kind",
        "TlcDispositionEnum": "violations.models.Disposition",
        "ViolationChargeKindEnum": "violations.models.Charge.Kind",
        "TollStatusEnum": "tolls.models.Toll.Status",
        "TollKindEnum": "tolls.models.Toll.Kind",
        "PayoutRunStatusEnum": "payouts.models.PayoutRun.Status",
        "PayoutStatusEnum": "payouts.models.Payout.Status",
        # A payout's method is the driver's pay-to mode (ACH or CHECK): one choice set, one name.
        "PayToModeEnum": "leases.models.Driver.PayTo",
        "CorrectionStatusEnum": "charges.models.Correction",
        "DepositCollectionEnum": "deposits.models.Deposit.Collection",
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip() or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(os.environ.get("BATPAY_BROKER_DIR") or DATA_DIR / "broker")
    _queue_dir = _broker_dir / "queue"
    _processed_dir = _broker_dir / "processed"
    for _folder in (_queue_dir, _processed_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    _default_results = f"file://{DATA_DIR / 'celery-results'}"
    (DATA_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    _default_results = CELERY_BROKER_URL
else:
    _default_results = "rpc://"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "").strip() or _default_results
# The queue tasks go to when their sender names none (Celery's "celery"). A worker started with another one
# (and `-Q` the same) keeps every task it queues itself — PDFs after the close, a step's shards — among the
# workers of its own queue: `manage.py bench sunday_scale` runs a scratch database's Sunday on a queue of
# its own, beside the product's workers on the same broker.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "").strip() or "celery"
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for the next one
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
DJANGO_CELERY_BEAT_TZ_AWARE = True
# The Sunday's fleet-wide steps (postings, taxes and earnings, DTRs, PDFs) run in shards of this
# many leases; the process running a step works on them and enqueues this many helper tasks per
# step so that every free worker joins in (operations.shards). 0 helpers: the step's own process
# does every shard.
CLOSE_SHARD_LEASES = int(os.environ.get("CLOSE_SHARD_LEASES") or 500)
CLOSE_HELPER_TASKS = int(os.environ.get("CLOSE_HELPER_TASKS") or 8)
# Tests only ("job=seconds"): each shard of that job waits inside its transaction, so a test can
# kill a worker mid-shard.
CLOSE_SHARD_DELAY = dict(
    (job, float(seconds))
    for job, _, seconds in [os.environ.get("BATPAY_TEST_SHARD_DELAY", "").rpartition("=")]
    if job and seconds
)

# --- business settings (SPEC §4) ------------------------------------------------------------
# Weekly installment by plan amount: (upper bound inclusive, weekly amount); None = no bound;
# a weekly amount of None means "the whole amount in one installment".
REPAYMENT_MATRIX = [
    (Decimal("200.00"), None),
    (Decimal("500.00"), Decimal("100.00")),
    (Decimal("1000.00"), Decimal("200.00")),
    (Decimal("3000.00"), Decimal("250.00")),
    (None, Decimal("300.00")),
]
# The largest single payment or charge anybody may enter (batpay.money.clean_amount and the API's and
# the admin's money fields); a week's card earnings or taxes of one lease are held to it too.
MAX_TRANSACTION_AMOUNT = Decimal(os.environ.get("MAX_TRANSACTION_AMOUNT") or "1000000.00")
# The largest scan of a paper receipt a misc charge keeps (bytes).
MISC_RECEIPT_MAX_BYTES = int(os.environ.get("MISC_RECEIPT_MAX_BYTES") or 5 * 1024 * 1024)
# How many days a security deposit stays held after its lease ends before the daily job applies it.
DEPOSIT_HOLD_DAYS = int(os.environ.get("DEPOSIT_HOLD_DAYS") or 30)
LOAN_DEFAULT_INTEREST_RATE = Decimal(os.environ.get("LOAN_DEFAULT_INTEREST_RATE", "0"))
LOAN_MAX_INTEREST_RATE = Decimal(os.environ.get("LOAN_MAX_INTEREST_RATE", "20"))
# How far ahead a lease schedule is written when the lease has no end date (or ends later): the
# weekly leases job rolls it forward, so the schedule always shows the year to come.
LEASE_SCHEDULE_HORIZON_WEEKS = 52
# Parking violations (violations/): the fleet's processing fee, a percentage of the fine added to the
# driver's charge (half-up to the cent; 0 charges none); TLC summonses: a flat service fee per summons.
PVB_PROCESSING_FEE_PERCENT = Decimal(os.environ.get("PVB_PROCESSING_FEE_PERCENT") or "2.5")
TLC_SERVICE_FEE = Decimal(os.environ.get("TLC_SERVICE_FEE") or "25.00")
# A scanned TLC summons: PDF, JPEG or PNG, at most this many bytes.
TLC_DOCUMENT_MAX_SIZE = int(os.environ.get("TLC_DOCUMENT_MAX_SIZE") or 10 * 1024 * 1024)

# --- payouts (docs/rules.md, "Payouts") ---------------------------------------------------------
# Fernet keys for bank account numbers at rest, comma separated, the current one first (payouts.crypto);
# unset, a key derived from SECRET_KEY — production refuses that (system check payouts.E001).
PAYOUT_ENCRYPTION_KEYS = env_list("PAYOUT_ENCRYPTION_KEYS", "")
# Money due under this is carried to the next run.
PAYOUT_MINIMUM = Decimal(os.environ.get("PAYOUT_MINIMUM") or "10.00")
# The first check number the fleet's check stock uses; numbers are never reused.
PAYOUT_CHECK_START = int(os.environ.get("PAYOUT_CHECK_START") or "100001")
# The fleet's checking account the checks are drawn on (the bank's positive-pay file names it).
PAYOUT_CHECK_ACCOUNT = os.environ.get("PAYOUT_CHECK_ACCOUNT", "000000000000")
# The NACHA file's originator: the company (name and id, as the bank set them up) and the
# originating bank (ODFI), which here is also the file's immediate destination.
PAYOUT_ACH = {
    "company_name": os.environ.get("PAYOUT_ACH_COMPANY_NAME", "BIG APPLE TAXI"),
    "company_id": os.environ.get("PAYOUT_ACH_COMPANY_ID", "1234567890"),
    "entry_description": os.environ.get("PAYOUT_ACH_ENTRY_DESCRIPTION", "DRIVER PAY"),
    "origin_routing": os.environ.get("PAYOUT_ACH_ORIGIN_ROUTING", "021000021"),
    "origin_name": os.environ.get("PAYOUT_ACH_ORIGIN_NAME", "BIG APPLE TAXI MGMT"),
    "destination_routing": os.environ.get("PAYOUT_ACH_DESTINATION_ROUTING", "021000021"),
    "destination_name": os.environ.get("PAYOUT_ACH_DESTINATION_NAME", "JPMORGAN CHASE BANK"),
}

COMPANY_NAME = os.environ.get("BATPAY_COMPANY_NAME", "Big Apple Taxi Management LLC")
COMPANY_ADDRESS = os.environ.get("BATPAY_COMPANY_ADDRESS", "42-17 Northern Blvd, Long Island City, NY 11101")

# Prometheus scrapes /metrics; set METRICS_TOKEN to require `Authorization: Bearer <token>`.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- logging: one line of JSON per event, logger named after the app --------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "batpay.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {name: {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False} for name in PROJECT_APPS},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

# --- production: HTTPS only, behind a proxy (`manage.py check --deploy` is clean) ---------------
if PRODUCTION:
    # The proxy terminates TLS and says so in X-Forwarded-Proto; it must overwrite whatever a
    # client sent in that header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Prometheus scrapes the web process directly, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^metrics/?$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
