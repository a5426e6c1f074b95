from flask import Blueprint

from monitor.main import controllers

bp = Blueprint("main", __name__, template_folder="templates")

bp.add_url_rule("/", view_func=controllers.home)
bp.add_url_rule("/language", view_func=controllers.set_language, methods=["POST"])
bp.add_url_rule("/health", view_func=controllers.health)
bp.add_url_rule("/favicon.ico", view_func=controllers.favicon)
