from flask import current_app, redirect, request, session, url_for
from flask_login import current_user

from monitor.auth.controllers import safe_next_url
from monitor.extensions import db


def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    # Partner staff start their day on the work list; the dashboard will be the analysts' home.
    if current_user.role == "partner":
        return redirect(url_for("worklist.index"))
    return redirect(url_for("returnees.index"))


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
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
