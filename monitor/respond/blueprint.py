from flask import Blueprint, redirect, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from monitor.extensions import db, limiter
from monitor.respond import controllers

bp = Blueprint("respond", __name__, url_prefix="/s", template_folder="templates")
# Guessing links is pointless (128-bit tokens), and throttled per address all the same.
limiter.limit("120 per minute")(bp)

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
