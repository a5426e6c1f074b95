"""The exports page: the responses file with the choices of `monitor export responses`."""
from __future__ import annotations

import io

from flask import render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from monitor.access import can, require, visible_organisations
from monitor.exports.forms import ResponsesExportForm
from monitor.exports.responses import ExportRefused, export_responses
from monitor.extensions import db
from monitor.followups.waves import all_waves, describe
from monitor.reports.filters import FilterError, ReportFilter
from surveys.translation import LANGUAGE_NAMES


def _form() -> ResponsesExportForm:
    form = ResponsesExportForm()
    form.waves.choices = [(wave.code, describe(wave)) for wave in all_waves()]
    if request.method == "GET":  # a link may preselect waves: /exports/?wave=m6 (the dashboard's filters)
        known = {code for code, _name in form.waves.choices}
        form.waves.data = [code for code in request.args.getlist("wave") if code in known]
    form.language.choices = [(code, name, {"lang": code.replace("_", "-"), "dir": "auto"})
                             for code, name in LANGUAGE_NAMES.items()]
    if not form.language.data:
        form.language.data = current_user.locale if current_user.locale in LANGUAGE_NAMES else "en"
    if current_user.partner_scoped:
        organisation = current_user.organisation
        form.organisation.choices = [(organisation.code, organisation.name)] if organisation else []
    else:
        form.organisation.choices = [("", _("All organisations"))] + [
            (o.code, o.name, {"dir": "auto"}) for o in db.session.scalars(visible_organisations(current_user))]
    return form


@require("exports.responses")
def index():
    """GET: the form. POST: the file (respondents and non-respondents of the chosen waves), scoped
    to what the account may see; free text for administrators only."""
    form = _form()
    if form.validate_on_submit():
        if form.with_text.data and not can(current_user, "exports.text"):
            form.with_text.errors = [*form.with_text.errors, _("Only administrators export free-text answers.")]
        else:
            try:
                flt = ReportFilter.for_user(current_user, waves=form.waves.data or (),
                                            organisation=form.organisation.data or None)
                flt.where_clauses()
                export = export_responses(flt, fmt=form.file_format.data, language=form.language.data,
                                          with_text=form.with_text.data, user=current_user)
            except (FilterError, ExportRefused):
                form.form_errors.append(_("This export is not available to your account."))
            else:
                db.session.commit()  # the audit entry
                reply = send_file(io.BytesIO(export.data), mimetype=export.mimetype, as_attachment=True,
                                  download_name=export.filename)
                reply.headers["Cache-Control"] = "no-store"
                return reply
    return render_template("exports/index.html", form=form, may_export_text=can(current_user, "exports.text")), \
        (400 if form.is_submitted() else 200)
