"""Settings for the learning-portfolio platform: one module, read from the environment.

With no environment at all it runs for development: SQLite and private files under
``var/``, Celery tasks executed eagerly, an in-process cache. ``DJANGO_PRODUCTION=1``
turns on the production-only behaviour and refuses to start without real secrets.
"""

import json
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portfolio.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTFOLIO_VAR_DIR", str(BASE_DIR / "var")))

PRODUCTION = env_bool("DJANGO_PRODUCTION", False)
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)


def _dev_secret(name: str, make) -> str:
    """A per-checkout secret kept in var/, only when not in production."""
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set when DJANGO_PRODUCTION=1")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "dev-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = make()
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
    return stored[name]


SECRET_KEY = env_str("DJANGO_SECRET_KEY") or _dev_secret(
    "DJANGO_SECRET_KEY", lambda: secrets.token_urlsafe(50)
)
# Keys for encrypting personal fields (national IDs). Comma-separated Fernet keys: the
# first encrypts, all decrypt, so a key can be rotated without a flag day.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY") or [
    _dev_secret("FIELD_ENCRYPTION_KEY", lambda: Fernet.generate_key().decode())
]

# Key of the HMAC that makes encrypted fields searchable (national IDs).
FIELD_HASH_KEY = env_str("FIELD_HASH_KEY") or _dev_secret(
    "FIELD_HASH_KEY", lambda: secrets.token_urlsafe(32)
)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Sign-in with a school's own accounts (accounts.signin): every school's provider is an
    # OpenID Connect app of its own, Google Workspace included (issuer accounts.google.com).
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "portfolio",
    "accounts",
    "records",
    "submissions",
    "certification",
    "centralsim",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portfolio.middleware.SiteLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside CSPMiddleware, so that its additions reach the policy that middleware writes.
    "accounts.signin_middleware.SignInFormActionMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.ActingContextMiddleware",
]

ROOT_URLCONF = "portfolio.urls"
WSGI_APPLICATION = "portfolio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "portal.context_processors.acting",
            ],
            "libraries": {"signin": "accounts.signin_tags"},
        },
    }
]

# Database: DATABASE_URL (PostgreSQL through psycopg 3), else SQLite under var/.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Connections are kept between requests and checked before reuse (conn_health_checks):
    # after PostgreSQL restarts, the next request opens a new one; requests while it is down
    # fail at once (a 500), and a connection attempt gives up after connect_timeout seconds.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 600), conn_health_checks=True
        )
    }
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Redis down costs a request milliseconds, not the site: its errors are taken as misses
    # (portfolio/cache.py), and a Redis that does not answer is given up on quickly.
    CACHES = {
        "default": {
            "BACKEND": "portfolio.cache.FaultTolerantRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions cached only in a shared cache: a per-process cache would keep a session alive
# in one worker after sign-out in another. cached_db keeps every session in the database
# too, so signed-in people stay signed in while Redis is down.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("PORTFOLIO_FAST_PASSWORD_HASHER", False):
    # Only for tests and benchmarks: the default hasher costs about 2 s here.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
# Sign-in limits. Once a limit is reached allauth refuses even the right password, so a
# limit by address must leave room for a whole school behind one address (its Wi-Fi's NAT;
# every request, if the proxy's address were taken for the client's): at a deadline some
# hundreds of students sign in within minutes, about a tenth of them mistyping once. So:
# - per account (key): 5 failures in 5 minutes; a password-guessing run against one account
#   gets 5 tries every 5 minutes, whatever addresses it uses;
# - per address: 60 failures a minute, six times what a rush of 100 sign-ins a minute
#   with one in ten mistyped produces; a run across many accounts from one address stays
#   at one try a second;
# - every sign-in (success or not) per address: 300 a minute, for the same rush.
# The client's address is the socket's unless a proxy the deployment trusts sets
# X-Forwarded-For (TRUSTED_PROXY_COUNT, the number of proxies in front of the app; 0
# trusts the header of nobody, so a client cannot pick its own rate-limit bucket).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("LOGIN_RATE_LIMIT", "60/m/ip,5/5m/key"),
    "login": env_str("LOGIN_ATTEMPT_RATE_LIMIT", "300/m/ip"),
    "reset_password": "20/m/ip,5/m/key",
}
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Sign-in with the school's accounts (accounts.signin, accounts.adapters): the providers are
# the schools' SignInProvider rows, never SocialApp rows or settings. Nobody signs up: a
# provider's verified e-mail must be that of an active member of the provider's school, and
# the account is then connected to that member (allauth's own e-mail authentication would
# look across every school and wipe passwords; the adapter does the school's match itself).
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10  # seconds for each request to a provider
# The schools' providers as JSON (a list of objects; see `manage.py school_signin --help`),
# applied by `manage.py school_signin --from-env`; usually PORTFOLIO_SCHOOL_SIGNIN_FILE.
SCHOOL_SIGNIN = env_str("PORTFOLIO_SCHOOL_SIGNIN")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "學習歷程平臺"

# Language and time: Traditional Chinese first, English second; Asia/Taipei.
LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Taipei"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# In development whitenoise serves straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Files: a private folder on disk by default (never served as public media), S3-compatible
# storage when S3_BUCKET is set. Files leave only through views that check access.
S3_BUCKET = env_str("S3_BUCKET")
if S3_BUCKET:
    _files_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "region_name": env_str("S3_REGION") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("S3_SIGNED_URL_SECONDS", 300),
            "file_overwrite": False,
        },
    }
    # Where browsers reach the store, when the app reaches it elsewhere (signed links).
    S3_PUBLIC_ENDPOINT_URL = env_str("S3_PUBLIC_ENDPOINT_URL")
