"""The interviewer's form: partner staff fill in the questionnaire during a call or a visit, in
their own interface language with every question also in the returnee's language."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from monitor import audit, codes
from monitor.access import get_returnee_or_404, require
from monitor.extensions import db
from monitor.followups import operations as followups
from monitor.respond.pages import form_state
from monitor.responses import operations
from surveys import registry
from surveys.items import REQUIRED_MESSAGE, AnswerError
from surveys.translation import translator

INTERVIEW_MODES = ("phone", "visit")


@require("returnees.edit")
def interview(code: str, wave: str):
    # The scheduler may move the follow-up while the interviewer saves: the save is done again
    # on what is stored now, never lost.
    return followups.retrying_stale(lambda: _interview(code, wave))


def _interview(code: str, wave: str):
    returnee = get_returnee_or_404(current_user, code)
    follow_up = followups.follow_up_for(returnee, wave)
    if follow_up is None:  # an interview belongs to a follow-up that the plan (or an import) made
        abort(404)
    if returnee.refusal is not None:
        flash(_("This returnee asked not to be contacted, or withdrew consent: no interview."), "error")
        return redirect(url_for("returnees.detail", code=code))
    response = operations.find_response(follow_up)
    if follow_up.state == "closed":
        # A second press of "complete" or "stopped" finds what the first stored: not a lost form.
        pressed_again = (request.form.get("action") == "stopped"
                         or (response is not None and response.completed_at is not None
                             and follow_up.disposition == "1.1"))
        if request.method == "POST" and not pressed_again:
            # closed while the form was open (its window, say): keep the answers on screen
            flash(_("This follow-up closed while the form was open; the answers below were not saved."), "error")
            return _closed_form(returnee, follow_up, response, wave), 409
        flash(_("This follow-up is already closed."), "info")
        return redirect(url_for("returnees.detail", code=code))
    questionnaire = operations.questionnaire_of(response) if response else registry.current()
    first_follow_up = response.first_follow_up if response else operations.asks_once_only_modules(returnee)
    staff_t = translator(str(get_locale()))
    returnee_t = translator(response.language if response else returnee.language)
    modules = questionnaire.modules_for(first_follow_up)
    items = [item for module in modules for item in module.items]
    answers = operations.stored_answers(response) if response else {}
    errors: dict[str, str] = {}
    mode = request.form.get("mode", response.mode if response else "phone")

    if request.method == "POST":
        if mode not in INTERVIEW_MODES:
            abort(400)
        submitted = {}
        for item in items:
            try:
                submitted[item.code] = item.parse_form(request.form)
            except AnswerError as problem:
                errors[item.code] = staff_t(problem.message, **problem.params)
        answers.update(submitted)
        completing = request.form.get("action") == "complete"
        if completing:
            for missing in questionnaire.missing_required(answers, first_follow_up):
                errors.setdefault(missing, staff_t(REQUIRED_MESSAGE))
        if response is None:
            response = operations.start_response(follow_up, mode, questionnaire=questionnaire,
                                                 interviewer=current_user)
        response.mode = mode
        response.interviewer_id = current_user.id
        followups.mark_contacted(follow_up)  # answers entered: the returnee was reached
        operations.save_answers(response, [i for i in items if i.code not in errors], submitted)
        if request.form.get("action") == "stopped":
            # Refused to go on, or broke off: what was answered is kept; the disposition table
            # makes it partial (1.2), a break-off (2.12) or a refusal (2.11).
            code = followups.close(follow_up, "refused", actor=current_user.email, detail="stopped during the interview")
            db.session.commit()
            flash(_("The interview stopped; recorded as %(label)s (AAPOR %(code)s).", code=code,
                    label=codes.DISPOSITIONS.get(code, code)), "info")
            return redirect(url_for("returnees.detail", code=returnee.code))
        if completing and not errors:
            followups.complete_response(response, user=current_user)
            db.session.commit()
            flash(_("Interview saved as complete."), "success")
            return redirect(url_for("returnees.detail", code=code))
        audit.record("response.save", response, details={"wave": wave, "mode": mode})
        db.session.commit()
        if errors:
            flash(_("Some answers need attention; the others are saved."), "error")
        else:
            flash(_("Saved. You can continue later."), "success")
            return redirect(url_for("interviews.interview", code=code, wave=wave))
        states = {item.code: form_state(item, answers, request.form) for item in items}
    else:
        states = {item.code: form_state(item, answers) for item in items}
    return render_template("interviews/interview.html", returnee=returnee, wave=wave, follow_up=follow_up,
                           questionnaire=questionnaire,
                           modules=modules, states=states, errors=errors, t=staff_t, t2=returnee_t,
                           mode=mode, modes=INTERVIEW_MODES, response=response), 422 if errors else 200


def _closed_form(returnee, follow_up, response, wave: str):
    questionnaire = operations.questionnaire_of(response) if response else registry.current()
    modules = questionnaire.modules_for(response.first_follow_up if response else True)
    states = {item.code: form_state(item, {}, request.form) for module in modules for item in module.items}
    return render_template("interviews/interview.html", returnee=returnee, wave=wave, follow_up=follow_up,
                           questionnaire=questionnaire, modules=modules, states=states, errors={},
                           t=translator(str(get_locale())), t2=translator(returnee.language),
                           mode=request.form.get("mode", "phone"), modes=INTERVIEW_MODES, response=response)
