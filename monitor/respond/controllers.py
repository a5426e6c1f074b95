"""The returnee's questionnaire, reached by a personal link: consent first, then one module a
page, in the returnee's language, with no JavaScript and no personal data on the page."""
from __future__ import annotations

from flask import abort, g, redirect, render_template, request, session, url_for

from monitor.extensions import db
from monitor.followups import operations as followups
from monitor.followups.links import link_is_open, open_link, resolve_link
from monitor.models import Returnee
from monitor.models.types import utcnow
from monitor.respond.errors import browser_language
from monitor.respond.pages import form_state, page_items
from monitor.responses import operations
from surveys import registry
from surveys.items import REQUIRED_MESSAGE, AnswerError
from surveys.translation import LANGUAGES, translator


def _language(link, response=None) -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session[f"lang-{link.id}"] = chosen
    # Kept for an error page later in the request (monitor/respond/errors.py).
    g.returnee_language = session.get(f"lang-{link.id}") or (response.language if response else link.returnee.language)
    return g.returnee_language


def _page(template: str, t, status: int = 200, **context):
    context.setdefault("link_token", request.view_args.get("token") if request.view_args else None)
    return render_template(f"respond/{template}", t=t, languages=LANGUAGES, **context), status


def _open(token: str):
    """The link, its response and the translator; or the page to show instead."""
    found = open_link(token, lock=request.method == "POST")
    if found is None:
        t = translator(browser_language())
        return None, _page("closed.html", t, 404, reason="unknown", partner=None)
    link, follow_up, response = found
    t = translator(_language(link, response))
    partner = link.returnee.local_partner or link.returnee.partner
    if link.declined_at is not None:
        return None, _page("closed.html", t, 200, reason="declined", partner=partner)
    # The follow-up's disposition too: a second press waited for the first one's lock and reads
    # the follow-up as it is now (its response row as it was when the statement began).
    if (response is not None and response.completed_at is not None) or (
            follow_up is not None and follow_up.disposition == "1.1"):
        return None, _page("closed.html", t, 200, reason="done", partner=partner)
    if follow_up is None or follow_up.state == "closed" or not link_is_open(link):
        return None, _page("closed.html", t, 410, reason="expired", partner=partner)
    return (link, follow_up, response, t), None


def start(token: str):
    opened, page = _open(token)
    if page:
        return page
    link, _follow_up, response, t = opened
    if link.consent_answered_at is None or response is None:
        questionnaire = registry.current()
        # Who asks: the partner the returnee knows (the local one, in their country).
        return _page("consent.html", t, questionnaire=questionnaire,
                     partner=link.returnee.local_partner or link.returnee.partner)
    return redirect(url_for("respond.module", token=token, module=_resume_module(response)))


def consent(token: str):
    opened, page = _open(token)
    if page:
        return page
    link, follow_up, response, t = opened
    choice = request.form.get("choice")
    if choice not in ("agree", "decline"):
        return redirect(url_for("respond.start", token=token))
    now = utcnow()
    link.consent_answered_at = now
    followups.mark_contacted(follow_up, now)  # a consent answer is contact, either way
    if choice == "decline":
        link.declined_at = now
        followups.close(follow_up, "declined_link", actor="returnee", at=now)
        db.session.commit()
        return redirect(url_for("respond.start", token=token))
    # The follow-up's row is locked and was read with its response: a missing one is created
    # without looking again. The page to go to is worked out before the commit expires the row.
    response = response or operations.new_response(follow_up, "sms-web", language=t.language)
    resume = _resume_module(response)
    db.session.commit()
    return redirect(url_for("respond.module", token=token, module=resume))


