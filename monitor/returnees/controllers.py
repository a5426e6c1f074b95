from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from monitor import audit, codes
from monitor.access import (
    can, get_returnee_or_404, import_scope, manages_everything, require, visible_organisations, visible_returnees,
)
from monitor.extensions import cipher, db
from monitor.models import AttentionItem, FollowUp, ImportJob, Response, Returnee
from monitor.models.types import utcnow
from monitor.responses import corrections
from monitor.responses.operations import questionnaire_of
from monitor.returnees import erasure, import_jobs, operations
from monitor.returnees.forms import (
    ConsentForm, DoNotContactForm, EraseForm, FilterForm, ImportForm, ReturneeForm, WithdrawConsentForm, country_choices,
)
from monitor.returnees.parsing import InvalidValue, parse_phone
from monitor.web_input import page_number
from surveys.translation import translator

PAGE_SIZE = 50


@require("returnees.read")
def index():
    organisations = db.session.scalars(visible_organisations(current_user)).all()
    form = FilterForm(request.args)
    present = db.session.scalars(visible_returnees(current_user).with_only_columns(Returnee.destination_country)
                                 .distinct()).all()
    form.country.choices = [("", "—")] + country_choices(present)
    form.organisation.choices = [("", "—")] + [(str(o.id), o.name) for o in organisations]
    form.channel.choices = [("", "—")] + [(c, str(label)) for c, label in codes.CHANNELS.items()]
    sees_needs = can(current_user, "worklist.use")  # red flags are for those who act on them
    if not sees_needs:
        form.status.choices = [c for c in form.status.choices if c[0] != "needs_attention"]

    stmt = visible_returnees(current_user)
    q = (form.q.data or "").strip()
    if q:
        stmt = stmt.where(_search_clause(q))
    if form.country.data:
        stmt = stmt.where(Returnee.destination_country == form.country.data)
    if form.organisation.data and form.organisation.data.isdigit():
        org_id = int(form.organisation.data)
        stmt = stmt.where(or_(Returnee.partner_id == org_id, Returnee.local_partner_id == org_id))
    if form.channel.data:
        stmt = stmt.where(Returnee.preferred_channel == form.channel.data)
    status = form.status.data
    if status == "contactable":
        stmt = stmt.where(Returnee.contactable_clause())
    elif status == "no_consent":
        stmt = stmt.where(~Returnee.consent_given)
    elif status == "withdrawn":
        stmt = stmt.where(Returnee.consent_withdrawn_at.is_not(None))
    elif status == "do_not_contact":
        stmt = stmt.where(Returnee.do_not_contact)
    elif status == "erased":
        stmt = stmt.where(Returnee.erased_at.is_not(None))
    elif status in ("planned", "invited", "reminded", "phone_task"):
        stmt = stmt.where(select(FollowUp.id).where(FollowUp.returnee_id == Returnee.id, FollowUp.state == status)
                          .exists())
    elif status == "needs_attention" and sees_needs:
        stmt = stmt.where(_open_needs().where(Response.returnee_id == Returnee.id).exists())

    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = page_number(request.args)
    returnees = db.session.scalars(
        stmt.order_by(Returnee.return_date.desc(), Returnee.code).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    args = {k: v for k, v in request.args.items() if k != "page"}
    ids = [r.id for r in returnees]
    current, needs = {}, {}  # the current follow-up and the open needs of each case on the page
    if ids:
        for follow_up in db.session.scalars(select(FollowUp).where(FollowUp.returnee_id.in_(ids))
                                            .order_by(FollowUp.window_opens, FollowUp.id)):
            current[follow_up.returnee_id] = _current(current.get(follow_up.returnee_id), follow_up)
    if ids and sees_needs:
        needs = dict(db.session.execute(_open_needs().with_only_columns(Response.returnee_id, func.count())
                                        .where(Response.returnee_id.in_(ids)).group_by(Response.returnee_id)).all())
    return render_template("returnees/index.html", form=form, returnees=returnees, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), args=args, current=current,
                           needs=needs)


def _open_needs():
    """Needs-attention items still open, with their response (whose returnee_id they belong to)."""
    return (select(AttentionItem.id).join(Response, Response.id == AttentionItem.response_id)
            .where(AttentionItem.closed_at.is_(None)))


