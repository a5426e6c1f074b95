from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from monitor import codes


class AttemptForm(FlaskForm):
    """One call or visit: an outcome, maybe a note, and for a call-back its local date and time.
    "Completed" and "partial" are not outcomes: they come only from saving the interview."""

    outcome = SelectField(_l("Outcome"), choices=[("", "—")] + [(k, v) for k, v in codes.CALL_OUTCOMES.items()],
                          validators=[DataRequired(message=_l("Choose what came of the call."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])
    callback_day = DateField(_l("Call back on"), validators=[Optional()])
    callback_time = TimeField(_l("at (the returnee's local time)"), validators=[Optional()])
    form_key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,32}$")])
    back = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.form_key.data:
            self.form_key.data = secrets.token_urlsafe(16)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.outcome.data == "call_back" and (self.callback_day.data is None or self.callback_time.data is None):
            self.callback_time.errors = [*self.callback_time.errors, _l("A call-back needs its date and time.")]
            valid = False
        return valid


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: every view is a URL

    country = SelectField(_l("Country"), validators=[Optional()])
    wave = SelectField(_l("Wave"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    local_partner = SelectField(_l("Local partner"), validators=[Optional()])
    organisation = StringField()  # admins: the organisation whose list this is


class ExportForm(FlaskForm):
    """The work list for KoboCollect / ODK Collect: a POST, so that each download is audited."""

    organisation = HiddenField()  # admins: the organisation whose list it is; staff: their own when empty
