"""The interviewer's form: partner staff fill in the questionnaire during a call or a visit, in
their own interface language with every question also in the returnee's language."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from monitor import audit, codes
from monitor.access import get_returnee_or_404, require
from monitor.extensions import db
from monitor.followups import operations as followups
from monitor.respond.pages import form_state
from monitor.responses import corrections, operations
from surveys import registry
from surveys.items import REQUIRED_MESSAGE, AnswerError
from surveys.translation import LANGUAGE_NAMES, LANGUAGES, translator

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
    modules = questionnaire.modules_for(first_follow_up)
    items = [item for module in modules for item in module.items]
    answers = operations.stored_answers(response) if response else {}
    errors: dict[str, str] = {}
    mode = request.form.get("mode", response.mode if response else "phone")
    # The language the interview is held in: the returnee's by default; the second column of the
    # form follows it.
    language = request.form.get("language", response.language if response else returnee.language)

    if request.method == "POST":
        if mode not in INTERVIEW_MODES or language not in LANGUAGES:
            abort(400)  # a select of the form: only a forged request sends another value
        submitted, errors = _parsed(items, staff_t)
        answers.update(submitted)
        completing = request.form.get("action") == "complete"
        if completing:
            for missing in questionnaire.missing_required(answers, first_follow_up):
                errors.setdefault(missing, staff_t(REQUIRED_MESSAGE))
        if response is None:
            response = operations.start_response(follow_up, mode, language=language, questionnaire=questionnaire,
                                                 interviewer=current_user)
        response.mode = mode
        response.language = language
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
        audit.record("response.save", response, details={"wave": wave, "mode": mode, "language": language})
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
                           modules=modules, states=states, errors=errors, t=staff_t, t2=translator(language),
                           mode=mode, modes=INTERVIEW_MODES, language=language, languages=LANGUAGE_NAMES,
                           response=response), 422 if errors else 200


def _parsed(items, staff_t) -> tuple[dict, dict[str, str]]:
    """The form's answers to `items`, and the message (in the staff language) of each that
    cannot be taken."""
    submitted, errors = {}, {}
    for item in items:
        try:
            submitted[item.code] = item.parse_form(request.form)
        except AnswerError as problem:
            errors[item.code] = staff_t(problem.message, **problem.params)
    return submitted, errors


def _closed_form(returnee, follow_up, response, wave: str):
    questionnaire = operations.questionnaire_of(response) if response else registry.current()
    modules = questionnaire.modules_for(response.first_follow_up if response else True)
    states = {item.code: form_state(item, {}, request.form) for module in modules for item in module.items}
    language = request.form.get("language", returnee.language)
    return render_template("interviews/interview.html", returnee=returnee, wave=wave, follow_up=follow_up,
                           questionnaire=questionnaire, modules=modules, states=states, errors={},
                           t=translator(str(get_locale())), t2=translator(language),
                           mode=request.form.get("mode", "phone"), modes=INTERVIEW_MODES, language=language,
                           languages=LANGUAGE_NAMES, response=response)


@require("returnees.edit")
def correct(code: str, wave: str):
    """A closed interview corrected: its stored answers in the same form, a reason required; the
    version replaced is kept (monitor/responses/corrections.py). Answers and reason stay on
    screen when something is wrong, and when someone else corrected the interview meanwhile."""
    returnee = get_returnee_or_404(current_user, code)
    follow_up = followups.follow_up_for(returnee, wave)
    if follow_up is None:
        abort(404)
    if returnee.erased_at is not None:  # its free text and reasons are gone; none come back
        flash(_("This case was erased: it cannot be changed, and nobody contacts the returnee again."), "error")
        return redirect(url_for("returnees.detail", code=code))
    response = operations.find_response(follow_up)
    if response is None or not corrections.correctable(response):
        flash(_("Only a closed interview that kept its answers can be corrected; an open one is continued "
                "with Interview."), "info")
        return redirect(url_for("returnees.detail", code=code))
    questionnaire = operations.questionnaire_of(response)
    staff_t = translator(str(get_locale()))
    modules = questionnaire.modules_for(response.first_follow_up)
    items = [item for module in modules for item in module.items]
    modes = INTERVIEW_MODES if response.mode in INTERVIEW_MODES else (response.mode, *INTERVIEW_MODES)
    mode = request.form.get("mode", response.mode)
    language = request.form.get("language", response.language)
    reason = " ".join(request.form.get("reason", "").split())
    based_on = corrections.latest_revision(response)
    errors: dict[str, str] = {}
    pending: list[tuple[str, str, str]] = []  # after a conflict: what saving would still change
    status = 200
    if request.method == "GET":
        states = {item.code: form_state(item, operations.stored_answers(response)) for item in items}
    else:
        revision_field = request.form.get("revision", "")
        if mode not in modes or language not in LANGUAGES or not revision_field.isdigit():
            abort(400)  # selects and a hidden field of the form: only a forged request differs
        based_on = int(revision_field)  # kept when the form comes back: a later correction is not overwritten unseen
        submitted, errors = _parsed(items, staff_t)
        if follow_up.disposition == "1.1":  # a complete interview stays complete
            answers = corrections.corrected_answers(operations.stored_answers(response), items, submitted)
            for missing in questionnaire.missing_required(answers, response.first_follow_up):
                errors.setdefault(missing, staff_t(REQUIRED_MESSAGE))
        if not reason:
            errors["reason"] = _("Say why the answers are corrected.")
        elif len(reason) > corrections.REASON_MAX_LENGTH:
            errors["reason"] = _("Please keep the reason under %(max)s characters.", max=corrections.REASON_MAX_LENGTH)
        status = 422 if errors else 200
        if not errors:
            try:
                revision = corrections.correct_response(
                    response, items, submitted, reason=reason, based_on=based_on, mode=mode,
                    language=language, user=current_user)
                db.session.commit()
            except IntegrityError:  # another correction of the version this form showed was stored first
                db.session.rollback()
                based_on = corrections.latest_revision(response)
                stored = operations.stored_answers(response)
                wanted = corrections.corrected_answers(stored, items, submitted)
                order = {item.code: n for n, item in enumerate(items)}
                changes = sorted(corrections.changed_items(stored, wanted), key=lambda c: order.get(c, 0))
                if not changes and (mode, language) == (response.mode, response.language):
                    flash(_("This correction is saved already."), "info")  # the same correction, pressed twice
                    return redirect(url_for("returnees.detail", code=code))
                pending = [(corrections.item_label(questionnaire, c, staff_t),
                            corrections.readable(questionnaire, c, stored.get(c), staff_t),
                            corrections.readable(questionnaire, c, wanted.get(c), staff_t)) for c in changes]
                flash(_("Someone corrected this interview while you were working on it: your correction was not "
                        "saved. Your answers are below; look again at what differs from the stored ones and save "
                        "if they are still right."), "error")
                status = 409
            else:
                if revision is None:
                    flash(_("Nothing was changed."), "info")
                else:
                    flash(_("Correction saved; the earlier answers are kept in the history."), "success")
                return redirect(url_for("returnees.detail", code=code))
        else:
            flash(_("Nothing was saved: some answers need attention."), "error")
        states = {item.code: form_state(item, {}, request.form) for item in items}
    return render_template("interviews/interview.html", returnee=returnee, wave=wave, follow_up=follow_up,
                           questionnaire=questionnaire, modules=modules, states=states, errors=errors, t=staff_t,
                           t2=translator(language), mode=mode, modes=modes, language=language,
                           languages=LANGUAGE_NAMES, response=response, correcting=True, reason=reason,
                           revision=based_on, pending=pending), status
