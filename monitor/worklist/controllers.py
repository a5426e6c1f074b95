"""The work list (the partner's home page) and the call attempt recorded from it."""
from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from monitor import audit, codes
from monitor.access import can, require, scope_to_user
from monitor.extensions import db
from monitor.followups.operations import local_moment, record_attempt, retrying_stale
from monitor.followups.waves import all_waves, describe
from monitor.models import AttentionItem, ContactAttempt, FollowUp, InboundMessage, Organisation, Response, Returnee
from monitor.models.types import utcnow
from monitor.returnees.forms import country_choices
from monitor.worklist import offline
from monitor.worklist.forms import AttemptForm, ExportForm, FilterForm

LIMIT = 100
CLOSING_SOON = timedelta(days=3)
_RANK = {"call_back_due": 0, "to_call": 1, "closing_soon": 2, "later": 3}


def _status(now):
    """Where a follow-up stands on the work list, in SQL (one GROUP BY gives the counts)."""
    phone = FollowUp.state == "phone_task"
    return case((and_(phone, FollowUp.callback_at <= now), "call_back_due"),
                (and_(phone, FollowUp.callback_at > now), "later"),
                (phone, "to_call"), else_="closing_soon")


def _scoped(stmt, organisation: Organisation | None):
    stmt = scope_to_user(stmt, current_user)
    if organisation is not None:
        stmt = stmt.where(or_(Returnee.partner_id == organisation.id, Returnee.local_partner_id == organisation.id))
    return stmt


def _organisation(args) -> Organisation | None:
    """An admin may open the list of any organisation (?organisation=CODE); staff see their own."""
    code = args.get("organisation", "").strip()
    if current_user.role != "admin" or not code:
        return None
    organisation = db.session.scalar(select(Organisation).where(Organisation.code == code[:40]))
    if organisation is None:
        abort(404)
    return organisation


@require("worklist.use")
def index():
    return _render()


@require("returnees.contact")
def contact(follow_up_id: int):
    """The list again, with this row's name and phone number: shown on request, on the POST's own
    answer (never on a URL that could be reloaded without an audit entry), each view audited."""
    follow_up = _visible_follow_up_or_404(follow_up_id)
    audit.record("returnee.contact.view", follow_up.returnee, details={"via": "worklist"})
    db.session.commit()
    return _render(shown=follow_up.id)


def _visible_follow_up_or_404(follow_up_id: int) -> FollowUp:
    follow_up = db.session.scalar(_scoped(select(FollowUp).join(Returnee, Returnee.id == FollowUp.returnee_id)
                                          .where(FollowUp.id == follow_up_id), None))
    if follow_up is None:
        abort(404)
    return follow_up


def _render(shown: int | None = None):
    now = utcnow()
    args = request.args if request.method == "GET" else _filters_of(_back())
    organisation = _organisation(args)
    status = _status(now)
    open_needs = (select(func.count()).select_from(AttentionItem).join(Response, Response.id == AttentionItem.response_id)
                  .where(Response.returnee_id == Returnee.id, AttentionItem.closed_at.is_(None)).scalar_subquery())
    unread = (select(func.count()).select_from(InboundMessage).where(
        InboundMessage.returnee_id == Returnee.id, InboundMessage.kind == "other", InboundMessage.read_at.is_(None))
        .scalar_subquery())
    needs_person = or_(FollowUp.state == "phone_task",
                       and_(FollowUp.state.in_(("invited", "reminded")),
                            FollowUp.window_closes <= (now + CLOSING_SOON).date()))
    base = _scoped(select(FollowUp.id).join(Returnee, Returnee.id == FollowUp.returnee_id).where(needs_person),
                   organisation)
    needs = _scoped(select(AttentionItem.id).select_from(AttentionItem).join(Response, Response.id == AttentionItem.response_id)
                    .join(Returnee, Returnee.id == Response.returnee_id)
                    .where(AttentionItem.closed_at.is_(None)), organisation)

    form = FilterForm(args)
    local_partners = db.session.scalars(
        _scoped(select(Organisation).join(Returnee, Returnee.local_partner_id == Organisation.id), organisation)
        .distinct().order_by(Organisation.name)).all()
    present = db.session.scalars(_scoped(select(Returnee.destination_country).distinct(), organisation)).all()
    form.country.choices = [("", "—")] + country_choices(present)  # the caseload's countries only
    form.wave.choices = [("", "—")] + [(w.code, describe(w)) for w in all_waves()]
    form.status.choices = [("", "—")] + [(k, str(v)) for k, v in codes.WORKLIST_STATUSES.items()]
    form.local_partner.choices = [("", "—")] + [(o.code, o.name) for o in local_partners]
    filtered, needs = _filtered(base, form, FollowUp.wave), _filtered(needs, form, Response.wave)
    counts = dict(db.session.execute(filtered.with_only_columns(status, func.count()).group_by(status)).all())
    counts["needs_attention"] = db.session.scalar(needs.with_only_columns(func.count()))
    show_tasks = form.status.data != "needs_attention"
    show_needs = form.status.data not in _RANK
    if form.status.data in _RANK:
        filtered = filtered.where(status == form.status.data)
    rank = case(*((status == key, value) for key, value in _RANK.items()))
    # Within a status, a case with red flags waiting comes first.
    rows = db.session.execute(
        filtered.with_only_columns(FollowUp, Returnee, status.label("status"), open_needs.label("open_needs"),
                                   unread.label("unread"))
        .order_by(rank, open_needs.desc(), FollowUp.callback_at, FollowUp.window_closes, FollowUp.id)
        .limit(LIMIT)).all() if show_tasks else []
    last = dict(db.session.execute(
        select(ContactAttempt.follow_up_id, func.max(ContactAttempt.at))
        .where(ContactAttempt.follow_up_id.in_([row.FollowUp.id for row in rows])).group_by(ContactAttempt.follow_up_id)
    ).all()) if rows else {}
    items = db.session.execute(
        needs.with_only_columns(AttentionItem, Response.wave, Returnee.code)
        .order_by(AttentionItem.opened_at, AttentionItem.id).limit(LIMIT)).all() if show_needs else []
    texts = db.session.execute(
        _scoped(select(InboundMessage, Returnee.code).join(Returnee, Returnee.id == InboundMessage.returnee_id)
                .where(InboundMessage.kind == "other", InboundMessage.read_at.is_(None)), organisation)
        .order_by(InboundMessage.received_at).limit(LIMIT)).all()
    return render_template("worklist/index.html", rows=rows, counts=counts, form=form, last=last, texts=texts,
                           items=items, show_tasks=show_tasks, show_needs=show_needs,
                           organisation=organisation, limit=LIMIT, now=now, back=_back(), shown=shown,
                           attempt_form=AttemptForm, may_see_contact=can(current_user, "returnees.contact"),
                           export_form=ExportForm(organisation=organisation.code if organisation else ""),
                           may_export=organisation is not None or current_user.role != "admin")


