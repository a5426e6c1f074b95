from flask import Blueprint, current_app

from monitor.auth import controllers
from monitor.extensions import limiter

bp = Blueprint("auth", __name__, template_folder="templates")

_login_limit = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])

bp.add_url_rule("/login", view_func=_login_limit(controllers.login), methods=["GET", "POST"])
bp.add_url_rule("/login/code", view_func=_login_limit(controllers.second_step), methods=["GET", "POST"])
bp.add_url_rule("/account/second-factor", view_func=controllers.second_factor_page, methods=["GET", "POST"],
                endpoint="second_factor")
bp.add_url_rule("/account/second-factor/recovery-codes", view_func=controllers.recovery_codes, methods=["POST"])
bp.add_url_rule("/logout", view_func=controllers.logout, methods=["POST"])
bp.add_url_rule("/account", view_func=controllers.account, methods=["GET", "POST"])
bp.add_url_rule("/account/tokens", view_func=controllers.token_create, methods=["POST"])
bp.add_url_rule("/account/tokens/<int:token_id>/revoke", view_func=controllers.token_revoke, methods=["POST"])


# Until a user whose role requires a second factor has set one up, every staff page leads to
# the set-up page (logging out, the language switch and the returnee's pages excepted).
_OPEN_WHILE_ENROLLING = {"auth.second_factor", "auth.logout", "auth.login", "main.set_language", "main.health",
                         "dashboard.plotly_js",
                         "static"}


@bp.before_app_request
def require_second_factor():
    from flask import redirect, request, url_for
    from flask_login import current_user

    from monitor.auth.second_factor import needs_enrolment

    if request.endpoint in _OPEN_WHILE_ENROLLING or request.blueprint in ("respond", "sms", "api", "api-docs"):
        return None  # the API checks for itself (a token has no session to enrol in)
    if current_user.is_authenticated and needs_enrolment(current_user):
        return redirect(url_for("auth.second_factor"))
    return None
