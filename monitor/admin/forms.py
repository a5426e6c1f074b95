from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, EmailField, FieldList, FloatField, FormField, IntegerField, PasswordField, SelectField, StringField,
    TimeField,
)
from wtforms.validators import (
    DataRequired, Email, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError,
)

from monitor import codes
from monitor.formatting import staff_language_choices
from monitor.models.users import MIN_PASSWORD_LENGTH
from monitor.returnees.forms import country_choices
from scheduler.protocol import RETRY_OUTCOMES, parse_retry_delays

RETRY_HELP = _l("Empty: the task is back on the work list at once.")

_optional_int = lambda v: int(v) if v not in ("", None, "None") else None  # noqa: E731


class OrganisationForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(), Length(max=40),
        Regexp(r"^[a-z0-9][a-z0-9-]*$", message=_l("Lower-case letters, digits and hyphens only."))],
        description=_l("Used in import files, for example caritas or iom-ge."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], render_kw={"dir": "auto"})
    kind = SelectField(_l("Type"), choices=[(k, v) for k, v in codes.ORGANISATION_KINDS.items()])
    parent_id = SelectField(_l("Works with (reintegration partner)"), coerce=_optional_int)
    country = SelectField(_l("Country"), validators=[Optional()])
    sender_name = StringField(_l("SMS sender name"), validators=[Optional(), Length(max=40)],
                              description=_l("The name returnees know and trust, for example Caritas."))
    contact_phone = StringField(_l("Public contact phone"), validators=[Optional(), Length(max=32)],
                                render_kw={"dir": "ltr"})
    contact_email = EmailField(_l("Public contact e-mail"), validators=[Optional(), Email(), Length(max=200)])
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, parents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_id.choices = [("", "—")] + [(o.id, o.name) for o in parents]
        self.country.choices = [("", "—")] + country_choices()

    def validate_parent_id(self, field):
        if self.kind.data == "local" and field.data is None:
            raise ValidationError(_l("Choose the reintegration partner this local partner works with."))
        if self.kind.data == "reintegration" and field.data is not None:
            raise ValidationError(_l("A reintegration partner does not work under another one."))


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)], render_kw={"dir": "ltr"})
    role = SelectField(_l("Role"), choices=[(k, v) for k, v in codes.ROLES.items()])
    organisation_id = SelectField(_l("Organisation"), coerce=_optional_int, validators=[Optional()],
                                  description=_l("Required for partner staff and coordinators (a coordinator's is a "
                                                 "reintegration partner)."))
    locale = SelectField(_l("Interface language"), choices=lambda: [("", "—")] + staff_language_choices(),
                         validators=[Optional()])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=_l("Use at least %(min)d characters (at most %(max)d)."))],
                             description=_l("At least %(n)d characters. Leave empty to keep the current one.", n=MIN_PASSWORD_LENGTH))
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation_id.choices = [("", "—")] + [(o.id, o.name) for o in organisations]


class SecondFactorResetForm(FlaskForm):
    reason = StringField(_l("Why"), validators=[
        DataRequired(message=_l("Say why the second factor is reset, such as \"phone lost\".")), Length(max=200)],
        description=_l("Kept in the audit log. Check who is asking before you reset: whoever has the password "
                       "can then set up a new second factor."), render_kw={"dir": "auto"})


class WaveForm(FlaskForm):
    class Meta:
        csrf = False  # part of the plan form, which carries the token

    due_days = IntegerField(_l("Due (days after return)"), validators=[DataRequired(), NumberRange(1, 3650)])
    opens_days_before = IntegerField(_l("Window opens (days before)"), validators=[InputRequired(), NumberRange(0, 365)])
    closes_days_after = IntegerField(_l("Window closes (days after)"), validators=[InputRequired(), NumberRange(1, 365)])
    sampled = BooleanField(_l("Sampled"))
    fraction = FloatField(_l("Sampling fraction"), validators=[InputRequired(), NumberRange(0, 1)])
    min_per_stratum = IntegerField(_l("Minimum per stratum"), validators=[InputRequired(), NumberRange(0, 10000)])
    active = BooleanField(_l("Active"))

    # A sampled wave must never draw nobody from a stratum: every returnee in the frame needs a
    # probability above 0, and a variance needs two cases per stratum.
    def validate_fraction(self, field):
        if self.sampled.data and field.data is not None and field.data <= 0:
            raise ValidationError(_l("A sampled wave needs a fraction above 0."))

    def validate_min_per_stratum(self, field):
        if self.sampled.data and field.data is not None and field.data < 2:
            raise ValidationError(_l("A sampled wave draws at least 2 per stratum."))