def _filtered(stmt, form: FilterForm, wave):
    """The list's filters (country, wave, local partner) on a statement over Returnee."""
    if form.country.data:
        stmt = stmt.where(Returnee.destination_country == form.country.data[:2])
    if form.wave.data:
        stmt = stmt.where(wave == form.wave.data[:20])
    if form.local_partner.data:
        stmt = stmt.where(Returnee.local_partner_id.in_(
            select(Organisation.id).where(Organisation.code == form.local_partner.data[:40])))
    return stmt


def _filters_of(back: str) -> MultiDict:
    """The filters of the list a form came from (its `back` address)."""
    return MultiDict([(k, v) for k, values in parse_qs(urlsplit(back).query).items() for v in values])


def _back() -> str:
    """The list's own address with its filters (where a recorded call returns to)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    back = request.form.get("back", "")
    return back if back.startswith("/worklist") else url_for("worklist.index")


@require("worklist.use")
def attempt(follow_up_id: int):
    form = AttemptForm()
    follow_up = _visible_follow_up_or_404(follow_up_id)
    back = _back()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(f"{follow_up.returnee.code}: {error}", "error")
        return redirect(back)
    if follow_up.state == "closed":
        flash(_("%(code)s: this follow-up is already closed.", code=follow_up.returnee.code), "info")
        return redirect(back)
    outcome, key = form.outcome.data, form.form_key.data
    callback = (local_moment(follow_up.returnee.destination_country, form.callback_day.data, form.callback_time.data)
                if outcome == "call_back" else None)

    def record() -> bool:
        if db.session.scalar(select(ContactAttempt.id).where(ContactAttempt.form_key == key)):
            return False  # pressed twice: the first press recorded it
        record_attempt(db.session.get(FollowUp, follow_up_id), outcome,
                       channel="visit" if outcome == "absent" else "phone", actor=current_user.email,
                       user=current_user, note=(form.note.data or "").strip() or None, callback_at=callback,
                       form_key=key)
        db.session.commit()
        return True

    try:
        retrying_stale(record)
    except IntegrityError:  # the same form sent twice at once: one attempt stands
        db.session.rollback()
    flash(_("%(code)s: %(outcome)s recorded.", code=follow_up.returnee.code, outcome=codes.CALL_OUTCOMES[outcome]),
          "success")
    return redirect(back)


@require("worklist.use")
def text_handled(message_id: int):
    """A text from a returnee, read and acted on: it leaves the list (once, however often pressed)."""
    found = db.session.execute(
        _scoped(select(InboundMessage.id, Returnee.code).join(Returnee, Returnee.id == InboundMessage.returnee_id)
                .where(InboundMessage.id == message_id), None)).first()
    if found is None:
        abort(404)
    marked = db.session.execute(update(InboundMessage).where(InboundMessage.id == message_id,
                                                             InboundMessage.read_at.is_(None))
                                .values(read_at=utcnow())).rowcount
    if marked:
        audit.record("inbound.handled", details={"case": found.code, "message": message_id})
    db.session.commit()
    flash(_("%(code)s: the text is marked handled.", code=found.code), "success")
    return redirect(_back())


@require("worklist.use")
def export():
    """The work list as a zip for KoboCollect / ODK Collect (monitor/worklist/offline.py): the
    organisation's own, or for an admin the one named; another organisation's answers 404."""
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    code = (form.organisation.data or request.args.get("organisation", "")).strip()[:40]
    if current_user.role == "admin" and not code:
        flash(_("Open the work list of one organisation to export it."), "error")
        return redirect(url_for("worklist.index"))
    if code:
        organisation = db.session.scalar(select(Organisation).where(Organisation.code == code))
    else:
        organisation = current_user.organisation
    if organisation is None:
        abort(404)
    try:
        export = offline.export_worklist(organisation, user=current_user)
    except offline.OutOfScope:
        abort(404)
    db.session.commit()
    reply = send_file(io.BytesIO(export.data), mimetype="application/zip", as_attachment=True,
                      download_name=offline.download_name(organisation, utcnow().date()))
    reply.headers["Cache-Control"] = "no-store"  # names and phone numbers: never in a cache
    return reply
