from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from monitor.extensions import db

from monitor.interviews import controllers
from monitor.interviews.conditions import describe


bp = Blueprint("interviews", __name__, url_prefix="/interviews", template_folder="templates")

bp.add_url_rule("/<code>/<wave>", view_func=controllers.interview, methods=["GET", "POST"])
bp.add_url_rule("/<code>/<wave>/correct", view_func=controllers.correct, methods=["GET", "POST"])


@bp.context_processor
def skip_logic_in_words():
    return {"condition_text": describe}


@bp.errorhandler(StaleDataError)
@bp.errorhandler(IntegrityError)
def pressed_twice(error):
    """A second press of "Save" while the first is being saved (the response was just created, or
    the follow-up just closed): the first one stands; the interviewer sees what is stored."""
    db.session.rollback()
    args = request.view_args or {}
    flash(_("This interview changed while it was being saved; here is what is stored now. Check it and save "
            "again if something is missing."), "info")
    return redirect(url_for("interviews.interview", code=args.get("code"), wave=args.get("wave")))
