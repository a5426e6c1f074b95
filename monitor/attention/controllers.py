from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from monitor import codes
from monitor.access import require, scope_to_user
from monitor.attention.forms import CloseForm
from monitor.attention.operations import close_item
from monitor.extensions import db
from monitor.models import AttentionItem, Response, Returnee


@require("worklist.use")
def close(item_id: int):
    """Close an item with what was done, from the work list or the case page (back where it
    came from). Another organisation's item answers 404."""
    found = db.session.execute(scope_to_user(
        select(AttentionItem, Returnee.code).join(Response, Response.id == AttentionItem.response_id)
        .join(Returnee, Returnee.id == Response.returnee_id).where(AttentionItem.id == item_id), current_user)).first()
    if found is None:
        abort(404)
    item, code = found
    back = _back(code)
    form = CloseForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(f"{code}: {error}", "error")
        return redirect(back)
    if close_item(item, form.action.data, (form.note.data or "").strip() or None, user=current_user):
        flash(_("%(code)s: closed (%(action)s).", code=code, action=codes.ATTENTION_ACTIONS[form.action.data]),
              "success")
    else:
        flash(_("%(code)s: this item was already closed.", code=code), "info")
    db.session.commit()
    return redirect(back)


def _back(code: str) -> str:
    """Where the form came from: the work list (with its filters) or the case page."""
    back = request.form.get("back", "")
    if back.startswith(("/worklist/", "/returnees/")) and "//" not in back:
        return back
    return url_for("returnees.detail", code=code)
