from __future__ import annotations

import unicodedata

import pycountry
from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from monitor import codes
from monitor.returnees.parsing import InvalidValue, parse_phone


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def country_choices(present=None) -> list[tuple[str, str]]:
    """Countries by name in the user's language, in alphabetical order: every country (a form
    that sets one), or only the codes in `present` (a filter: the countries of the caseload)."""
    territories = Locale.parse(str(get_locale())).territories
    if present is None:
        names = [(c.alpha_2, territories.get(c.alpha_2, c.name)) for c in pycountry.countries]
    else:
        names = [(code, territories.get(code, code)) for code in present if code]
    return sorted(names, key=lambda pair: _collation_key(pair[1]))


def _collation_key(name: str) -> str:
    """Sort 'Bénin' with the Bs before 'Burundi', as a reader expects (accents ignored)."""
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


def _choices(mapping, blank=False):
    items = [(code, str(label)) for code, label in mapping.items()]
    return ([("", "—")] if blank else []) + items


class ReturneeForm(FlaskForm):
    destination_country = SelectField(_l("Destination country"), validators=[DataRequired()])
    partner_id = SelectField(_l("Reintegration partner"), coerce=int, validators=[DataRequired()])
    local_partner_id = SelectField(_l("Local partner"), coerce=lambda v: int(v) if v not in ("", None, "None") else None,
                                   validators=[Optional()])
    return_date = DateField(_l("Return date"), validators=[DataRequired()])
    language = SelectField(_l("Preferred language"), validators=[DataRequired()])
    preferred_channel = SelectField(_l("Preferred channel"), validators=[DataRequired()])
    sex = SelectField(_l("Sex"), validators=[Optional()])
    birth_year = IntegerField(_l("Birth year"), validators=[Optional(), NumberRange(1900, 2100)])
    adults = IntegerField(_l("Adults in the household"), validators=[Optional(), NumberRange(0, 50)])
    children = IntegerField(_l("Children in the household"), validators=[Optional(), NumberRange(0, 50)])
    vulnerabilities = MultiCheckboxField(_l("Vulnerabilities"))
    support_package = SelectField(_l("Support package"), validators=[Optional()])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)], render_kw={"dir": "auto"})
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=40)], render_kw={"dir": "ltr"},
                        description=_l("International format (+995...) or the country's own format."))

    def __init__(self, *args, organisations=(), show_organisations=True, has_stored_phone=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.destination_country.choices = country_choices()
        self.language.choices = [(code, name, {"lang": code.replace("_", "-"), "dir": "auto"})
                                 for code, name in codes.RETURNEE_LANGUAGES.items()]
        self.preferred_channel.choices = _choices(codes.CHANNELS)
        self.sex.choices = _choices(codes.SEXES, blank=True)
        self.vulnerabilities.choices = _choices(codes.VULNERABILITIES)
        self.support_package.choices = _choices(codes.SUPPORT_PACKAGES, blank=True)
        self.partner_id.choices = [(o.id, o.name) for o in organisations if o.is_reintegration_partner]
        self.local_partner_id.choices = [("", "—")] + [
            (o.id, f"{o.name} ({o.parent.name})") for o in organisations if not o.is_reintegration_partner]
        self._organisations = {o.id: o for o in organisations}
        if not show_organisations:
            del self.partner_id
            del self.local_partner_id
        self.e164_phone = None
        self._has_stored_phone = has_stored_phone
        self._show_organisations = show_organisations

    def validate_local_partner_id(self, field):
        if field.data is None:
            return
        local = self._organisations.get(field.data)
        if local is None or local.parent_id != self.partner_id.data:
            raise ValidationError(_l("This local partner does not work with the chosen reintegration partner."))

    def validate_phone(self, field):
        if not field.data:
            return
        try:
            self.e164_phone = parse_phone(field.data, self.destination_country.data)
        except InvalidValue as problem:
            raise ValidationError(str(problem)) from None

    def validate_preferred_channel(self, field):
        if field.data in ("sms", "phone") and not self.phone.data and not self._has_stored_phone:
            raise ValidationError(_l("This channel needs a phone number."))

    def case_values(self) -> dict:
        values = {name: getattr(self, name).data for name in (
            "destination_country", "return_date", "language", "preferred_channel", "birth_year",
            "adults", "children", "name")}
        values["sex"] = self.sex.data or None
        values["support_package"] = self.support_package.data or None
        values["vulnerabilities"] = sorted(self.vulnerabilities.data or [])
        values["name"] = (self.name.data or "").strip() or None
        if self.e164_phone:
            values["phone"] = self.e164_phone
        if self._show_organisations:
            values["partner_id"] = self.partner_id.data
            values["local_partner_id"] = self.local_partner_id.data
        return values


class ConsentForm(FlaskForm):
    channels = MultiCheckboxField(_l("Channels"), choices=[("sms", _l("SMS link")), ("phone", _l("Phone call"))])
    method = SelectField(_l("How it was given"), choices=[
        ("written", _l("Signed form")), ("verbal", _l("Verbal, noted by staff"))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)], render_kw={"dir": "auto"},
                         description=_l("No names or phone numbers here."))

    def validate_channels(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one channel."))


class WithdrawConsentForm(FlaskForm):
    confirm = BooleanField(_l("The returnee asked to stop all contact for the monitoring"),
                           validators=[DataRequired()])


class DoNotContactForm(FlaskForm):
    pass


class EraseForm(FlaskForm):
    """Erasing a case's identity: irreversible, so the reason is stated and the code typed."""

    reason = StringField(_l("Reason"), validators=[DataRequired(_l("State the reason for the erasure.")),
                                                   Length(max=200)], render_kw={"dir": "auto"},
                         description=_l("Written to the audit log, for example: request of the returnee under "
                                        "the GDPR. No names or phone numbers here."))
    with_answers = BooleanField(_l("Delete the answers too (the outcome of each follow-up stays)"))
    confirm_code = StringField(_l("Type the case's code to confirm"), validators=[DataRequired(
        _l("Type the case's code to confirm."))], render_kw={"autocomplete": "off", "dir": "ltr"})

    def __init__(self, *args, code: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.code = code

    def validate_confirm_code(self, field):
        if (field.data or "").strip().upper() != self.code.upper():
            raise ValidationError(_l("Type the case's code to confirm."))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a file."))])
    dry_run = BooleanField(_l("Only check the file, write nothing"), default=True)
    skip_invalid = BooleanField(_l("Write the valid rows even if some rows are invalid"))


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Case code"))
    country = SelectField(_l("Country"))
    organisation = SelectField(_l("Partner"))
    channel = SelectField(_l("Channel"))
    # Consent, then where the case's follow-ups stand, then red flags waiting for a person.
    status = SelectField(_l("Status"), choices=[
        ("", "—"), ("contactable", _l("May be contacted")), ("no_consent", _l("No consent")),
        ("withdrawn", _l("Consent withdrawn")), ("do_not_contact", _l("Do not contact")), ("erased", _l("Erased")),
        ("planned", _l("Follow-up planned")), ("invited", codes.FOLLOW_UP_STATES["invited"]),
        ("reminded", codes.FOLLOW_UP_STATES["reminded"]), ("phone_task", codes.FOLLOW_UP_STATES["phone_task"]),
        ("needs_attention", _l("Needs attention"))])
