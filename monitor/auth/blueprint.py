from flask import Blueprint, current_app

from monitor.auth import controllers
from monitor.extensions import limiter

bp = Blueprint("auth", __name__, template_folder="templates")

_login_limit = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])

bp.add_url_rule("/login", view_func=_login_limit(controllers.login), methods=["GET", "POST"])
bp.add_url_rule("/logout", view_func=controllers.logout, methods=["POST"])
bp.add_url_rule("/account", view_func=controllers.account, methods=["GET", "POST"])
bp.add_url_rule("/account/tokens", view_func=controllers.token_create, methods=["POST"])
bp.add_url_rule("/account/tokens/<int:token_id>/revoke", view_func=controllers.token_revoke, methods=["POST"])
