from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from monitor import codes


class CloseForm(FlaskForm):
    """What was done about a red flag: an action (never closed without one) and a note."""

    action = SelectField(_l("What was done"), choices=[("", "—")] + list(codes.ATTENTION_ACTIONS.items()),
                         validators=[DataRequired(message=_l("Choose what was done before closing."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
