from flask import Blueprint

from monitor.attention import controllers

bp = Blueprint("attention", __name__, url_prefix="/needs", template_folder="templates")

bp.add_url_rule("/<int:item_id>/close", view_func=controllers.close, methods=["POST"])
