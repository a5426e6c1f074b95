from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired, Optional

from monitor.returnees.forms import MultiCheckboxField


class ResponsesExportForm(FlaskForm):
    """The choices of `monitor export responses`: a POST, so that each download is audited."""

    waves = MultiCheckboxField(_l("Waves"), description=_l("None ticked: every wave."), validators=[Optional()])
    file_format = SelectField(_l("File format"), validators=[DataRequired()], choices=[
        ("csv", _l("CSV (R, Python, any program)")), ("xlsx", _l("Excel workbook")),
        ("sav", _l("SPSS data file (.sav)")), ("dta", _l("Stata data file (.dta)"))])
    language = SelectField(_l("Language of the value labels"), validators=[DataRequired()])
    organisation = SelectField(_l("Organisation"), validators=[Optional()])
    with_text = BooleanField(_l("With the free-text answers (they can hold names or phone numbers; the export is "
                                "audited)"))
