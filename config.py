"""Configuration classes, chosen by name, read from environment variables.

Secrets never have a default in production: `ProductionConfig.validate()` refuses to start
without them. Development generates them in the instance folder on first run.
"""
import os


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_roles(name, default):
    value = os.environ.get(name)
    if value is None:
        return tuple(default)
    return tuple(role.strip() for role in value.split(",") if role.strip())


STAFF_TWO_FACTOR_ROLES = ("admin", "auditor", "org_manager", "doctor", "pharmacist", "lab_tech")
"""Roles that reach many patients' data or decide who may: a password alone is not enough.
Front desk and researchers are left out (docs/security.md, two-factor sign-in says why)."""


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Unset / "secantus:<dir>": embedded SecantusDB; "mongodb://...": real MongoDB;
    # "mongomock://": in-process fake for unit tests.
    MONGO_URI = os.environ.get("MONGO_URI", "")
    MONGO_DB = os.environ.get("MONGO_DB", "medledger")
    # Key files live in the instance folder unless a path is given; never in MongoDB.
    DATA_KEY_FILE = os.environ.get("DATA_KEY_FILE")
    LEDGER_KEY_FILE = os.environ.get("LEDGER_KEY_FILE")
    AUTHORITY_KEY_FILE = os.environ.get("AUTHORITY_KEY_FILE")
    LEDGER_ORIGIN = os.environ.get("LEDGER_ORIGIN", "medledger.local/ledger")
    GENERATE_MISSING_KEYS = True
    # Witnesses that cosign each checkpoint: "<url> <cosigner key>" entries separated by ";".
    LEDGER_WITNESSES = os.environ.get("LEDGER_WITNESSES", "")
    CHECKPOINT_EVERY_BLOCKS = _env_int("CHECKPOINT_EVERY_BLOCKS", 100)
    CHECKPOINT_EVERY_SECONDS = _env_int("CHECKPOINT_EVERY_SECONDS", 3600)
    # After a crash, finish the changes it left waiting for their blocks (in the background,
    # once in-flight requests of other processes must have ended).
    RECONCILE_AT_STARTUP = os.environ.get("RECONCILE_AT_STARTUP", "1") != "0"
    # The auditor page's full audit on this many processes (1: in the job's own thread); more
    # need a database other processes can open (the embedded server or MONGO_URI).
    AUDIT_WORKERS = _env_int("AUDIT_WORKERS", 1)

    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 15)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    LOCKOUT_THRESHOLD = _env_int("LOCKOUT_THRESHOLD", 5)
    LOCKOUT_MINUTES = _env_int("LOCKOUT_MINUTES", 15)
    BCRYPT_ROUNDS = _env_int("BCRYPT_ROUNDS", 12)

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "20 per minute")
    REGISTRATION_RATE_LIMIT = os.environ.get("REGISTRATION_RATE_LIMIT", "10 per minute")
    RATELIMIT_ENABLED = True
    # Two-factor sign-in (TOTP): the roles that must use it ("admin,doctor,..."; empty: none);
    # every account may turn it on. The code step is limited per address and per account.
    TWO_FACTOR_ROLES = _env_roles("TWO_FACTOR_ROLES", STAFF_TWO_FACTOR_ROLES)
    TWO_FACTOR_IP_LIMIT = os.environ.get("TWO_FACTOR_IP_LIMIT", "30 per minute")
    TWO_FACTOR_ACCOUNT_LIMIT = os.environ.get("TWO_FACTOR_ACCOUNT_LIMIT", "6 per minute")
    TWO_FACTOR_STEP_MINUTES = _env_int("TWO_FACTOR_STEP_MINUTES", 5)

    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    MAX_ATTACHMENT_BYTES = _env_int("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
    EMERGENCY_MINUTES = _env_int("EMERGENCY_MINUTES", 60)
    # Pages show times in this IANA zone (e.g. "Europe/Madrid"), with UTC on hover; stored
    # times and the ledger stay in UTC.
    TIMEZONE = os.environ.get("MEDLEDGER_TIMEZONE", "UTC")

    # Notifications: reads by one person fold into one unread notification for this long.
    NOTIFY_READ_GROUP_HOURS = _env_int("NOTIFY_READ_GROUP_HOURS", 24)
    # Optional e-mail of new notifications through the hospital's SMTP relay: off unless
    # SMTP_HOST is set; STARTTLS and login only when asked for. NOTIFY_EMAIL_LINK is the
    # notification page's full URL, printed in each message (none when unset).
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_FROM = os.environ.get("SMTP_FROM", "medledger@localhost")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "0") == "1"
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TIMEOUT = _env_int("SMTP_TIMEOUT", 10)
    NOTIFY_EMAIL_LINK = os.environ.get("NOTIFY_EMAIL_LINK", "")

    WTF_CSRF_TIME_LIMIT = None  # tied to the session, which has its own idle timeout
    BOOTSTRAP_SERVE_LOCAL = True
    FORCE_HTTPS = False
    PROXY_FIX = False
    DEBUG_KEYS_NOTE = ""

    @classmethod
    def validate(cls, config):
        """Hook for configs that must refuse to start; the base accepts anything."""


class DevelopmentConfig(Config):
    DEBUG = False
    # The demo signs its accounts in with a password alone unless TWO_FACTOR_ROLES is set
    # (README, "Demo accounts"); production keeps the staff list above.
    TWO_FACTOR_ROLES = _env_roles("TWO_FACTOR_ROLES", ())


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    MONGO_URI = "mongomock://"
    MONGO_DB = "medledger_test"
    BCRYPT_ROUNDS = 4
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = False
    RECONCILE_AT_STARTUP = False  # each test app would leave a timer behind; tests call it
    TWO_FACTOR_ROLES = ()  # tests that need it turn it on (tests/auth/test_two_factor*.py)


class ProductionConfig(Config):
    GENERATE_MISSING_KEYS = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    FORCE_HTTPS = False  # TLS ends at the reverse proxy; cookies stay Secure
    PROXY_FIX = True

    @classmethod
    def validate(cls, config):
        missing = [name for name in ("SECRET_KEY", "MONGO_URI", "DATA_KEY_FILE", "LEDGER_KEY_FILE",
                                     "AUTHORITY_KEY_FILE", "RATELIMIT_STORAGE_URI")
                   if not config.get(name)]
        if missing:
            raise RuntimeError("production configuration is missing: " + ", ".join(missing))
        if not config["MONGO_URI"].startswith(("mongodb://", "mongodb+srv://")):
            raise RuntimeError("production needs MONGO_URI pointing at a MongoDB replica set")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_class(name=None):
    name = name or os.environ.get("MEDLEDGER_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"unknown MEDLEDGER_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