def opt_out(token: str):
    """For senders that cannot receive replies (alphanumeric sender IDs): the web's STOP."""
    link = resolve_link(token)
    if link is None:
        return _open(token)[1]
    def record():  # again if a follow-up moved meanwhile: an opt-out is never lost
        if followups.opt_out(db.session.get(Returnee, link.returnee_id), actor="returnee", via="link"):
            db.session.commit()

    followups.retrying_stale(record)
    returnee = db.session.get(Returnee, link.returnee_id)
    return _page("closed.html", translator(_language(link)), 200, reason="opted_out",
                 partner=returnee.local_partner or returnee.partner)


def _modules(response):
    questionnaire = operations.questionnaire_of(response)
    return questionnaire, questionnaire.modules_for(response.first_follow_up)


def _resume_module(response) -> str:
    _questionnaire, modules = _modules(response)
    codes = [m.code for m in modules]
    if response.reached_module in codes:
        return codes[min(codes.index(response.reached_module) + 1, len(codes) - 1)]
    return codes[0]


def module(token: str, module: str):
    opened, page = _open(token)
    if page:
        return page
    link, _follow_up, response, t = opened
    if response is None or link.consent_answered_at is None:
        return redirect(url_for("respond.start", token=token))
    questionnaire, modules = _modules(response)
    codes = [m.code for m in modules]
    if module not in codes:
        abort(404)
    current = questionnaire.module(module)
    index = codes.index(module)
    answers = operations.stored_answers(response)
    errors: dict[str, str] = {}

    if request.method == "POST":
        shown = set(request.form.getlist("shown")) & {item.code for item in current.items}
        submitted = {}
        for item in current.items:
            if item.code not in shown:
                continue
            try:
                submitted[item.code] = item.parse_form(request.form)
            except AnswerError as problem:
                errors[item.code] = t(problem.message, **problem.params)
        answers.update(submitted)
        items = page_items(questionnaire, current, answers, shown=shown)
        operations.save_answers(response, [i for i in current.items if i.code in submitted and i.code not in errors],
                                submitted, follow_up_locked=True)
        going_back = request.form.get("action") == "back"
        new_questions = {item.code for item in items} - shown
        if not going_back and not errors:
            for item in items:
                if item.required and item.code not in new_questions and answers.get(item.code) in (None, "", []):
                    errors[item.code] = t(REQUIRED_MESSAGE)
        if going_back:
            db.session.commit()
            return redirect(url_for("respond.module", token=token, module=codes[max(index - 1, 0)]))
        added = next((item.code for item in items if item.code in new_questions), None)
        if not errors and new_questions:
            # Post/redirect/get: the page comes back with its new questions, and the phone's
            # back button never lands on a form submission. It says that a question was added
            # and opens at it (#added), rather than at the top of the same page, unexplained.
            db.session.commit()
            return redirect(url_for("respond.module", token=token, module=module, added=added, _anchor="added"))
        if not errors:
            response.reached_module = _further(codes, response.reached_module, module)
            if index + 1 < len(codes):
                db.session.commit()
                return redirect(url_for("respond.module", token=token, module=codes[index + 1]))
            return _finish(token, response, questionnaire)
        db.session.commit()
        states = {item.code: form_state(item, answers, request.form) for item in items}
    else:
        items = page_items(questionnaire, current, answers)
        states = {item.code: form_state(item, answers) for item in items}
        added = request.args.get("added")
    return _page("module.html", t, questionnaire=questionnaire, module=current, items=items, states=states,
                 errors=errors, index=index, total=len(codes), added=added,
                 previous=codes[index - 1] if index else None, status=422 if errors else 200)


def _further(codes, reached, module):
    if reached in codes and codes.index(reached) > codes.index(module):
        return reached
    return module


def _finish(token, response, questionnaire):
    missing = questionnaire.missing_required(operations.stored_answers(response), response.first_follow_up)
    if missing:
        first = questionnaire.item(missing[0]).module
        db.session.commit()
        return redirect(url_for("respond.module", token=token, module=first))
    followups.complete_response(response, actor="returnee")
    db.session.commit()
    return redirect(url_for("respond.start", token=token))