def _current(chosen: FollowUp | None, follow_up: FollowUp) -> FollowUp:
    """A case's current follow-up, given in window order: the first one still open, else the
    last one closed."""
    if chosen is not None and chosen.state != "closed":
        return chosen
    return follow_up


def _search_clause(q: str):
    """A case code prefix; for staff who may see contact details, also a phone number."""
    clause = Returnee.code.ilike(q.replace("%", r"\%").replace("_", r"\_") + "%", escape="\\")
    if q.startswith("+") and can(current_user, "returnees.contact"):
        try:
            clause = or_(clause, Returnee.phone_lookup.in_(cipher.lookup_hashes(parse_phone(q, None))))
        except InvalidValue:
            pass
    return clause


@require("returnees.read")
def detail(code: str):
    returnee = get_returnee_or_404(current_user, code)
    return _render_detail(returnee, show_contact=False)


def _render_detail(returnee: Returnee, show_contact: bool):
    responses = db.session.scalars(select(Response).where(Response.returnee_id == returnee.id)
                                   .order_by(Response.started_at)).all()
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.returnee_id == returnee.id)
                                    .order_by(FollowUp.due_date)).all()
    # Needs attention: the open items first (oldest first), then what was done, latest first.
    items = [item for response in responses for item in response.attention_items]
    items = (sorted((i for i in items if i.is_open), key=lambda i: i.opened_at)
             + sorted((i for i in items if not i.is_open), key=lambda i: i.closed_at, reverse=True))
    # An interview is offered for the follow-ups open now (window open, not closed), as on the work
    # list; never for a wave planned for later, nor when the returnee refused contact.
    today = utcnow().date()
    interviewable = {f.id for f in follow_ups if f.state != "closed" and f.window_opens <= today <= f.window_closes
                     and returnee.refusal is None and can(current_user, "returnees.edit")}
    return render_template(
        "returnees/detail.html", returnee=returnee, show_contact=show_contact, responses=responses,
        follow_ups=follow_ups, attention_items=items, interviewable=interviewable,
        correctable={r.id for r in responses if corrections.correctable(r)},
        histories={r.id: _readable_history(r) for r in responses},
        consent_form=ConsentForm(prefix="consent"), withdraw_form=WithdrawConsentForm(prefix="withdraw"),
        dnc_form=DoNotContactForm(prefix="dnc"), erase_form=EraseForm(prefix="erase", code=returnee.code))


def _erased(returnee: Returnee) -> bool:
    """An erased case changes no more: its identity and consent cannot come back."""
    if returnee.erased_at is not None:
        flash(_("This case was erased: it cannot be changed, and nobody contacts the returnee again."), "error")
        return True
    return False


@require("returnees.erase")
def erase(code: str):
    returnee = get_returnee_or_404(current_user, code)
    form = EraseForm(prefix="erase", code=returnee.code)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("returnees.detail", code=code))
    done = erasure.erase_and_commit(returnee.id, reason=form.reason.data.strip(),
                                    with_answers=form.with_answers.data, user=current_user)
    if done.erased or done.responses:
        flash(_("The case's identity was erased.") if done.erased else _("The case's answers were deleted."), "success")
    else:
        flash(_("This case was erased before."), "info")
    return redirect(url_for("returnees.detail", code=code))


def _readable_history(response: Response) -> list[tuple[corrections.Correction, list[tuple[str, str, str]]]]:
    """A response's corrections with each changed answer as (question, before, after) in the
    staff member's language; free text only for those who may correct it."""
    found = corrections.history(response)
    if not found:
        return []
    questionnaire = questionnaire_of(response)
    staff_t = translator(str(get_locale()))
    show_text = can(current_user, "returnees.edit")
    order = {item.code: n for n, item in enumerate(questionnaire.items)}  # as the questions are asked
    return [(correction, [(corrections.item_label(questionnaire, code, staff_t),
                           corrections.readable(questionnaire, code, before, staff_t, show_text=show_text),
                           corrections.readable(questionnaire, code, after, staff_t, show_text=show_text))
                          for code, before, after in sorted(correction.changes, key=lambda c: order.get(c[0], 0))])
            for correction in found]


