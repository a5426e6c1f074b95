"""Error pages on a returnee's link (`/s/...`): in the returnee's language and layout, never
the staff's, and never a stack trace."""
from __future__ import annotations

from flask import g, render_template, request, session
from sqlalchemy.exc import SQLAlchemyError

from monitor.extensions import db
from monitor.followups.links import resolve_link
from surveys.translation import LANGUAGES, translator

# What the returnee can do about it: check the link, send the page again, wait, or come back.
_KINDS = {404: "not_found", 410: "not_found", 400: "not_sent", 405: "not_sent", 413: "not_sent", 429: "too_many"}


def on_returnee_page() -> bool:
    return request.path == "/s" or request.path.startswith("/s/")


def browser_language() -> str:
    """The returnee language the browser asks for first (English when none)."""
    accepted = request.accept_languages.best_match([lang.replace("_", "-") for lang in LANGUAGES], "en")
    return accepted.replace("-", "_")


def returnee_language(*, database: bool = True) -> str:
    """The language the returnee reads their pages in: as chosen on the page, else their link's
    (the page's own choice when it got that far), else their browser's. Without `database` (it
    is out of reach) the link is not looked up."""
    if g.get("returnee_language"):
        return g.returnee_language
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    token = request.path.split("/")[2] if request.path.count("/") >= 2 else ""
    if not database:
        return browser_language()
    try:
        link = resolve_link(token)
        if link is not None:
            return session.get(f"lang-{link.id}") or link.returnee.language or browser_language()
    except SQLAlchemyError:  # the error may be the database itself: the browser's language then
        db.session.rollback()
    return browser_language()


def returnee_error_page(status: int, *, database: bool = True):
    t = translator(returnee_language(database=database))
    return render_template("respond/error.html", t=t, languages=LANGUAGES, link_token=None,
                           kind=_KINDS.get(status, "failed")), status
