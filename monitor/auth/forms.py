import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from monitor.formatting import staff_language_choices
from monitor.models.users import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)], render_kw={"dir": "ltr"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=_l("Use at least %(min)d characters (at most %(max)d)."))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))])


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Interface language"), choices=staff_language_choices)


class TokenForm(FlaskForm):
    """A new API token: what it is for, and the form's key (sent twice, it makes one token)."""

    name = StringField(_l("What the token is for"), validators=[
        DataRequired(message=_l("Say what the token is for, such as \"R script\".")), Length(max=100)],
        description=_l("Shown in the list of your tokens, to tell them apart."))
    form_key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,32}$")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.form_key.data:
            self.form_key.data = secrets.token_urlsafe(16)


class SecondStepForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)],
                       description=_l("The 6 digits your authenticator app shows, or one of your recovery codes."),
                       render_kw={"autocomplete": "one-time-code", "dir": "ltr", "autofocus": True})


class TotpEnrolForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr"})


class RecoveryCodesForm(TotpEnrolForm):
    """New recovery codes: asked with a current code from the app, as the enrolment is."""
