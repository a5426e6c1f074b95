from __future__ import annotations

from datetime import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from wtforms.validators import InputRequired

from monitor import access, audit, codes
from monitor.access import require
from monitor.admin.forms import OrganisationForm, PlanForm, SecondFactorResetForm, UserForm, contact_settings_data
from monitor.auth import second_factor
from monitor.extensions import db
from monitor.models import AuditEntry, ContactSettings, LoginThrottle, Organisation, Returnee, SmsMessage, User, Wave
from monitor.models.types import utcnow
from monitor.models.users import ORGANISATION_ROLES
from monitor.users.operations import UserError, create_user, update_user
from monitor.auth.operations import account_key, clear_waits
from monitor.web_input import page_number
from scheduler.dispatch import held_by_sending_hours
from surveys.translation import LANGUAGES, catalog_messages, review_status, translator

AUDIT_PAGE_SIZE = 100


@require("organisations.manage")
def organisations():
    partners = db.session.scalars(select(Organisation).where(Organisation.parent_id.is_(None))
                                  .order_by(Organisation.name)).all()
    own = access.managed_partner(current_user)
    if not access.manages_everything(current_user):
        partners = [org for org in partners if own is not None and org.id == own.id]
    editable = {org.id for partner in partners for org in [partner, *partner.local_partners]
                if access.may_manage_organisation(current_user, org)}
    return render_template("admin/organisations.html", partners=partners, editable=editable)


@require("organisations.manage")
def organisation_edit(org_id: int | None = None):
    """An admin edits any organisation; a coordinator adds and edits its own partner's local
    partners (another's, or a reintegration partner, answers 404)."""
    own = access.managed_partner(current_user)
    everything = access.manages_everything(current_user)
    if not everything and own is None:
        abort(403)
    org = db.session.get(Organisation, org_id) if org_id else Organisation(active=True)
    if org is None or (org_id and not access.may_manage_organisation(current_user, org)):
        abort(404)
    if everything:
        parents = db.session.scalars(select(Organisation).where(Organisation.kind == "reintegration",
                                                                Organisation.id != (org.id or 0))).all()
    else:
        parents = [own]
        if org.id is None:
            org.kind, org.parent_id = "local", own.id
    form = OrganisationForm(obj=org, parents=parents)
    if not everything:  # a coordinator's organisations are its partner's local partners
        form.kind.choices = [("local", codes.ORGANISATION_KINDS["local"])]
        form.parent_id.choices = [(own.id, own.name)]
    if form.is_submitted():
        valid = form.validate()
        if form.code.data and db.session.scalar(select(Organisation.id).where(
                func.lower(Organisation.code) == form.code.data.lower(), Organisation.id != (org.id or 0))):
            form.code.errors = [*form.code.errors, _("Another organisation already has this code.")]
            valid = False
        if valid:
            form.populate_obj(org)
            org.country = form.country.data or None
            org.contact_email = form.contact_email.data or None
            if org.id is None:
                db.session.add(org)
                db.session.flush()
                audit.record("organisation.create", org, details={"code": org.code})
            else:
                audit.record("organisation.edit", org, details={"code": org.code})
            try:
                db.session.commit()
            except IntegrityError:  # the same code saved a moment ago (a second press, another admin)
                db.session.rollback()
                form.code.errors = [*form.code.errors, _("Another organisation already has this code.")]
                return render_template("admin/organisation_edit.html", form=form, org=org)
            flash(_("Saved."), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_edit.html", form=form, org=org)


@require("users.manage")
def users():
    stmt = select(User).order_by(User.email)
    if not access.manages_everything(current_user):
        managed = access.managed_organisations(current_user).with_only_columns(Organisation.id)
        stmt = stmt.where(User.organisation_id.in_(managed), User.role.in_(ORGANISATION_ROLES))
    rows = db.session.scalars(stmt).all()
    waiting = set(db.session.scalars(select(LoginThrottle.account).where(LoginThrottle.wait_until > utcnow())))
    return render_template("admin/users.html", users=rows,
                           waiting={user.id for user in rows if account_key(user.email) in waiting})


def _user_form(user: User | None) -> UserForm:
    """The user form with the roles and organisations the current user may give."""
    organisations = db.session.scalars(access.managed_organisations(current_user)).all()
    form = UserForm(obj=user, organisations=organisations)
    roles = access.assignable_roles(current_user)
    form.role.choices = [(code, codes.ROLES[code]) for code in codes.ROLES if code in roles]
    if not access.manages_everything(current_user):
        form.organisation_id.choices = [(o.id, o.name) for o in organisations]
        form.organisation_id.validators = [InputRequired()]
    return form


@require("users.manage")
def user_edit(user_id: int | None = None):
    user = access.get_managed_user_or_404(current_user, user_id) if user_id else None
    if access.managed_partner(current_user) is None and not access.manages_everything(current_user):
        abort(403)  # a coordinator whose account has no reintegration partner manages nobody
    form = _user_form(user)
    if user is not None:
        form.email.render_kw = {"readonly": True}
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation_id.data) if form.organisation_id.data else None
        try:
            if user is None:
                if not form.password.data:
                    raise UserError(_("A new account needs a password."))
                user = create_user(form.email.data, form.password.data, form.role.data, organisation,
                                   locale=form.locale.data or None, by=current_user)
                user.active = form.active.data
            else:
                if user.id == current_user.id and (not form.active.data or form.role.data != current_user.role
                                                   or organisation != current_user.organisation):
                    raise UserError(_("You cannot deactivate yourself or change your own role or organisation."))
                update_user(user, role=form.role.data, organisation=organisation, active=form.active.data,
                            locale=form.locale.data or None, password=form.password.data or None, by=current_user)
        except UserError as problem:
            db.session.rollback()
            form.form_errors.append(str(problem))
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", form=form, user=user,
                           reset_form=SecondFactorResetForm(formdata=None) if user is not None else None)