class NewWaveForm(WaveForm):
    """A wave added on the plan page: planned, sampled, interviewed, imported and reported like
    the others, with no code change. Every field is optional until a code is given."""

    code = StringField(_l("Code"), validators=[Optional(), Length(max=20), Regexp(
        r"^[a-z][a-z0-9_]*$", message=_l("Lower-case letters, digits and _ only, for example m24."))])
    due_days = IntegerField(_l("Due (days after return)"), validators=[Optional(), NumberRange(1, 3650)])
    opens_days_before = IntegerField(_l("Window opens (days before)"), default=0,
                                     validators=[Optional(), NumberRange(0, 365)])
    closes_days_after = IntegerField(_l("Window closes (days after)"), validators=[Optional(), NumberRange(1, 365)])
    fraction = FloatField(_l("Sampling fraction"), validators=[Optional(), NumberRange(0, 1)])
    min_per_stratum = IntegerField(_l("Minimum per stratum"), validators=[Optional(), NumberRange(0, 10000)])
    active = None  # a new wave is active

    def validate_code(self, field):
        if not field.data:
            return
        missing = [f.label.text for f in (self.due_days, self.closes_days_after, self.fraction, self.min_per_stratum)
                   if f.data is None]
        if missing:
            raise ValidationError(_l("A new wave also needs: %(fields)s.", fields=", ".join(map(str, missing))))


class ContactSettingsForm(FlaskForm):
    class Meta:
        csrf = False

    reminder_days = StringField(_l("Reminders (days after the invitation)"), validators=[
        InputRequired(), Regexp(r"^\s*(\d{1,3}\s*(,\s*\d{1,3}\s*)*)?$", message=_l("Days separated by commas, e.g. 3,7."))])
    phone_after_days = IntegerField(_l("Phone task after (days)"), validators=[InputRequired(), NumberRange(1, 365)])
    max_attempts = IntegerField(_l("Maximum phone attempts"), validators=[InputRequired(), NumberRange(1, 50)])
    quiet_start = TimeField(_l("Send from (local time)"), validators=[InputRequired()])
    quiet_end = TimeField(_l("Send until (local time)"), validators=[InputRequired()])
    max_messages_per_week = IntegerField(_l("At most messages per week"), validators=[InputRequired(), NumberRange(1, 14)])
    # When a phone task comes back after each outcome that can be called again, one field each
    # (stored together in contact_settings.retry_delays, "no_answer=240,busy=60,...").
    retry_no_answer = IntegerField(_l("Call again after “%(outcome)s” (minutes)", outcome=codes.CALL_OUTCOMES["no_answer"]),
                                   validators=[Optional(), NumberRange(1, 43200)], description=RETRY_HELP)
    retry_busy = IntegerField(_l("Call again after “%(outcome)s” (minutes)", outcome=codes.CALL_OUTCOMES["busy"]),
                              validators=[Optional(), NumberRange(1, 43200)], description=RETRY_HELP)
    retry_switched_off = IntegerField(_l("Call again after “%(outcome)s” (minutes)",
                                         outcome=codes.CALL_OUTCOMES["switched_off"]),
                                      validators=[Optional(), NumberRange(1, 43200)], description=RETRY_HELP)
    retry_absent = IntegerField(_l("Call again after “%(outcome)s” (minutes)", outcome=codes.CALL_OUTCOMES["absent"]),
                                validators=[Optional(), NumberRange(1, 43200)], description=RETRY_HELP)

    # The rules stored as they are entered (the retry delays are stored together, below).
    RULES = ("reminder_days", "phone_after_days", "max_attempts", "quiet_start", "quiet_end", "max_messages_per_week")

    def store(self, settings) -> None:
        """The contact rules into `settings`: the reminder days tidied, the retry delays as
        "no_answer=240,busy=60" (outcomes left empty come back at once)."""
        for name in self.RULES:
            setattr(settings, name, self[name].data)
        settings.reminder_days = ",".join(d.strip() for d in settings.reminder_days.split(",") if d.strip())
        settings.retry_delays = ",".join(f"{outcome}={self['retry_' + outcome].data}" for outcome in RETRY_OUTCOMES
                                         if self["retry_" + outcome].data)

    def validate_quiet_end(self, field):
        if self.quiet_start.data and field.data and field.data <= self.quiet_start.data:
            raise ValidationError(_l("The end of the sending window must come after its start."))


def contact_settings_data(settings) -> dict:
    """The plan form's contact rules as stored, the retry delays one field per outcome."""
    delays = parse_retry_delays(settings.retry_delays or "")
    return {**{name: getattr(settings, name) for name in ContactSettingsForm.RULES},
            **{f"retry_{outcome}": delays.get(outcome) for outcome in RETRY_OUTCOMES}}


class PlanForm(FlaskForm):
    settings = FormField(ContactSettingsForm)
    waves = FieldList(FormField(WaveForm))
    new_wave = FormField(NewWaveForm)
