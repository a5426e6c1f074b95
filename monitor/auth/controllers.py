from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from monitor import audit, formatting
from monitor.auth import tokens
from monitor.auth.forms import LanguageForm, LoginForm, PasswordChangeForm, TokenForm
from monitor.auth.operations import authenticate
from monitor.extensions import db
from monitor.users.operations import UserError, check_password_strength


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
        result = authenticate(form.email.data, form.password.data, address=request.remote_addr or "")
        if result.ok:
            session.clear()  # a fresh session on login: no fixation
            # Permanent: the cookie is signed again on every request and refused once older than
            # SESSION_LIFETIME_MINUTES, so an idle session ends on the server's word.
            session.permanent = True
            login_user(result.user)
            return redirect(safe_next_url(request.args.get("next")) or url_for("main.home"))
        if result.wait_until:
            # The same words for an account that exists and one that does not.
            form.form_errors.append(_(
                "Too many failed attempts with this e-mail address: wait until %(time)s and try again.",
                time=formatting.moment(result.wait_until)))
        else:
            form.form_errors.append(_("The e-mail address or the password is wrong."))
    return render_template("auth/login.html", form=form)


@login_required
def logout():
    audit.record("logout", current_user)
    # The session ends on the server: a copy of the cookie taken before is refused from now on
    # (the account's other sessions end with it).
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _password_problem(password: str) -> str | None:
    try:
        check_password_strength(password, current_user.email)
    except UserError as problem:
        return str(problem)
    return None


@login_required
def account():
    password_form = PasswordChangeForm(prefix="pw")
    language_form = LanguageForm(prefix="lang", locale=current_user.locale or "en")
    if request.method == "POST" and "pw-submit" in request.form:
        if password_form.validate_on_submit():
            problem = _password_problem(password_form.new_password.data)
            if not current_user.check_password(password_form.current_password.data):
                password_form.current_password.errors.append(_("The current password is wrong."))
            elif problem:
                password_form.new_password.errors.append(problem)
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
    return _account_page(password_form=password_form, language_form=language_form)


def _account_page(**context):
    """The account page; a form sent from it comes back with its errors, the others blank."""
    context.setdefault("password_form", PasswordChangeForm(prefix="pw", formdata=None))
    context.setdefault("language_form", LanguageForm(prefix="lang", formdata=None, locale=current_user.locale or "en"))
    context.setdefault("token_form", TokenForm(prefix="token", formdata=None))
    return render_template("auth/account.html", api_tokens=tokens.tokens_of(current_user), **context)


@login_required
def token_create():
    """A new API token, shown on the page this once (never in a cookie or a redirect)."""
    form = TokenForm(prefix="token")
    if not form.validate_on_submit():
        return _account_page(token_form=form)
    token = tokens.create_token(current_user, form.name.data.strip(), form.form_key.data)
    if token is None:
        flash(_("This form was sent twice: the token was made the first time and is shown only once. If you did not "
                "copy it, revoke it and make another."), "info")
        return redirect(url_for("auth.account"))
    return _account_page(new_token=token)


@login_required
def token_revoke(token_id: int):
    revoked = tokens.revoke_token(current_user, token_id)
    if revoked is None:
        abort(404)  # another user's token, or none
    if revoked:
        flash(_("The token is revoked: it opens nothing any more."), "success")
    return redirect(url_for("auth.account"))
