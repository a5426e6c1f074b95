from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from monitor import audit, formatting
from monitor.auth import second_factor, tokens
from monitor.auth.forms import (
    LanguageForm, LoginForm, PasswordChangeForm, RecoveryCodesForm, SecondStepForm, TokenForm, TotpEnrolForm,
)
from monitor.auth.operations import authenticate, count_second_factor_failure, second_factor_wait, user_for_session_id
from monitor.extensions import db
from monitor.models import User
from monitor.users.operations import UserError, check_password_strength


# The login waiting for its second step: the user (id and session token, so a password change or
# a reset in between voids it), when the password was accepted, and where to go next.
PENDING = "second_factor_pending"
PENDING_SECONDS = 300


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
            next_url = safe_next_url(request.args.get("next"))
            if result.user.has_second_factor:
                # Not logged in yet: the password is right, a code from the app comes next.
                session[PENDING] = {"user": result.user.get_id(), "since": int(second_factor.now()),
                                    "next": next_url}
                return redirect(url_for("auth.second_step"))
            login_user(result.user)
            if second_factor.needs_enrolment(result.user):
                return redirect(url_for("auth.second_factor"))
            return redirect(next_url or url_for("main.home"))
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


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or second_factor.now() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user = user_for_session_id(pending.get("user", ""))
    return user if user is not None and user.has_second_factor else None


def second_step():
    """After the password: a code from the authenticator app, or a recovery code. Wrong codes
    count as failed logins (the same wait per account and address)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Log in again: the code was not entered in time."), "info")
        return redirect(url_for("auth.login"))
    form = SecondStepForm()
    if form.validate_on_submit():
        address = request.remote_addr or ""
        waiting = second_factor_wait(user, address)
        method = None if waiting else second_factor.verify(user, form.code.data)
        if method:
            next_url = session[PENDING].get("next")
            audit.record("login.second_factor", user, user=user, details={"second_factor_method": method})
            db.session.commit()
            session.clear()
            session.permanent = True
            login_user(user)
            if method == "recovery":
                left = second_factor.unused_recovery_codes(user)
                flash(_("You logged in with a recovery code; %(n)d are left. Make new ones on your account page "
                        "if you are running out, or ask an administrator to reset your second factor if your "
                        "phone is lost.", n=left), "info")
            return redirect(next_url or url_for("main.home"))
        db.session.rollback()
        wait_until = waiting or count_second_factor_failure(user, address)
        if wait_until:
            form.form_errors.append(_(
                "Too many failed attempts with this e-mail address: wait until %(time)s and try again.",
                time=formatting.moment(wait_until)))
        else:
            form.form_errors.append(_("The code is wrong or was used already. Wait for the next code and try again."))
    return render_template("auth/second_step.html", form=form)


@login_required
def second_factor_page():
    """Set up the authenticator app (a QR code and the secret in text), or, once set up, see how
    many recovery codes are left and make new ones."""
    user = current_user._get_current_object()
    if user.has_second_factor:
        return _second_factor_page(user, recovery_form=RecoveryCodesForm())
    form = TotpEnrolForm()
    if form.validate_on_submit():
        codes = second_factor.confirm_enrolment(user, form.code.data)
        if codes:
            login_user(user)  # this session has shown both factors
            return _second_factor_page(user, recovery_form=RecoveryCodesForm(formdata=None), new_codes=codes)
        if user.has_second_factor:  # the same form sent twice: the codes were shown the first time
            flash(_("The authenticator app was set up already; the recovery codes were shown then. If you did not "
                    "keep them, make new ones below."), "info")
            return redirect(url_for("auth.second_factor"))
        form.code.errors.append(_("The code is wrong or was used already. Wait for the next code and try again."))
    secret = second_factor.pending_secret(user)
    uri = second_factor.provisioning_uri(user, secret)
    qr = second_factor.qr_svg(uri, _("QR code for your authenticator app"))
    return render_template("auth/second_factor.html", form=form, secret=secret, qr=qr,
                           required=second_factor.required_for(user))


def _second_factor_page(user, **context):
    return render_template("auth/second_factor.html", recovery_left=second_factor.unused_recovery_codes(user),
                           **context)


@login_required
def recovery_codes():
    """A new set of recovery codes, against a current code from the app (the old set stops working)."""
    if not current_user.has_second_factor:
        return redirect(url_for("auth.second_factor"))
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        codes = second_factor.new_recovery_codes(current_user, form.code.data)
        if codes:
            return _second_factor_page(current_user, recovery_form=RecoveryCodesForm(formdata=None), new_codes=codes)
        form.code.errors.append(_("The code is wrong or was used already. Wait for the next code and try again."))
    return _second_factor_page(current_user, recovery_form=form)
