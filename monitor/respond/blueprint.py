import hashlib

from flask import Blueprint, current_app, redirect, request, url_for
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from monitor.extensions import db, limiter
from monitor.respond import controllers

bp = Blueprint("respond", __name__, url_prefix="/s", template_folder="templates")


def _link_key() -> str:
    token = (request.view_args or {}).get("token", "")
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:32]


# Answering is limited per link, never per address: the returnees behind one carrier's shared
# address or a proxy must not slow each other down.
limiter.limit(lambda: current_app.config["SURVEY_LINK_RATE_LIMIT"], key_func=_link_key)(bp)
# Guessing links is pointless (128-bit tokens) and throttled per address all the same: only a
# lookup that finds no link counts (the address is the proxy's only with PROXY_FIX).
limiter.limit(lambda: current_app.config["LINK_GUESS_RATE_LIMIT"], key_func=get_remote_address,
              deduct_when=lambda response: response.status_code == 404)(bp)

bp.add_url_rule("/<token>", view_func=controllers.start)
bp.add_url_rule("/<token>/consent", view_func=controllers.consent, methods=["POST"])
bp.add_url_rule("/<token>/opt-out", view_func=controllers.opt_out, methods=["POST"])
bp.add_url_rule("/<token>/<module>", view_func=controllers.module, methods=["GET", "POST"])


@bp.errorhandler(StaleDataError)
@bp.errorhandler(IntegrityError)
def pressed_twice(error):
    """A second tap on a button the first tap already acted on (the follow-up moved, the response
    exists): nothing more to do; the returnee sees where things stand."""
    db.session.rollback()
    token = (request.view_args or {}).get("token")
    return redirect(url_for("respond.start", token=token)) if token else ("", 409)
