"""Who an API request acts for: the user of its API token (`Authorization: Bearer <token>`),
or else the logged-in user of the session. A token acts with its user's role and organisation,
never opens a session, and is refused (401) when unknown, revoked or its user deactivated."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_smorest import abort

from monitor.access import can
from monitor.auth.second_factor import needs_enrolment
from monitor.auth.tokens import find_token, mark_used
from monitor.extensions import csrf, login_manager
from monitor.models import ApiToken, User

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Caller:
    user: User | None
    token: ApiToken | None = None
    presented_token: bool = False  # an Authorization header was sent (valid or not)


def caller() -> Caller:
    """Identify the request once (the rate limit asks first, then the blueprint)."""
    if "api_caller" not in g:
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _sep, value = header.strip().partition(" ")
            token = find_token(value.strip()) if scheme.lower() == "bearer" else None
            if token is not None:
                # The request acts as the token's user, whatever session cookie came with it;
                # nothing is written to the session (Flask-Login's own way to set the user).
                login_manager._update_request_context_with_user(token.user)
            g.api_caller = Caller(token.user if token else None, token, presented_token=True)
        else:
            g.api_caller = Caller(current_user._get_current_object() if current_user.is_authenticated else None)
    return g.api_caller


def rate_limit_key() -> str:
    """Each token and each user has its own budget; a request nobody is known for counts against
    its address (guessing tokens is rate-limited too)."""
    found = caller()
    if found.token is not None:
        return f"api-token:{found.token.id}"
    if found.user is not None:
        return f"api-user:{found.user.id}"
    return f"api-address:{get_remote_address()}"


def authenticate() -> None:
    """Before every API view: a known caller with access to the reports, the token's use noted;
    CSRF applies to a session's writes (the API has none yet), never to a token's."""
    found = caller()
    if found.user is None:
        if found.presented_token:
            abort(401, message=_("The API token is not valid: unknown, revoked, or its account is deactivated."),
                  headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        abort(401, message=_("Log in, or send an API token: Authorization: Bearer <token>."),
              headers={"WWW-Authenticate": "Bearer"})
    if found.token is None and needs_enrolment(found.user):
        abort(403, message=_("Set up your second factor on your account page first."))
    if not can(found.user, "reports.read"):
        abort(403, message=_("Your account does not give access to the reports."))
    if found.token is not None:
        mark_used(found.token)
    elif request.method not in SAFE_METHODS:
        csrf.protect()
