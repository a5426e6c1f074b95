from flask import Blueprint

from monitor.dashboard import controllers

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")

bp.add_url_rule("/", view_func=controllers.index)
bp.add_url_rule("/<section>.csv", view_func=controllers.download)
bp.add_url_rule("/plotly.min.js", view_func=controllers.plotly_js)
