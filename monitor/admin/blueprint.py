from flask import Blueprint

from monitor.admin import controllers

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

bp.add_url_rule("/organisations", view_func=controllers.organisations)
bp.add_url_rule("/organisations/new", view_func=controllers.organisation_edit, methods=["GET", "POST"],
                endpoint="organisation_new")
bp.add_url_rule("/organisations/<int:org_id>", view_func=controllers.organisation_edit, methods=["GET", "POST"])
bp.add_url_rule("/users", view_func=controllers.users)
bp.add_url_rule("/users/new", view_func=controllers.user_edit, methods=["GET", "POST"], endpoint="user_new")
bp.add_url_rule("/users/<int:user_id>", view_func=controllers.user_edit, methods=["GET", "POST"])
bp.add_url_rule("/users/<int:user_id>/unlock", view_func=controllers.user_unlock, methods=["POST"])
bp.add_url_rule("/audit", view_func=controllers.audit_log)
bp.add_url_rule("/languages", view_func=controllers.languages)
bp.add_url_rule("/plan", view_func=controllers.plan, methods=["GET", "POST"])
bp.add_url_rule("/outbox", view_func=controllers.outbox)
bp.add_url_rule("/data-protection", view_func=controllers.data_protection)
