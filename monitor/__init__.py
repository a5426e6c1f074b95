"""The post-return monitoring web application."""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from babel import Locale
from flask import Flask, current_app, has_request_context, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from monitor import codes
from monitor.config import config_warnings, load_config, unsafe_settings
from monitor.extensions import babel, cipher, compress, csrf, db, limiter, login_manager, migrate
from monitor.web_input import has_control_characters

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None, env: dict | None = None, *, refuse_unsafe: bool = True) -> Flask:
    """Application factory. `config` overrides what the environment (`env`, default
    os.environ) gives; tests use both. An unsafe production configuration raises ConfigError
    unless `refuse_unsafe` is false (`monitor check-config` lists the problems instead)."""
    instance = (os.environ if env is None else env).get("MONITOR_INSTANCE_PATH")
    app = Flask(__name__, instance_path=os.path.abspath(instance) if instance else None,
                instance_relative_config=True)
    app.config.update(load_config(env, instance_path=app.instance_path, refuse_unsafe=refuse_unsafe))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
    app.config.update(config or {})
    if app.config["MONITOR_ENV"] == "production" and refuse_unsafe:  # check-config prints its own list
        for warning in unsafe_settings(app.config) + config_warnings(app.config):
            app.logger.warning("configuration: %s", warning)

    from monitor.logs import init_logging
    init_logging()

    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    import monitor.models  # noqa: F401  (register the tables)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    cipher.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    _init_login(app)

    from monitor.admin.blueprint import bp as admin_bp
    from monitor.attention.blueprint import bp as attention_bp
    from monitor.auth.blueprint import bp as auth_bp
    from monitor.exports.blueprint import bp as exports_bp
    from monitor.dashboard.blueprint import bp as dashboard_bp
    from monitor.interviews.blueprint import bp as interviews_bp
    from monitor.main.blueprint import bp as main_bp
    from monitor.respond.blueprint import bp as respond_bp
    from monitor.sms.webhooks import bp as sms_bp
    from monitor.returnees.blueprint import bp as returnees_bp
    from monitor.worklist.blueprint import bp as worklist_bp

    for blueprint in (main_bp, auth_bp, admin_bp, returnees_bp, worklist_bp, attention_bp, respond_bp, interviews_bp,
                      sms_bp, exports_bp, dashboard_bp):
        app.register_blueprint(blueprint)
    from monitor.api import init_api
    init_api(app)

    _init_templates(app)
    _init_errors(app)
    _init_security_headers(app)

    from monitor.cli import register_commands
    register_commands(app)
    return app


def _select_locale() -> str:
    if not has_request_context():  # the CLI and the scheduler speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    locales = list(current_app.config["STAFF_LOCALES"])
    if current_user and current_user.is_authenticated and current_user.locale in locales:
        return current_user.locale
    if session.get("locale") in locales:
        return session["locale"]
    return request.accept_languages.best_match(locales) or "en"


def _init_login(app: Flask) -> None:
    from monitor.auth.operations import user_for_session_id

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        return user_for_session_id(user_id)


def _init_templates(app: Flask) -> None:
    from monitor.access import can

    def country_name(alpha2: str | None) -> str:
        if not alpha2:
            return ""
        return Locale.parse(str(get_locale())).territories.get(alpha2, alpha2)

    def flag_label(code: str) -> str:
        """A red flag's label in the staff member's language (the flags are defined, and
        translated, with the questionnaire)."""
        from flask import g

        from surveys import registry
        from surveys.translation import translator

        if "_flag_labels" not in g:
            staff_t = translator(str(get_locale()))
            g._flag_labels = {flag.code: staff_t(flag.label)
                              for q in registry.all_versions().values() for flag in q.flags}
        return g._flag_labels.get(code, code)

    from monitor.models.types import utcnow

    from monitor.followups.waves import wave_name

    from monitor import formatting

    app.jinja_env.globals["static_url"] = _static_url
    app.jinja_env.globals.update(can=can, codes=codes, wave_name=wave_name, country_name=country_name, now_utc=utcnow,
                                 get_locale=get_locale, text_direction=formatting.direction,
                                 staff_languages=formatting.staff_languages,
                                 language_name=formatting.language_name, flag_label=flag_label)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # Dates and numbers as the user's language writes them: {{ x|date }}, {{ x|datetime }},
    # {{ x|number }}, {{ x|number(2) }}, {{ x|percent }} (monitor/formatting.py).
    app.jinja_env.filters.update(formatting.FILTERS)


def _static_url(filename: str) -> str:
    """A static file's address with its content's hash (`?v=...`): cached for a year by the
    browser, and a new address as soon as the file changes."""
    return url_for("static", filename=filename, v=_content_hash(filename))


