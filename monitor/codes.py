"""The programme's code lists: stored as codes, shown through Babel."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from surveys.translation import LANGUAGE_NAMES

ROLES = {
    "admin": _l("Programme administrator"),
    "analyst": _l("Analyst"),
    "partner": _l("Partner staff"),
}

ORGANISATION_KINDS = {
    "reintegration": _l("Reintegration partner"),
    "local": _l("Local partner"),
}

CHANNELS = {
    "sms": _l("SMS link"),
    "phone": _l("Phone call"),
    "none": _l("No contact"),
}

# The channels a returnee can consent to being contacted by.
CONSENT_CHANNELS = ("sms", "phone")

CONSENT_METHODS = {
    "written": _l("Signed form"),
    "verbal": _l("Verbal, noted by staff"),
    "web": _l("On the questionnaire page"),
    "import": _l("Imported from the case file"),
}

SEXES = {
    "f": _l("Female"),
    "m": _l("Male"),
    "x": _l("Other or not stated"),
}

VULNERABILITIES = {
    "medical": _l("Medical"),
    "family_with_children": _l("Family with children"),
    "trafficking_victim": _l("Victim of trafficking"),
    "unaccompanied_minor": _l("Unaccompanied minor"),
    "other": _l("Other vulnerability"),
}

SUPPORT_PACKAGES = {
    "return_only": _l("Return only"),
    "reintegration": _l("Reintegration support"),
    "reintegration_vulnerable": _l("Reintegration support, vulnerable person"),
    "medical": _l("Medical reintegration support"),
}

# Follow-up waves: the one-month check for everyone, sampled waves later (see the scheduler).
WAVES = {
    "m1": _l("One-month check"),
    "m6": _l("Six-month wave"),
    "m12": _l("Twelve-month wave"),
}

FOLLOW_UP_STATES = {
    "planned": _l("Planned"),
    "invited": _l("Invited by SMS"),
    "reminded": _l("Reminded"),
    "phone_task": _l("To phone"),
    "closed": _l("Closed"),
}

RESPONSE_MODES = {
    "sms-web": _l("SMS link"),
    "phone": _l("Phone interview"),
    "visit": _l("Home visit"),
    "import": _l("Imported"),
}

DISPOSITIONS = {
    "complete": _l("Complete"),
    "partial": _l("Partial"),
    "refusal": _l("Refusal"),
    "non-contact": _l("Non-contact"),
    "other": _l("Other"),
    "unknown-eligibility": _l("Unknown eligibility"),
    "not-eligible": _l("Not eligible"),
    "cancelled": _l("Cancelled"),
}

SCORE_DIMENSIONS = {
    "economic": _l("Economic"),
    "social": _l("Social"),
    "psychosocial": _l("Psychosocial"),
    "composite": _l("Composite"),
}

# Returnee languages, each named in itself (defined with the questionnaire's translations).
RETURNEE_LANGUAGES = LANGUAGE_NAMES


def normalise_language(value: str) -> str | None:
    """'PT-br', 'pt_BR' -> 'pt_BR'; None when it is not a returnee language."""
    cleaned = value.strip().replace("-", "_")
    for code in RETURNEE_LANGUAGES:
        if code.lower() == cleaned.lower():
            return code
    return None
