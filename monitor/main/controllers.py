from flask import current_app, redirect, request, send_from_directory, session, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from monitor.auth.controllers import safe_next_url
from monitor.extensions import db


def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    # Partner staff start their day on the work list; analysts and admins on the dashboard.
    if current_user.role == "partner":
        return redirect(url_for("worklist.index"))
    return redirect(url_for("dashboard.index"))


def set_language():
    """The language switcher in the header; works for anonymous visitors too."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["STAFF_LOCALES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(safe_next_url(request.form.get("next")) or url_for("main.home"))


def health():
    """For the load balancer and the operator: JSON always, 503 while the database is out of
    reach; the pool's pre-ping replaces dead connections, so it recovers by itself."""
    try:
        db.session.execute(db.text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable (%s)", type(error).__name__)
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


FAVICON_MAX_AGE = 7 * 24 * 3600


def favicon():
    """The tab's icon (172 bytes, tools/make_favicon.py), asked for by every browser at this
    address: cached for a week, never the error page."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/x-icon",
                               max_age=FAVICON_MAX_AGE)