@functools.cache
def _content_hash(filename: str) -> str:
    return hashlib.sha256((Path(current_app.static_folder) / filename).read_bytes()).hexdigest()[:12]


def _init_errors(app: Flask) -> None:
    from monitor.api import errors as api_errors

    from monitor.respond.errors import on_returnee_page, returnee_error_page

    def page(status: int, title: str, message: str):
        if api_errors.is_api_request():  # the API answers in JSON, never with a page
            return api_errors.json_error(status, message)
        if on_returnee_page():  # a returnee's link: their language and layout, never the staff's
            return returnee_error_page(status)
        return render_template("error.html", status=status, title=title, message=message), status

    @app.before_request
    def refuse_control_characters():
        # One place for every form and address; Twilio's webhooks strip them instead (a STOP
        # must never be refused), monitor/sms/webhooks.py.
        if request.blueprint == "sms":
            return None
        values = [*(request.view_args or {}).values(), *request.args.values()]
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += request.form.values()
        if has_control_characters(values) or has_control_characters([request.path]):
            return page(400, _("Bad request"),
                        _("The form or the address holds a control character (such as NUL) that cannot be accepted. "
                          "Remove it and try again."))
        return None

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return page(400, _("The form has expired"),
                    _("For your security the form could not be accepted. Go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if api_errors.is_api_request():
            return api_errors.from_http_exception(error)
        messages = {
            400: (_("Bad request"), _("The request could not be understood.")),
            403: (_("Not allowed"), _("Your account does not give access to this page.")),
            404: (_("Not found"), _("There is no such page, or it is not yours to see.")),
            405: (_("Method not allowed"), _("This page cannot be used that way.")),
            409: (_("Changed meanwhile"),
                  _("Someone or something changed this record while you were saving. Reload the page and try again.")),
            413: (_("File too large"), _("The file is larger than the upload limit.")),
            429: (_("Too many attempts"), _("Too many attempts in a short time. Wait a minute and try again.")),
            503: (_("Temporarily unavailable"),
                  _("The service is unavailable for a moment (maintenance or the database). Try again in a few minutes.")),
        }
        # Werkzeug's own texts are English: any other code gets a translated generic page.
        title, message = messages.get(error.code, (_("The request could not be completed"),
                                                   _("Go back and try again; if it happens again, tell an administrator.")))
        return page(error.code or 500, title, message)

    @app.errorhandler(StaleDataError)
    def changed_meanwhile(error):
        # Another process (the scheduler, a colleague) changed the same follow-up a moment before:
        # nothing was saved by this request, nothing stored is lost.
        db.session.rollback()
        return page(409, _("Changed meanwhile"),
                    _("Someone or something changed this record while you were saving. Reload the page and try again."))

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeoutError)
    def database_error(error: Exception):
        if isinstance(error, DBAPIError) and not (isinstance(error, (OperationalError, InterfaceError))
                                                  or error.connection_invalidated):
            return server_error(error)  # a fault of the statement, not of the connection
        return database_unavailable(error)

    def database_unavailable(error: Exception):
        # The database is out of reach (restarting, failing over, the pool exhausted): a clear
        # "try again", never a traceback. Whatever this request was saving is not saved (its
        # transaction never committed); whatever was saved before is kept. The pool's pre-ping
        # replaces the dead connections once the database is back.
        app.logger.warning("database unavailable: %s", type(getattr(error, "orig", None) or error).__name__)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001  (the connection is gone; the session is reset below)
            pass
        db.session.remove()
        # Nothing below may reach for the database again: no user loaded from it for the page.
        from flask import g
        g._login_user = login_manager.anonymous_user()
        if on_returnee_page():
            answer = returnee_error_page(503, database=False)  # "try again; what you sent before is saved"
        elif request.blueprint == "sms":
            answer = "", 503  # Twilio's fallback URL, if set; a STOP missed still comes back as error 21610
        else:
            answer = page(503, _("Temporarily unavailable"),
                          _("The service is unavailable for a moment (maintenance or the database). "
                            "Try again in a few minutes."))
        response = app.make_response(answer)
        response.headers["Retry-After"] = "30"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return page(500, _("Something went wrong"),
                    _("The error has been logged. Nothing you had saved before is lost."))


def _init_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["MONITOR_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint == "static" and response.status_code == 200:
            filename = (request.view_args or {}).get("filename", "")
            if request.args.get("v") and request.args["v"] == _content_hash(filename):
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            else:
                response.headers["Cache-Control"] = "no-cache"
        elif request.endpoint not in ("dashboard.plotly_js", "main.favicon") and (current_user.is_authenticated
                                                         or request.blueprint == "respond"):
            # Staff pages and a returnee's answers hold personal data: never in a shared cache
            # nor in the browser's back-forward history after logout.
            response.headers["Cache-Control"] = "no-store"
        return response
