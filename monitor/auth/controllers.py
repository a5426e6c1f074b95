from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from monitor import audit, formatting
from monitor.auth.forms import LanguageForm, LoginForm, PasswordChangeForm
from monitor.auth.operations import authenticate
from monitor.extensions import db


def safe_next_url(target: str | None) -> str | None:
    """Only same-site paths: an open redirect after login is a phishing tool."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data)
        if result.ok:
            session.clear()  # a fresh session on login: no fixation
            login_user(result.user)
            return redirect(safe_next_url(request.args.get("next")) or url_for("main.home"))
        if result.locked_until:
            form.form_errors.append(_(
                "Too many failed attempts: this account is locked until %(time)s.",
                time=formatting.moment(result.locked_until)))
        else:
            form.form_errors.append(_("The e-mail address or the password is wrong."))
    return render_template("auth/login.html", form=form)


@login_required
def logout():
    audit.record("logout", current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@login_required
def account():
    password_form = PasswordChangeForm(prefix="pw")
    language_form = LanguageForm(prefix="lang", locale=current_user.locale or "en")
    if request.method == "POST" and "pw-submit" in request.form:
        if password_form.validate_on_submit():
            if not current_user.check_password(password_form.current_password.data):
                password_form.current_password.errors.append(_("The current password is wrong."))
            else:
                current_user.set_password(password_form.new_password.data)
                audit.record("user.password", current_user)
                db.session.commit()
                login_user(current_user._get_current_object())  # new session token: keep this session
                flash(_("Your password has been changed. Other sessions are logged out."), "success")
                return redirect(url_for("auth.account"))
    elif request.method == "POST" and language_form.validate_on_submit():
        current_user.locale = language_form.locale.data
        db.session.commit()
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", password_form=password_form, language_form=language_form)