else:
    PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
    _files_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    }
STORAGES = {
    "default": _files_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = None  # no file is ever public: files leave through views that check access
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Celery: a Redis broker when CELERY_BROKER_URL is set, otherwise tasks run eagerly.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (CELERY_BROKER_URL or None)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker or result store that does not answer: give up connecting after 2 s (sending a
# job then fails at once, the job stays queued and requeue-jobs sends it once Redis is back).
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_BEAT_SCHEDULE = {
    "apply-window-states": {
        "task": "portfolio.tasks.apply_window_states",
        "schedule": crontab(minute="*"),
    },
    "requeue-jobs": {
        # Jobs whose task never reached the broker (down when they were started) or was lost
        # with it: sent again; a job still runs once (portfolio.jobs).
        "task": "portfolio.tasks.requeue_jobs",
        "schedule": crontab(minute="*"),
    },
    "purge-job-files": {
        "task": "portfolio.tasks.purge_job_files",
        # Hourly, so that a file kept "a day" goes within the 25th hour.
        "schedule": crontab(minute=17),
    },
    "lock-selections": {
        "task": "submissions.tasks.lock_selections",
        "schedule": crontab(minute="*/5"),
    },
    "sweep-stored-files": {
        "task": "submissions.tasks.sweep_stored_files",
        "schedule": crontab(hour=3, minute=30),  # CELERY_TIMEZONE: Asia/Taipei
    },
    "send-roster-packages": {
        "task": "submissions.tasks.send_roster_packages",
        "schedule": crontab(minute="*/2"),
    },
    "deliver-notices": {
        "task": "accounts.tasks.deliver_notices",
        "schedule": crontab(minute="*"),
    },
    "send-scheduled-notices": {
        "task": "certification.tasks.send_scheduled_notices",
        "schedule": crontab(minute="*/15"),
    },
    "deem-receipt-answers": {
        "task": "submissions.tasks.deem_receipt_answers",
        "schedule": crontab(minute="*/10"),
    },
}

# The central database (submissions.transports): "download" (offices upload the built files on
# its site) or "http" (the platform sends them to CENTRAL_HTTP_URL and polls for the answer).
CENTRAL_TRANSPORT = env_str("CENTRAL_TRANSPORT", "download")
if CENTRAL_TRANSPORT not in ("download", "http"):
    raise ImproperlyConfigured("CENTRAL_TRANSPORT must be download or http")
CENTRAL_HTTP_URL = env_str("CENTRAL_HTTP_URL")
CENTRAL_API_KEY = env_str("CENTRAL_API_KEY")
CENTRAL_HTTP_TIMEOUT = env_int("CENTRAL_HTTP_TIMEOUT", 30)
# The simulated central database (centralsim/): its endpoints and pages answer only when on,
# as in development, the demo and the tests; production leaves it off unless told.
CENTRAL_SIMULATOR = env_bool("CENTRAL_SIMULATOR", not PRODUCTION)
CENTRAL_SIM_API_KEY = env_str("CENTRAL_SIM_API_KEY", "" if PRODUCTION else "simulated-school-key")
if CENTRAL_TRANSPORT == "http" and not (CENTRAL_HTTP_URL and CENTRAL_API_KEY):
    raise ImproperlyConfigured("CENTRAL_TRANSPORT=http needs CENTRAL_HTTP_URL and CENTRAL_API_KEY")

# The font of the receipt confirmation's paper letters (submissions/letters.py): a path to an
# .otf, .ttf or .ttc with Traditional Chinese glyphs. Unset: Noto Sans TC from the
# pylopdf-fonts-zh-tw package (in requirements.lock), else Debian's fonts-noto-cjk.
LETTERS_FONT = env_str("LETTERS_FONT")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portfolio@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The SMTP server, when EMAIL_BACKEND is django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
# Where people reach the platform: links in e-mails start with it (no trailing slash).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Content security: no third-party origin anywhere; scripts only from our static files.
# Previews of students' files come from our own views, or (on S3) from the storage's origin,
# to which those views redirect with a short-lived signed URL.
_FILES_ORIGINS: list[str] = []
if S3_BUCKET:
    _endpoint = urlsplit(
        S3_PUBLIC_ENDPOINT_URL or env_str("S3_ENDPOINT_URL") or "https://s3.amazonaws.com"
    )
    _FILES_ORIGINS = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
    if not (S3_PUBLIC_ENDPOINT_URL or env_str("S3_ENDPOINT_URL")):
        _FILES_ORIGINS.append("https://*.amazonaws.com")  # AWS: the bucket's own host too
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_FILES_ORIGINS],
        "media-src": ["'self'", *_FILES_ORIGINS],
        "frame-src": ["'self'", *_FILES_ORIGINS],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probed over plain HTTP inside the network
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    # Opt-in: HSTS on every subdomain, or on browsers' preload lists, binds the school's
    # whole domain for long and cannot be taken back quickly.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # check --deploy asks for both; they are the deployment's choice (above).
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]

# A bare view mounted only for `make bench`, to measure the ceiling of the stack.
BENCH_VIEWS = env_bool("PORTFOLIO_BENCH_VIEWS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