@require("users.manage")
def user_unlock(user_id: int):
    user = access.get_managed_user_or_404(current_user, user_id)
    clear_waits(user)
    audit.record("user.unlock", user)
    db.session.commit()
    flash(_("The account can log in again from everywhere."), "success")
    return redirect(url_for("admin.users"))


@require("users.manage")
def user_second_factor_reset(user_id: int):
    """A lost phone: another administrator (or the user's coordinator) removes the second factor,
    saying why; the user sets it up again at the next login. Never one's own."""
    user = access.get_managed_user_or_404(current_user, user_id)
    form = SecondFactorResetForm()
    if user.id == current_user.id:
        form.form_errors.append(_("Another administrator must reset your own second factor."))
    elif form.validate_on_submit():
        if second_factor.reset(user, reason=form.reason.data.strip(), by=current_user):
            db.session.commit()
            flash(_("The second factor is reset: %(email)s sets it up again at the next login.", email=user.email),
                  "success")
        else:  # nothing to reset: never set up, or reset a moment ago (the form sent twice)
            db.session.rollback()
            flash(_("%(email)s has no second factor to reset.", email=user.email), "info")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_edit.html", form=_user_form(user), user=user, reset_form=form), 400


@require("audit.read")
def audit_log():
    stmt = select(AuditEntry)
    action = request.args.get("action", "").strip()
    obj = request.args.get("object", "").strip()
    if action in codes.AUDIT_ACTIONS:  # chosen from the list: that action only ("login", not "login.failed")
        stmt = stmt.where(AuditEntry.action == action)
    elif action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if obj:
        stmt = stmt.where(AuditEntry.object_id == obj)
    page = page_number(request.args)
    entries = db.session.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                 .limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE)).all()
    actions = sorted(((code, str(label)) for code, label in codes.AUDIT_ACTIONS.items()), key=lambda pair: pair[1])
    return render_template("admin/audit.html", entries=entries[:AUDIT_PAGE_SIZE], page=page,
                           has_next=len(entries) > AUDIT_PAGE_SIZE, action=action, object=obj, actions=actions,
                           audit=audit)