@require("returnees.contact")
def reveal_contact(code: str):
    returnee = get_returnee_or_404(current_user, code)  # a POST: CSRFProtect has checked the token
    audit.record("returnee.contact.view", returnee)
    db.session.commit()
    return _render_detail(returnee, show_contact=True)


@require("returnees.edit")
def edit(code: str):
    returnee = get_returnee_or_404(current_user, code)
    if _erased(returnee):
        return redirect(url_for("returnees.detail", code=code))
    admin = current_user.role == "admin"
    organisations = db.session.scalars(visible_organisations(current_user)).all()
    form = ReturneeForm(obj=returnee, organisations=organisations, show_organisations=admin,
                        has_stored_phone=returnee.phone is not None)
    if request.method == "GET":
        form.phone.data = ""  # the stored number is shown only on request, never pre-filled
        form.name.data = ""
    if form.validate_on_submit():
        values = form.case_values()
        if values.get("name") is None:
            values.pop("name")  # an empty box keeps the stored name
        changed = operations.update_case(returnee, values)
        db.session.commit()
        flash(_("Saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("returnees.detail", code=returnee.code))
    return render_template("returnees/edit.html", returnee=returnee, form=form)


@require("returnees.edit")
def record_consent(code: str):
    returnee = get_returnee_or_404(current_user, code)
    if _erased(returnee):
        return redirect(url_for("returnees.detail", code=code))
    form = ConsentForm(prefix="consent")
    if form.validate_on_submit():
        operations.give_consent(returnee, form.channels.data, form.method.data, user=current_user,
                                note=form.note.data or None)
        audit.record("returnee.consent.give", returnee, details={"channels": sorted(form.channels.data),
                                                                 "method": form.method.data})
        db.session.commit()
        flash(_("Consent recorded."), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(url_for("returnees.detail", code=code))


@require("returnees.edit")
def withdraw_consent(code: str):
    returnee = get_returnee_or_404(current_user, code)
    if _erased(returnee):
        return redirect(url_for("returnees.detail", code=code))
    form = WithdrawConsentForm(prefix="withdraw")
    if form.validate_on_submit():
        if operations.withdraw_consent(returnee, "verbal", user=current_user):
            db.session.commit()
            flash(_("Consent withdrawn: this returnee will not be contacted for the monitoring."), "success")
        else:
            flash(_("There was no consent to withdraw."), "info")
    else:
        flash(_("Tick the box to confirm the withdrawal."), "error")
    return redirect(url_for("returnees.detail", code=code))


@require("returnees.edit")
def do_not_contact(code: str):
    returnee = get_returnee_or_404(current_user, code)
    if _erased(returnee):
        return redirect(url_for("returnees.detail", code=code))
    form = DoNotContactForm(prefix="dnc")
    if form.validate_on_submit():
        value = request.form.get("value") == "1"
        if operations.set_do_not_contact(returnee, value, user=current_user):
            db.session.commit()
        flash(_("Marked do-not-contact.") if value else _("Do-not-contact removed."), "success")
    return redirect(url_for("returnees.detail", code=code))


@require("returnees.import")
def import_csv():
    """The upload answers at once: the import runs as a job, whose page follows it. A coordinator
    imports for its own reintegration partner only (the job reads the scope from its user)."""
    allowed, partner = import_scope(current_user)
    if not allowed:
        abort(403)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        job, made = import_jobs.submit(upload.read(), form_key=form.form_key.data, user=current_user,
                                       dry_run=form.dry_run.data, skip_invalid=form.skip_invalid.data,
                                       filename=upload.filename or "", locale=str(get_locale()))
        if job.user_id != current_user.id:
            abort(404)
        if made:
            import_jobs.start(current_app._get_current_object(), job.id)
        return redirect(url_for("returnees.import_job", job_id=job.id))
    return render_template("returnees/import.html", form=form, partner=partner)


@require("returnees.import")
def import_job(job_id: int):
    job = db.session.get(ImportJob, job_id)
    # An administrator follows any import; a coordinator only their own (its errors quote the rows).
    if job is None or (not manages_everything(current_user) and job.user_id != current_user.id):
        abort(404)
    if import_jobs.looks_stale(job):
        import_jobs.fail_stale_jobs()
        db.session.refresh(job)
    return render_template("returnees/import_job.html", job=job, report=import_jobs.job_report(job))
