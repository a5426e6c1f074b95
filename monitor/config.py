"""Configuration from the environment, with safe development defaults.

Every setting is read once, in `load_config`, so the README's list of environment variables
and this module stay in step. In production the app refuses to start on a development default.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

ENVIRONMENTS = ("development", "testing", "production")
SMS_BACKENDS = ("console", "twilio")
# The staff interface's languages (each a `messages` catalog under translations/): the programme's
# (English, French, Dutch) and the working languages of the local partners (Russian in Georgia
# and Armenia, Arabic in Iraq and Morocco, written right to left).
STAFF_LOCALES = ("en", "fr", "nl", "ru", "ar")


class ConfigError(RuntimeError):
    """The environment does not describe a configuration this app may run with."""


@dataclass(frozen=True)
class _Secret:
    value: str
    from_environment: bool


def _instance_secret(instance_path: Path, filename: str, generate) -> _Secret:
    """A secret kept in instance/ (created on first run, never committed)."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / filename
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate())
    return _Secret(path.read_text().strip(), from_environment=False)


def _secret(env: dict, name: str, instance_path: Path, filename: str, generate) -> _Secret:
    value = env.get(name, "").strip()
    if value:
        return _Secret(value, from_environment=True)
    return _instance_secret(instance_path, filename, generate)


def _development_base_url(env: dict) -> str:
    """Where the development server listens, as `monitor run` reads it from the environment
    (FLASK_RUN_HOST, FLASK_RUN_PORT; `make run` sets both from HOST and PORT, for the web app and
    the scheduler alike): the links in the outbox open on the app that is running. An address
    that means every interface (0.0.0.0, ::) is reached on this machine as 127.0.0.1."""
    host = env.get("FLASK_RUN_HOST", "").strip() or "127.0.0.1"
    port = env.get("FLASK_RUN_PORT", "").strip() or "5000"
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


def _gunicorn_workers(env: dict) -> int | None:
    """The number of gunicorn workers the environment asks for (WEB_CONCURRENCY, or -w/--workers
    in GUNICORN_CMD_ARGS), None when it does not say."""
    match = re.search(r"(?:^|\s)(?:-w\s*|--workers[=\s]+)(\d+)", env.get("GUNICORN_CMD_ARGS", ""))
    value = match.group(1) if match else env.get("WEB_CONCURRENCY", "").strip()
    return int(value) if value.isdigit() else None


def _whole_number(env: dict, name: str, default: str) -> int:
    """A setting that must be a whole number: 0 when it is not one (the caller says what is allowed)."""
    try:
        return int(env.get(name, default))
    except ValueError:
        return 0