@require("programme.manage")
def languages():
    """The returnee languages: how much of the questionnaire each catalog translates, and
    whether a native speaker has reviewed it."""
    messages = catalog_messages()
    statuses = review_status()
    rows = []
    for code in LANGUAGES:
        t = translator(code)
        done = sum(1 for message in messages if t.has(message))
        rows.append({"code": code, "name": codes.RETURNEE_LANGUAGES[code], "direction": t.direction,
                     "translated": done, "total": len(messages), **statuses[code]})
    return render_template("admin/languages.html", rows=rows)


@require("programme.manage")
def plan():
    """The follow-up plan: waves and contact rules."""
    waves = db.session.scalars(select(Wave).order_by(Wave.due_days)).all()
    settings = db.session.get(ContactSettings, 1)
    if settings is None:  # the migration creates it; recreate it with the defaults if it went
        settings = ContactSettings(id=1, reminder_days="3,7", phone_after_days=14, max_attempts=5,
                                   quiet_start=time(9), quiet_end=time(20), max_messages_per_week=2)
        db.session.add(settings)
    form = PlanForm(data={"settings": contact_settings_data(settings), "waves": waves} if request.method == "GET"
                    else None)
    new = form.new_wave.form
    if form.is_submitted() and new.code.data and db.session.get(Wave, new.code.data):
        new.code.errors = [_("A wave with this code exists already.")]
    elif form.validate_on_submit():
        for wave, entry in zip(waves, form.waves.entries):
            entry.form.populate_obj(wave)
        if new.code.data:
            wave = Wave(code=new.code.data, active=True)
            new.populate_obj(wave)
            wave.opens_days_before = wave.opens_days_before or 0
            db.session.add(wave)
            audit.record("plan.wave.add", details={"wave": wave.code})
        form.settings.form.store(settings)
        audit.record("plan.edit", details={"waves": [w.code for w in waves]})
        try:
            db.session.commit()
        except IntegrityError:  # the same wave added a moment ago (a second press, another admin)
            db.session.rollback()
            new.code.errors = [_("A wave with this code exists already.")]
            return render_template("admin/plan.html", form=form, waves=waves, held=held_by_sending_hours(utcnow()))
        flash(_("Saved. The next planning and dispatch runs use the new plan."), "success")
        return redirect(url_for("admin.plan"))
    return render_template("admin/plan.html", form=form, waves=waves, held=held_by_sending_hours(utcnow()))


@require("programme.manage")
def outbox():
    """The console backend's outbox: every message with its link (no phone numbers)."""
    page = page_number(request.args)
    rows = db.session.execute(
        select(SmsMessage, Returnee.code).join(Returnee, Returnee.id == SmsMessage.returnee_id)
        .order_by(SmsMessage.id.desc()).limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE)).all()
    audit.record("outbox.view", details={"page": page})
    db.session.commit()
    return render_template("admin/outbox.html", rows=rows[:AUDIT_PAGE_SIZE], page=page,
                           has_next=len(rows) > AUDIT_PAGE_SIZE, held=held_by_sending_hours(utcnow()))


@require("dataprotection.read")
def data_protection():
    """For the data-protection officer: what is stored, where, who can see it, how long it is
    kept, and the erasures and purges done (from the audit log)."""
    from flask import current_app

    from monitor.access import PERMISSIONS
    from monitor.admin.dataprotection import INVENTORY
    from monitor.returnees.erasure import expired_clause
    from scheduler.clock import Clock

    months = current_app.config["RETENTION_MONTHS"]
    counts = db.session.execute(select(
        func.count().filter(Returnee.erased_at.is_(None), Returnee.phone_lookup.is_not(None)),
        func.count().filter(Returnee.erased_at.is_not(None)),
    ).select_from(Returnee)).one()
    due = db.session.scalar(select(func.count()).select_from(Returnee).where(*expired_clause(Clock().today(), months)))
    page = page_number(request.args)
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(("returnee.erase", "returnee.purge")))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE)).all()
    roles = list(codes.ROLES.items())
    return render_template("admin/data_protection.html", inventory=INVENTORY, months=months,
                           with_number=counts[0], erased=counts[1], due=due, entries=entries[:AUDIT_PAGE_SIZE],
                           page=page, has_next=len(entries) > AUDIT_PAGE_SIZE, audit=audit, roles=roles,
                           permissions=PERMISSIONS, permission_labels=codes.PERMISSIONS)
