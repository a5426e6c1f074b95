from flask import Blueprint

from monitor.interviews import controllers

bp = Blueprint("interviews", __name__, url_prefix="/interviews", template_folder="templates")

bp.add_url_rule("/<code>/<wave>", view_func=controllers.interview, methods=["GET", "POST"])
