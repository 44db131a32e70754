"""Settings for the CRM, read from the environment.

Every value has an embedded default that works for `make run` on a laptop
(SQLite under var/, an embedded Celery broker, console email). Production sets
DATABASE_URL, CELERY_BROKER_URL, REDIS_URL (the cache), SECRET_KEY, ALLOWED_HOSTS, the
email variables and CRM_TRUSTED_PROXIES, and runs with DEBUG unset (off).
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CRM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


DEBUG = env_bool("DEBUG", False)

# Without SECRET_KEY a development key is used; its "django-insecure-" prefix makes
# `manage.py check --deploy` fail, so production cannot run on it unnoticed.
_DEV_SECRET_KEY = "django-insecure-dev-only-key-set-SECRET_KEY-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY") or _DEV_SECRET_KEY
# Rotating SECRET_KEY: keep the old one here (comma-separated), or signed links and the marketing
# suppression list (keyed hashes, marketing.privacy) made with it no longer match.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
# Keys for secrets stored encrypted (a user's mailbox password; crm.secrets): comma-separated
# Fernet keys, newest first, so a key can rotate. Unset: one key derived from SECRET_KEY (then a
# new SECRET_KEY makes stored mailbox passwords unreadable; users enter them again).
CRM_SECRET_KEYS = env_list("CRM_SECRET_KEYS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.forms",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "phonenumber_field",
    "django_countries",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "crm",
    "contacts",
    "sales",
    "marketing",
    "service",
    "appointments",
    "membership",
    "analytics",
]

MIDDLEWARE = [
    # Outermost: the request id for every log line and response, the request metrics, then the
    # probes (/healthz, /readyz, /metrics), which answer before sessions, HTTPS redirects, host
    # checks, login and two-factor redirects.
    "crm.logs.RequestIdMiddleware",
    "crm.metrics.RequestMetricsMiddleware",
    "crm.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "crm.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "crm.middleware.AdminTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"

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
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
                "crm.context_processors.frame",
            ],
        },
    },
]

# Widgets render with the project's templates too (crm/widgets.py).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

WSGI_APPLICATION = "crm.wsgi.application"

# Database: SQLite file under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'crm.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Typo-tolerant search ("Schmitt" finds "Schmidt") uses pg_trgm's word similarity;
    # the default threshold (0.6) is too strict for short surnames.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        "-c pg_trgm.word_similarity_threshold=0.45 -c pg_trgm.similarity_threshold=0.3"
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # The ticket queue's covering indexes (service.Ticket, INCLUDE columns) are a Postgres
    # feature; SQLite builds them without the extra columns, which is all it can do. Postgres
    # still reports the warning for any index that needs it.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# The test database's name (a file path on SQLite; in memory when unset), so parallel checkouts and
# crm/tests/test_clock.py's runs under another date do not share one.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when CACHE_URL or REDIS_URL is set (production and CI), shared by every web and
# worker process, so rate limits count per visitor, not per gunicorn worker, and survive restarts.
# Local memory (per process) is only the embedded default for `make run`.
_CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or ""
if _CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "crm"),
            # A Redis that hangs must not hang the pages: the rate limits let requests through then.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "crm"}}

# The proxies in front of gunicorn (README, "Production"), whose X-Forwarded-For entries are
# believed: their number ("1") or their addresses and networks ("10.0.0.2,172.16.0.0/12").
# Empty: no proxy, X-Forwarded-For is ignored. The client address (crm.clientip) feeds the rate
# limits, django-axes and the consent evidence.
CRM_TRUSTED_PROXIES = os.environ.get("CRM_TRUSTED_PROXIES", "").strip()

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed logins are throttled per user name and address.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_CLIENT_IP_CALLABLE = "crm.clientip.client_ip"  # the address behind our proxies, not the proxy's
AXES_LOCKOUT_TEMPLATE = "429.html"

# Internationalisation: German first, English second.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

PHONENUMBER_DEFAULT_REGION = "DE"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)

FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 behaviour: "example.de" becomes https://example.de

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: console by default; SMTP when EMAIL_HOST is set (Django's SMTP backend, which also keeps
# the server's reply for the outbox). Every email goes through the outbox (crm.outbox).
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "crm.outbox.SMTPBackend")
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465 and not EMAIL_USE_TLS)
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# One set of SMTP settings for every connection the CRM opens (the outbox and campaign sends both
# connect through crm.outbox.SMTPBackend). The server's certificate is always verified: against
# the system's CAs, or only against EMAIL_SSL_CAFILE (a private CA or the server's self-signed
# certificate, PEM). EMAIL_SSL_CERTFILE/KEYFILE: a client certificate, for servers that want one.
EMAIL_SSL_CAFILE = os.environ.get("EMAIL_SSL_CAFILE", "")
EMAIL_SSL_CERTFILE = os.environ.get("EMAIL_SSL_CERTFILE") or None
EMAIL_SSL_KEYFILE = os.environ.get("EMAIL_SSL_KEYFILE") or None
# Without a timeout a hanging server holds a worker forever (Django's default is none).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# The CRM's public address, for absolute links in emails and calendar files (crm.links).
CRM_BASE_URL = os.environ.get("CRM_BASE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CRM <crm@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The outbox: tries per message, the first retry's delay (doubling up to an hour), when a queued or
# claimed message counts as abandoned by its task, how long sent mail is kept, and whether mail to
# domains reserved for examples and tests (example.com, .test, .invalid ...) is delivered at all.
CRM_EMAIL_MAX_ATTEMPTS = env_int("CRM_EMAIL_MAX_ATTEMPTS", 10)
CRM_EMAIL_RETRY_SECONDS = env_int("CRM_EMAIL_RETRY_SECONDS", 60)
CRM_EMAIL_LOST_AFTER_SECONDS = env_int("CRM_EMAIL_LOST_AFTER_SECONDS", 600)
CRM_EMAIL_KEEP_DAYS = env_int("CRM_EMAIL_KEEP_DAYS", 180)
CRM_EMAIL_DELIVER_RESERVED = env_bool("CRM_EMAIL_DELIVER_RESERVED", False)
# A running import whose worker has sent no heartbeat for this long is resumed (beat checks every
# minute, and each worker when it starts); a live worker beats every few seconds.
CRM_IMPORT_STALLED_SECONDS = env_int("CRM_IMPORT_STALLED_SECONDS", 120)

# Celery: Redis in production; an embedded file-system broker needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # With acks_late a task stays unacknowledged in Redis until it has finished; a message that
    # stays unacknowledged longer than the visibility timeout is delivered again. So the timeout
    # must exceed the longest task (an import of 100,000 lines: a few minutes) and the longest
    # retry countdown (the outbox backs off up to an hour, crm.outbox.BACKOFF_CAP_SECONDS), else a
    # healthy task runs twice. It is only the last resort after a crash: imports, the outbox and
    # campaign sends find their own abandoned work within minutes (heartbeats, claims, beat).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 3600)}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The queue tasks go to, also those a task queues (tests and benchmarks give workers a private one).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Users' mailboxes (contacts.mailboxes): how often they are synced, how long the server may take
# to answer, and how many messages one transaction stores.
CRM_MAILBOX_SSL_CAFILE = os.environ.get("CRM_MAILBOX_SSL_CAFILE", "")
CRM_MAILBOX_SYNC_SECONDS = env_int("CRM_MAILBOX_SYNC_SECONDS", 300)
CRM_MAILBOX_TIMEOUT = env_int("CRM_MAILBOX_TIMEOUT", 30)
CRM_MAILBOX_BATCH = env_int("CRM_MAILBOX_BATCH", 200)
# Biggest message stored (bytes); a bigger one is on the timeline without its attachments.
CRM_MAILBOX_MAX_MESSAGE_BYTES = env_int("CRM_MAILBOX_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)
# Users' CalDAV calendars (appointments.calendars): how often busy times are read and failed
# pushes retried, how long the server may take, and how many days ahead busy times are read.
CRM_CALENDAR_SYNC_SECONDS = env_int("CRM_CALENDAR_SYNC_SECONDS", 300)
CRM_CALENDAR_TIMEOUT = env_int("CRM_CALENDAR_TIMEOUT", 20)
CRM_CALENDAR_BUSY_DAYS = env_int("CRM_CALENDAR_BUSY_DAYS", 120)
# Users' CardDAV address books (contacts.addressbooks): how often they are pushed, how long the
# server may take, how many cards one run writes, the most people one address book gets, how
# long after a change of a person the push starts (one push for many changes), and the retries.
CRM_ADDRESSBOOK_SYNC_SECONDS = env_int("CRM_ADDRESSBOOK_SYNC_SECONDS", 300)
CRM_ADDRESSBOOK_TIMEOUT = env_int("CRM_ADDRESSBOOK_TIMEOUT", 20)
CRM_ADDRESSBOOK_BATCH = env_int("CRM_ADDRESSBOOK_BATCH", 200)
CRM_ADDRESSBOOK_MAX_CARDS = env_int("CRM_ADDRESSBOOK_MAX_CARDS", 5000)
CRM_ADDRESSBOOK_TRIGGER_SECONDS = env_int("CRM_ADDRESSBOOK_TRIGGER_SECONDS", 10)
# A failing server: the push is tried again after this, then twice as long each time (at most an hour).
CRM_ADDRESSBOOK_RETRY_SECONDS = env_int("CRM_ADDRESSBOOK_RETRY_SECONDS", 60)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "membership-members-end-due": {"task": "membership.tasks.members_end_due", "schedule": 6 * 3600.0},
    "crm-outbox-resume": {"task": "crm.tasks.emails_resume", "schedule": 60.0},
    "contacts-imports-resume-stalled": {"task": "contacts.tasks.imports_resume_stalled", "schedule": 60.0},
    "contacts-import-files-purge": {"task": "contacts.tasks.import_files_purge", "schedule": 6 * 3600.0},
    "sales-task-reminders": {"task": "sales.tasks.send_task_reminders", "schedule": 60.0},
    "sales-deals-convert": {"task": "sales.tasks.deals_convert", "schedule": 6 * 3600.0},
    "marketing-sends-resume-stalled": {"task": "marketing.tasks.sends_resume_stalled", "schedule": 60.0},
    "service-sla-escalate": {"task": "service.tasks.sla_escalate", "schedule": 300.0},
    "appointments-reminders": {"task": "appointments.tasks.reminders_send_due", "schedule": 60.0},
    "analytics-snapshots-refresh": {"task": "analytics.tasks.snapshots_refresh", "schedule": 300.0},
    "crm-api-idempotency-keys-purge": {"task": "crm.tasks.idempotency_keys_purge", "schedule": 3600.0},
    "crm-webhooks-resume": {"task": "crm.tasks.webhooks_resume", "schedule": 30.0},
    "crm-webhooks-purge": {"task": "crm.tasks.webhooks_purge", "schedule": 6 * 3600.0},
    "contacts-mailboxes-sync": {"task": "contacts.tasks.mailboxes_sync", "schedule": float(CRM_MAILBOX_SYNC_SECONDS)},
    "appointments-calendars-sync": {"task": "appointments.tasks.calendars_sync", "schedule": float(CRM_CALENDAR_SYNC_SECONDS)},
    "contacts-addressbooks-push": {"task": "contacts.tasks.addressbooks_push", "schedule": float(CRM_ADDRESSBOOK_SYNC_SECONDS)},
}

# Production hardening; DEBUG=1 relaxes what a laptop cannot provide (HTTPS).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = not DEBUG and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp) on every response. Scripts run only from <script> tags that
# carry the request's nonce ({{ CSP_NONCE }}): no inline script, no inline event handler, no
# eval (htmx runs with allowEval off), and no script file that is merely on our origin (an
# uploaded attachment named x.js, say). Styles come from our stylesheets only: the templates
# carry no style="" attributes; libraries set styles through the CSSOM, which CSP allows.
# Django's admin has no nonces, so its pages also allow our own script files (crm.middleware).
# The public web form may be framed by any site; every other page by none. The email preview
# (marketing:template_preview) replaces the policy with its own.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap draws its icons (select arrows, close) as data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# (Not a setting of its own: django-csp takes any CSP_* setting for one of its 3.x format.)
if os.environ.get("CSP_REPORT_URI"):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [os.environ["CSP_REPORT_URI"]]

# Logs (crm.logs): a readable line by default, LOG_FORMAT=json for one JSON object per line; each
# line carries the request id (X-Request-ID), also in the Celery tasks a request queued, and no
# email address. Workers log the same way.
from crm.logs import logging_config  # noqa: E402

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOGGING = logging_config(log_format=LOG_FORMAT, level=os.environ.get("LOG_LEVEL", "INFO"))

# Operations (README, "Operations"): /healthz, /readyz and /metrics answer before the rest of the
# middleware. /readyz gives each of its checks (database, cache, broker, storage) this many seconds.
CRM_READYZ_TIMEOUT = float(os.environ.get("CRM_READYZ_TIMEOUT", "2"))
# /metrics (Prometheus) answers a request with `Authorization: Bearer <METRICS_TOKEN>` or from a
# client address (crm.clientip) in METRICS_ALLOWED_NETWORKS ("10.0.0.0/8,127.0.0.1"); with neither
# set it does not exist (404), otherwise others get 403.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS")
# Request and task counters of all processes of this machine (gunicorn workers, Celery workers and
# their pool processes) are summed from files in this directory (prometheus_client's multiprocess
# mode); the client library reads the variable when it is first imported, so it is set here. Empty
# it when the machine's CRM processes start (scripts/run_dev.sh does).
PROMETHEUS_MULTIPROC_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# The REST API (crm/api; each app's api/ room), mounted under /api/v1/. Every request acts as its
# user: a personal API token (Authorization: Bearer ...) or the browser's session (with CSRF).
# JSON only (no browsable API: Swagger UI at /api/docs/ is the interactive view); errors are RFC
# 9457 problem details (crm.api.exceptions); lists page by cursor, never by COUNT or OFFSET.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.BearerTokenAuthentication",
        "crm.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.permissions.CrmUserPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.api.parsers.LimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.KeysetPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.throttling.UserOrTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("CRM_API_RATE", "600/min")},
    "EXCEPTION_HANDLER": "crm.api.exceptions.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "DESCRIPTION": "The CRM's REST API. Authentication, paging, errors and concurrency: see the help page of /api/docs/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs are for CRM users, like every page that is not public.
    "SERVE_PERMISSIONS": ["crm.api.permissions.CrmUserPermission"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # filter: a box that narrows the operations by tag (the page lists only what is in view of a long API).
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayRequestDuration": True, "filter": True},
    # Every operation documents the problem details it may answer with (crm.api.schema).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "crm.api.schema.add_problem_responses"],
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "contacts.models.Activity.Kind",
        "AddressKindEnum": "contacts.models.OrganizationAddress.Kind",
        "ChangeActionEnum": "crm.models.ChangeEvent.Action",
        "TicketStatusEnum": "service.models.Ticket.Status",
        "TicketPriorityEnum": "service.models.Priority",
        "TicketChannelEnum": "service.models.ServiceTeam.Channel",
        "TicketMessageKindEnum": "service.models.TicketMessage.Kind",
        "PersonSourceEnum": "contacts.models.Person.Source",
        "LeadSourceEnum": "sales.models.Lead.Source",
        "ConsentSourceEnum": "marketing.models.Consent.Source",
        "ConsentChannelEnum": "marketing.models.Consent.Channel",
        "ConsentStatusEnum": "marketing.models.Consent.Status",
        "ConsentChangeStatusEnum": "marketing.api.serializers.CHANGE_STATUSES",
        "CampaignChannelEnum": "marketing.models.Campaign.Channel",
        "CampaignStatusEnum": "marketing.models.Campaign.Status",
        "AppointmentStatusEnum": "appointments.models.Appointment.Status",
        "LanguageEnum": LANGUAGES,
    },
}
# Page size of API lists (?limit= up to the maximum), the records a batch call takes, how long an
# Idempotency-Key is remembered, and how many requests a user (or token) may make.
CRM_API_PAGE_SIZE = env_int("CRM_API_PAGE_SIZE", 50)
CRM_API_MAX_PAGE_SIZE = env_int("CRM_API_MAX_PAGE_SIZE", 500)
CRM_API_BATCH_MAX = env_int("CRM_API_BATCH_MAX", 1000)
CRM_API_IDEMPOTENCY_HOURS = env_int("CRM_API_IDEMPOTENCY_HOURS", 24)
# Records (list rows and single records) a user whose role may not export may read through the
# API per window, per user: about what a person reads page by page, far from a whole list
# (crm.api.throttling.ReadBudget). 0: no limit.
CRM_API_READ_LIMIT_WITHOUT_EXPORT = env_int("CRM_API_READ_LIMIT_WITHOUT_EXPORT", 2000)
CRM_API_READ_WINDOW = env_int("CRM_API_READ_WINDOW", 3600)
# A batch of 1,000 people is about 1 MB of JSON; the pages keep Django's 10 MB limit too.

# Product settings
# The company's currency: quotas, budgets and costs are in it, and totals over deals in several
# currencies are converted into it with the exchange rates admins maintain (sales.ExchangeRate).
CRM_CURRENCY = os.environ.get("CRM_CURRENCY", "EUR").strip().upper()
CRM_LIST_PAGE_SIZE = 25
CRM_COUNT_CAP = 10_000  # lists show "10.000+" instead of counting a million rows
# Member numbers of the association: this prefix and a running number that is never given twice.
CRM_MEMBER_NUMBER_PREFIX = os.environ.get("CRM_MEMBER_NUMBER_PREFIX", "M-")
# Two-factor login (TOTP, django-otp): anyone may turn it on; with this set, admins must.
CRM_REQUIRE_2FA_FOR_ADMINS = env_bool("CRM_REQUIRE_2FA_FOR_ADMINS", False)
OTP_TOTP_ISSUER = "CRM"
CRM_STALE_DAYS = 365  # a customer record nobody changed or logged an activity on for this long is "stale"
CRM_SEARCH_DROPDOWN_LIMIT = 5
# Rate limits of the pages anyone may use without logging in (crm.ratelimit): requests per client
# address (crm.clientip) in CRM_RATE_LIMIT_WINDOW seconds, counted in the cache (CACHES). Beyond
# them the visitor gets a friendly 429 page. "Recipient" limits count the mails to one address,
# however many visitors ask; requests beyond them are answered alike and mail nothing. 0: no limit.
CRM_RATE_LIMIT_WINDOW = env_int("CRM_RATE_LIMIT_WINDOW", 600)
CRM_PASSWORD_RESET_RATE_LIMIT = env_int("CRM_PASSWORD_RESET_RATE_LIMIT", 5)
CRM_PASSWORD_RESET_RECIPIENT_LIMIT = env_int("CRM_PASSWORD_RESET_RECIPIENT_LIMIT", 3)
MARKETING_FORM_RATE_LIMIT = env_int("MARKETING_FORM_RATE_LIMIT", 10)  # posts per form
# Unsubscribe, preference centre and double opt-in, per link: mail providers send one-click
# unsubscribes of many recipients from a few addresses, so the link is part of the key.
MARKETING_LINK_RATE_LIMIT = env_int("MARKETING_LINK_RATE_LIMIT", 20)
SERVICE_PORTAL_LINK_RATE_LIMIT = env_int("SERVICE_PORTAL_LINK_RATE_LIMIT", 5)  # sign-in link requests
SERVICE_PORTAL_LINK_RECIPIENT_LIMIT = env_int("SERVICE_PORTAL_LINK_RECIPIENT_LIMIT", 3)
SERVICE_SURVEY_RATE_LIMIT = env_int("SERVICE_SURVEY_RATE_LIMIT", 10)  # answers per survey link
APPOINTMENTS_BOOKING_RATE_LIMIT = env_int("APPOINTMENTS_BOOKING_RATE_LIMIT", 10)  # bookings, moves, cancellations
CRM_SEARCH_PAGE_LIMIT = 50
# Marketing: the address links in campaign email point at, the send rate per sending process
# (messages per second, 0 = unlimited), and when a claimed message counts as abandoned.
MARKETING_SEND_RATE = env_int("MARKETING_SEND_RATE", 800)
MARKETING_CLAIM_STALE_SECONDS = env_int("MARKETING_CLAIM_STALE_SECONDS", 120)
# SMTP connections a sending process uses side by side (one message on each at a time).
MARKETING_SMTP_CONNECTIONS = env_int("MARKETING_SMTP_CONNECTIONS", 10)

# Analytics: dashboard figures are served from a stored snapshot younger than MAX_AGE seconds;
# beat recomputes every REFRESH seconds the snapshots someone viewed within ACTIVE seconds.
ANALYTICS_SNAPSHOT_MAX_AGE = env_int("ANALYTICS_SNAPSHOT_MAX_AGE", 15 * 60)
ANALYTICS_SNAPSHOT_REFRESH = env_int("ANALYTICS_SNAPSHOT_REFRESH", 5 * 60)
ANALYTICS_SNAPSHOT_ACTIVE = env_int("ANALYTICS_SNAPSHOT_ACTIVE", 2 * 3600)
# An older snapshot, up to this age, is shown at once while a task recomputes it.
ANALYTICS_SNAPSHOT_STALE_MAX_AGE = env_int("ANALYTICS_SNAPSHOT_STALE_MAX_AGE", 24 * 3600)

# Customer service (service app): sender and Message-ID domain of ticket mail, the mailbox read
# by `service_fetch_imap`, the revenue from which an organization is a VIP, SLA warning lead time.
SERVICE_FROM_EMAIL = os.environ.get("SERVICE_FROM_EMAIL", "service@crm.local")
SERVICE_EMAIL_DOMAIN = os.environ.get("SERVICE_EMAIL_DOMAIN", "crm.local")
SERVICE_IMAP_HOST = os.environ.get("SERVICE_IMAP_HOST", "")
SERVICE_IMAP_PORT = env_int("SERVICE_IMAP_PORT", 993)
SERVICE_IMAP_USER = os.environ.get("SERVICE_IMAP_USER", "")
SERVICE_IMAP_PASSWORD = os.environ.get("SERVICE_IMAP_PASSWORD", "")
SERVICE_IMAP_SSL = env_bool("SERVICE_IMAP_SSL", True)
# The IMAP server's certificate is verified against the system's CAs, or only this file's (PEM).
SERVICE_IMAP_SSL_CAFILE = os.environ.get("SERVICE_IMAP_SSL_CAFILE", "")
SERVICE_IMAP_FOLDER = os.environ.get("SERVICE_IMAP_FOLDER", "INBOX")
SERVICE_VIP_REVENUE = env_int("SERVICE_VIP_REVENUE", 10_000_000)
SERVICE_SLA_WARN_MINUTES = env_int("SERVICE_SLA_WARN_MINUTES", 60)
SERVICE_PORTAL_LINK_MAX_AGE = env_int("SERVICE_PORTAL_LINK_MAX_AGE", 30 * 60)

# Outbound webhooks (crm.webhooks). ALLOW_LOOPBACK lets http://127.0.0.1 through (tests only).
CRM_WEBHOOK_ALLOW_LOOPBACK = env_bool("CRM_WEBHOOK_ALLOW_LOOPBACK", False)
CRM_WEBHOOK_DISABLE_AFTER_FAILURES = env_int("CRM_WEBHOOK_DISABLE_AFTER_FAILURES", 20)
CRM_WEBHOOK_RETRY_FOR_SECONDS = env_int("CRM_WEBHOOK_RETRY_FOR_SECONDS", 3 * 24 * 3600)
CRM_WEBHOOK_CONNECT_TIMEOUT = env_int("CRM_WEBHOOK_CONNECT_TIMEOUT", 5)
CRM_WEBHOOK_READ_TIMEOUT = env_int("CRM_WEBHOOK_READ_TIMEOUT", 10)
CRM_WEBHOOK_RESPONSE_MAX_BYTES = env_int("CRM_WEBHOOK_RESPONSE_MAX_BYTES", 64 * 1024)
CRM_WEBHOOK_LEASE_SECONDS = env_int("CRM_WEBHOOK_LEASE_SECONDS", 60)
# Events (their payloads hold the record as sent) and their delivery log are deleted this many days
# after the event, once no delivery is pending: the retry window and a few days to look back.
CRM_WEBHOOK_KEEP_DAYS = env_int("CRM_WEBHOOK_KEEP_DAYS", 7)
