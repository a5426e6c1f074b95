"""Configuration from the environment, and the production guard."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from monitor.config import ConfigError, load_config

PRODUCTION = {
    "MONITOR_ENV": "production",
    "SECRET_KEY": "x" * 40,
    "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgresql://monitor@db.internal/monitor",
    "SMS_BACKEND": "twilio",
    "PUBLIC_BASE_URL": "https://monitor.example.org",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "secret-token",
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
}


def test_development_defaults_generate_secrets_once(tmp_path):
    first = load_config({}, instance_path=tmp_path)
    second = load_config({}, instance_path=tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 32
    assert first["DATA_ENCRYPTION_KEYS"] == second["DATA_ENCRYPTION_KEYS"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    assert first["SMS_BACKEND"] == "console"
    assert first["SESSION_COOKIE_SECURE"] is False


def test_production_accepts_a_complete_environment(tmp_path):
    config = load_config(PRODUCTION, instance_path=tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://monitor@db.internal/monitor"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("missing, message", [
    ("SECRET_KEY", "SECRET_KEY must be set"),
    ("DATA_ENCRYPTION_KEY", "DATA_ENCRYPTION_KEY must be set"),
    ("DATABASE_URL", "not SQLite"),
    ("SMS_BACKEND", "SMS_BACKEND must be chosen"),
    ("PUBLIC_BASE_URL", "PUBLIC_BASE_URL must be set"),
])
def test_production_refuses_development_defaults(tmp_path, missing, message):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=message):
        load_config(env, instance_path=tmp_path)


def test_production_refuses_a_plain_http_base_url(tmp_path):
    with pytest.raises(ConfigError, match="https://"):
        load_config(PRODUCTION | {"PUBLIC_BASE_URL": "http://monitor.example.org"}, instance_path=tmp_path)


@pytest.mark.parametrize("env, expected", [
    ({}, "http://127.0.0.1:5000"),
    ({"FLASK_RUN_PORT": "5123"}, "http://127.0.0.1:5123"),
    ({"FLASK_RUN_HOST": "localhost", "FLASK_RUN_PORT": "8080"}, "http://localhost:8080"),
    ({"FLASK_RUN_HOST": "0.0.0.0", "FLASK_RUN_PORT": "8080"}, "http://127.0.0.1:8080"),
    ({"FLASK_RUN_HOST": "::1", "FLASK_RUN_PORT": "8080"}, "http://[::1]:8080"),
    ({"FLASK_RUN_PORT": "8080", "PUBLIC_BASE_URL": "https://tunnel.example.org/"}, "https://tunnel.example.org"),
])
def test_development_links_follow_the_address_the_app_runs_on(tmp_path, env, expected):
    """The returnee's link in the outbox opens on the app that `make run` (or `monitor run` with
    FLASK_RUN_HOST / FLASK_RUN_PORT) started, unless PUBLIC_BASE_URL says otherwise."""
    assert load_config(env, instance_path=tmp_path)["PUBLIC_BASE_URL"] == expected


def test_only_development_follows_the_run_address(tmp_path):
    env = {"MONITOR_ENV": "testing", "FLASK_RUN_PORT": "5123"}
    assert load_config(env, instance_path=tmp_path)["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        load_config({k: v for k, v in PRODUCTION.items() if k != "PUBLIC_BASE_URL"} | {"FLASK_RUN_PORT": "443"},
                    instance_path=tmp_path)


def test_production_refuses_a_short_secret(tmp_path):
    with pytest.raises(ConfigError, match="at least 32"):
        load_config(PRODUCTION | {"SECRET_KEY": "short"}, instance_path=tmp_path)


@pytest.mark.parametrize("env, message", [
    ({"MONITOR_ENV": "staging"}, "MONITOR_ENV"),
    ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND"),
    ({"DATA_ENCRYPTION_KEY": "not-a-key"}, "Fernet"),
    ({"REPORT_SUPPRESSION_THRESHOLD": "five"}, "REPORT_SUPPRESSION_THRESHOLD"),
    ({"REPORT_SUPPRESSION_THRESHOLD": "1"}, "REPORT_SUPPRESSION_THRESHOLD"),
])
def test_bad_values_are_named(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env, instance_path=tmp_path)


def test_key_rotation_keeps_old_data_readable(tmp_path):
    from monitor import create_app
    from monitor.extensions import cipher

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    base = {"MONITOR_ENV": "testing", "MONITOR_INSTANCE_PATH": str(tmp_path)}
    with create_app(env=base | {"DATA_ENCRYPTION_KEY": old}).app_context():
        token = cipher.encrypt("+995555123456")
    with create_app(env=base | {"DATA_ENCRYPTION_KEY": f"{new},{old}"}).app_context():
        assert cipher.decrypt(token) == "+995555123456"
    with create_app(env=base | {"DATA_ENCRYPTION_KEY": new}).app_context():
        with pytest.raises(RuntimeError, match="cannot be decrypted"):
            cipher.decrypt(token)


def test_cli_refuses_to_start_in_production_on_defaults(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "monitor.cli", "routes"], capture_output=True, text=True,
                            env={"MONITOR_ENV": "production", "MONITOR_INSTANCE_PATH": str(tmp_path), "PATH": ""})
    assert result.returncode != 0
    assert "refusing to start in production" in result.stderr


def test_create_app_keeps_secrets_in_monitor_instance_path(tmp_path):
    from monitor import create_app

    app = create_app(env={"MONITOR_ENV": "testing", "MONITOR_INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.instance_path == str(tmp_path / "inst")
    assert (tmp_path / "inst" / "secret_key").exists()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'monitor.sqlite'}"


def test_twilio_backend_needs_its_credentials(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if not k.startswith("TWILIO_MESSAGING")}
    with pytest.raises(ConfigError, match="TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM"):
        load_config(env, instance_path=tmp_path)
    config = load_config(env | {"TWILIO_FROM": "Caritas"}, instance_path=tmp_path)
    assert config["TWILIO_FROM"] == "Caritas" and config["TWILIO_API_BASE_URL"] == ""


SAFE = {**PRODUCTION, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "PROXY_FIX": "true"}


def _check_config(tmp_path, env: dict, **config):
    """`monitor check-config` in an app built from `env` (`config` as set by the code, such as a
    setting no environment variable gives yet)."""
    from monitor import create_app

    app = create_app(env={**env, "MONITOR_INSTANCE_PATH": str(tmp_path)}, refuse_unsafe=False)
    app.config.update(config)
    with app.app_context():
        return app.test_cli_runner().invoke(args=["check-config"])


def test_check_config_passes_a_safe_production_configuration(tmp_path):
    result = _check_config(tmp_path, SAFE, TOTP_REQUIRED=True)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "configuration: production, 0 unsafe settings, 0 warnings"


@pytest.mark.parametrize("env, config, unsafe", [
    ({"FLASK_DEBUG": "1"}, {}, "debug mode is on"),
    ({}, {"DEBUG": True}, "debug mode is on"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, {}, "memory:// with an unknown number of gunicorn workers"),
    ({"RATELIMIT_STORAGE_URI": "memory://", "WEB_CONCURRENCY": "4"}, {}, "memory:// with 4 gunicorn workers"),
    ({"RATELIMIT_STORAGE_URI": "memory://", "GUNICORN_CMD_ARGS": "--bind 127.0.0.1:8000 -w 3"}, {},
     "memory:// with 3 gunicorn workers"),
    ({"RATELIMIT_ENABLED": "false"}, {}, "RATELIMIT_ENABLED is false"),
    ({}, {"TOTP_REQUIRED": False}, "TOTP_REQUIRED is off"),
    ({}, {"PUBLIC_BASE_URL": "http://monitor.example.org"}, "PUBLIC_BASE_URL is not an https:// address"),
    ({}, {"SQLALCHEMY_DATABASE_URI": "sqlite:////srv/monitor.sqlite"}, "DATABASE_URL is SQLite"),
])
def test_check_config_fails_production_on_an_unsafe_setting(tmp_path, monkeypatch, env, config, unsafe):
    if "FLASK_DEBUG" in env:
        monkeypatch.setenv("FLASK_DEBUG", env["FLASK_DEBUG"])  # Flask reads it from the process
    result = _check_config(tmp_path, SAFE | env, **{"TOTP_REQUIRED": True, **config})
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("unsafe:")] == [
        line for line in result.stderr.splitlines() if unsafe in line]
    assert "production, 1 unsafe setting," in result.stdout


def test_check_config_allows_one_worker_with_memory_limits(tmp_path):
    result = _check_config(tmp_path, SAFE | {"RATELIMIT_STORAGE_URI": "memory://", "WEB_CONCURRENCY": "1"},
                           TOTP_REQUIRED=True)
    assert result.exit_code == 0, result.stderr


def test_check_config_lists_what_stops_production_from_starting(tmp_path):
    """The command line, in a process of its own: the app refuses to start, check-config says why."""
    import subprocess
    import sys

    env = {"MONITOR_ENV": "production", "MONITOR_INSTANCE_PATH": str(tmp_path), "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "check-config"], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    unsafe = [line for line in result.stderr.splitlines() if line.startswith("unsafe:")]
    for expected in ("SECRET_KEY is a development key", "DATA_ENCRYPTION_KEY is a development key",
                     "DATABASE_URL is SQLite", "RATELIMIT_STORAGE_URI is memory://",
                     "PUBLIC_BASE_URL is not an https:// address", "TOTP_REQUIRED is off"):
        assert any(expected in line for line in unsafe), (expected, result.stderr)
    assert "warning: PROXY_FIX is false" in result.stderr


def test_check_config_names_a_value_that_cannot_be_used(tmp_path):
    import subprocess
    import sys

    env = {**SAFE, "DATA_ENCRYPTION_KEY": "not-a-key", "MONITOR_INSTANCE_PATH": str(tmp_path), "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "check-config"], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: DATA_ENCRYPTION_KEY must be one or more Fernet keys" in result.stderr


def test_check_config_lists_but_passes_in_development(tmp_path):
    result = _check_config(tmp_path, {"MONITOR_ENV": "development"})
    assert result.exit_code == 0
    assert "unsafe: DATABASE_URL is SQLite" in result.stderr
    assert "acceptable outside production" in result.stdout
