from flask import Blueprint

from monitor.returnees import controllers

bp = Blueprint("returnees", __name__, url_prefix="/returnees", template_folder="templates")

bp.add_url_rule("/", view_func=controllers.index)
bp.add_url_rule("/import", view_func=controllers.import_csv, methods=["GET", "POST"])
bp.add_url_rule("/<code>", view_func=controllers.detail)
bp.add_url_rule("/<code>/contact", view_func=controllers.reveal_contact, methods=["POST"])
bp.add_url_rule("/<code>/edit", view_func=controllers.edit, methods=["GET", "POST"])
bp.add_url_rule("/<code>/consent", view_func=controllers.record_consent, methods=["POST"])
bp.add_url_rule("/<code>/consent/withdraw", view_func=controllers.withdraw_consent, methods=["POST"])
bp.add_url_rule("/<code>/do-not-contact", view_func=controllers.do_not_contact, methods=["POST"])
bp.add_url_rule("/<code>/erase", view_func=controllers.erase, methods=["POST"])
