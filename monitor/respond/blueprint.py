from flask import Blueprint

from monitor.extensions import limiter
from monitor.respond import controllers

bp = Blueprint("respond", __name__, url_prefix="/s", template_folder="templates")
# Guessing links is pointless (128-bit tokens), and throttled per address all the same.
limiter.limit("120 per minute")(bp)

bp.add_url_rule("/<token>", view_func=controllers.start)
bp.add_url_rule("/<token>/consent", view_func=controllers.consent, methods=["POST"])
bp.add_url_rule("/<token>/opt-out", view_func=controllers.opt_out, methods=["POST"])
bp.add_url_rule("/<token>/<module>", view_func=controllers.module, methods=["GET", "POST"])
