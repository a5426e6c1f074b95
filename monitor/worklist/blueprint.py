from flask import Blueprint

from monitor.worklist import controllers

bp = Blueprint("worklist", __name__, url_prefix="/worklist", template_folder="templates")

bp.add_url_rule("/", view_func=controllers.index)
bp.add_url_rule("/<int:follow_up_id>/attempt", view_func=controllers.attempt, methods=["POST"])
bp.add_url_rule("/<int:follow_up_id>/contact", view_func=controllers.contact, methods=["POST"])
bp.add_url_rule("/export", view_func=controllers.export, methods=["POST"])
bp.add_url_rule("/texts/<int:message_id>/handled", view_func=controllers.text_handled, methods=["POST"])