def load_config(env: dict | None = None, instance_path: Path | str | None = None, *,
                refuse_unsafe: bool = True) -> dict:
    """Build the Flask config mapping from environment variables. In production an unsafe
    configuration raises ConfigError (unless `refuse_unsafe` is false: `monitor check-config`
    lists the problems instead)."""
    env = dict(os.environ if env is None else env)
    instance_path = Path(instance_path or env.get("MONITOR_INSTANCE_PATH") or Path.cwd() / "instance")
    environment = env.get("MONITOR_ENV", "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"MONITOR_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    production = environment == "production"

    database_url = env.get("DATABASE_URL", "").strip()
    if not database_url:
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'monitor.sqlite'}"
    elif database_url.startswith("postgresql://"):
        # The psycopg 3 driver is the one installed.
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    secret_key = _secret(env, "SECRET_KEY", instance_path, "secret_key", lambda: secrets.token_urlsafe(48))
    encryption_key = _secret(
        env, "DATA_ENCRYPTION_KEY", instance_path, "data_encryption_key",
        lambda: Fernet.generate_key().decode())
    encryption_keys = [k.strip() for k in encryption_key.value.split(",") if k.strip()]
    for key in encryption_keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "DATA_ENCRYPTION_KEY must be one or more Fernet keys separated by commas "
                "(make one with: monitor generate-key)") from exc

    sms_backend = env.get("SMS_BACKEND", "console").strip().lower()
    if sms_backend not in SMS_BACKENDS:
        raise ConfigError(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}, not {sms_backend!r}")
    public_base_url = (env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
                       or (_development_base_url(env) if environment == "development" else "http://127.0.0.1:5000"))
    twilio = {name: env.get(name, "").strip() for name in (
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_FROM", "TWILIO_API_BASE_URL")}
    if sms_backend == "twilio":
        missing = [n for n in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not twilio[n]]
        if not (twilio["TWILIO_MESSAGING_SERVICE_SID"] or twilio["TWILIO_FROM"]):
            missing.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM")
        if missing:
            raise ConfigError("SMS_BACKEND=twilio needs " + ", ".join(missing))

    suppression_threshold = _whole_number(env, "REPORT_SUPPRESSION_THRESHOLD", "5")
    if suppression_threshold < 2:
        raise ConfigError("REPORT_SUPPRESSION_THRESHOLD must be a whole number of at least 2 (5 by default, "
                          "10 for the stricter statistical-office rule)")

    totp_required = env.get("TOTP_REQUIRED", "true" if production else "false").strip().lower()
    if totp_required not in ("true", "false"):
        raise ConfigError(f"TOTP_REQUIRED must be true or false, not {totp_required!r}")

    retention_months = _whole_number(env, "RETENTION_MONTHS", "12")
    if retention_months < 1:
        raise ConfigError("RETENTION_MONTHS must be a whole number of months of at least 1 (12 by default): how long "
                          "names and phone numbers are kept after a case's last wave closes")

    config = {
        "MONITOR_ENV": environment,
        "TESTING": environment == "testing",
        "SECRET_KEY": secret_key.value,
        "DATA_ENCRYPTION_KEYS": encryption_keys,
        # Generated into instance/ (development keys), not given by the environment.
        "SECRET_KEY_GENERATED": not secret_key.from_environment,
        "DATA_ENCRYPTION_KEY_GENERATED": not encryption_key.from_environment,
        "GUNICORN_WORKERS": _gunicorn_workers(env),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # hide_parameters: the values of a failed statement (a name, a number) stay out of the
        # exception's message and so out of the logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "SMS_BACKEND": sms_backend,
        "PUBLIC_BASE_URL": public_base_url,
        **twilio,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Brussels",
        "STAFF_LOCALES": STAFF_LOCALES,
        # Hardened cookies: not readable from scripts, not sent cross-site, HTTPS-only in production.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "monitor_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": int(env.get("SESSION_LIFETIME_MINUTES", "480")) * 60,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        # Login throttling: per account (lockout) and per client address (rate limit).
        "LOGIN_MAX_FAILURES": int(env.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT_MINUTES": int(env.get("LOGIN_LOCKOUT_MINUTES", "15")),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "true").lower() != "false",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "20 per minute"),
        "SURVEY_LINK_RATE_LIMIT": env.get("SURVEY_LINK_RATE_LIMIT", "120 per minute"),
        "LINK_GUESS_RATE_LIMIT": env.get("LINK_GUESS_RATE_LIMIT", "30 per minute"),
        # Requests to /api/v1/ per API token (or per logged-in user, or per address when neither).
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "60 per minute"),
        "PROXY_FIX": env.get("PROXY_FIX", "false").lower() == "true",
        # Disclosure control of published figures: counts under it are shown as "<5".
        "REPORT_SUPPRESSION_THRESHOLD": suppression_threshold,
        # Admins, analysts and coordinators log in with a code from an authenticator app too.
        "TOTP_REQUIRED": totp_required == "true",

        # Names and phone numbers are purged this many months after a case's last wave closes.
        "RETENTION_MONTHS": retention_months,
        # A web import job with no sign of life for this long stopped with its process: failed.
        "IMPORT_JOB_STALE_SECONDS": int(env.get("IMPORT_JOB_STALE_SECONDS", "600")),
    }

    if production and refuse_unsafe:
        problems = []
        if not secret_key.from_environment:
            problems.append("SECRET_KEY must be set in the environment")
        elif len(secret_key.value) < 32:
            problems.append("SECRET_KEY must be at least 32 characters")
        if not encryption_key.from_environment:
            problems.append("DATA_ENCRYPTION_KEY must be set in the environment")
        if database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must point at PostgreSQL, not SQLite")
        if "SMS_BACKEND" not in env:
            problems.append("SMS_BACKEND must be chosen explicitly (console or twilio)")
        if not env.get("PUBLIC_BASE_URL", "").strip():
            problems.append("PUBLIC_BASE_URL must be set (the https:// address returnees' links point to)")
        elif not public_base_url.startswith("https://"):
            problems.append("PUBLIC_BASE_URL must be an https:// address")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))
    return config


def unsafe_settings(config: dict) -> list[str]:
    """Settings that must not run in production, whatever the environment says it is (listed by
    `monitor check-config`, which fails on any of them in production)."""
    found = []
    if config.get("DEBUG"):
        found.append("debug mode is on (FLASK_DEBUG): tracebacks and the debugger are shown to whoever asks; "
                     "unset FLASK_DEBUG")
    if config.get("SECRET_KEY_GENERATED"):
        found.append("SECRET_KEY is a development key generated into instance/; set it in the environment")
    elif len(config.get("SECRET_KEY") or "") < 32:
        found.append("SECRET_KEY is shorter than 32 characters")
    if config.get("DATA_ENCRYPTION_KEY_GENERATED"):
        found.append("DATA_ENCRYPTION_KEY is a development key generated into instance/; set it in the environment "
                     "(monitor generate-key) and keep a copy apart from the database backups")
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        found.append("DATABASE_URL is SQLite: use PostgreSQL (one writer at a time, no pg_dump backups)")
    workers = config.get("GUNICORN_WORKERS")
    if (config.get("RATELIMIT_ENABLED", True) and config.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory://")
            and workers != 1):
        found.append("RATELIMIT_STORAGE_URI is memory:// with "
                     + (f"{workers} gunicorn workers" if workers else "an unknown number of gunicorn workers")
                     + ": each worker counts its own limits (4 workers allow 4 times the configured rate); "
                     "use redis://127.0.0.1:6379")
    if not config.get("RATELIMIT_ENABLED", True):
        found.append("RATELIMIT_ENABLED is false: logins and survey links are not throttled")
    if not str(config.get("PUBLIC_BASE_URL", "")).startswith("https://"):
        found.append("PUBLIC_BASE_URL is not an https:// address: returnees' links and staff logins travel in clear")
    if not config.get("TOTP_REQUIRED"):
        found.append("TOTP_REQUIRED is off: staff log in with a password alone")
    return found


def config_warnings(config: dict) -> list[str]:
    """Advice: what works but is probably not meant like this in production (printed by
    `monitor check-config` without failing it; logged at start with the unsafe settings)."""
    found = []
    if config.get("MONITOR_ENV") == "production":
        if not config.get("PROXY_FIX"):
            found.append("PROXY_FIX is false: behind a reverse proxy every client has the proxy's address "
                         "(rate limits and the audit log then see one client); set PROXY_FIX=true there")
    return found
