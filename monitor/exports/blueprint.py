from flask import Blueprint

from monitor.exports import controllers

bp = Blueprint("exports", __name__, url_prefix="/exports", template_folder="templates")

bp.add_url_rule("/", view_func=controllers.index, methods=["GET", "POST"])
