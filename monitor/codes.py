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

# AAPOR final dispositions (scheduler/dispositions.py holds the codes and the rules).
DISPOSITIONS = {
    "1.1": _l("Complete"),
    "1.2": _l("Partial"),
    "2.11": _l("Refusal"),
    "2.112": _l("Implicit refusal"),
    "2.12": _l("Break-off"),
    "2.20": _l("Non-contact"),
    "2.21": _l("Contacted, not completed"),
    "2.31": _l("Deceased"),
    "2.32": _l("Physically or mentally unable"),
    "2.33": _l("Language barrier"),
    "2.36": _l("Other"),
    "2.361": _l("Living abroad again"),
    "3.90": _l("Unknown eligibility"),
    "4.10": _l("Not eligible"),
}

# What came of a call or visit, as staff record it (scheduler/dispositions.py ATTEMPT_OUTCOMES
# says what each does). "Completed" and "partial" are not here: they come from the interview.
CALL_OUTCOMES = {
    "no_answer": _l("No answer"),
    "busy": _l("Busy"),
    "switched_off": _l("Switched off"),
    "wrong_number": _l("Wrong number"),
    "call_back": _l("Call back at a given time"),
    "refused": _l("Refused"),
    "language_barrier": _l("Language barrier"),
    "too_ill": _l("Too ill to answer"),
    "deceased": _l("Deceased"),
    "living_abroad": _l("Living abroad again"),
    "absent": _l("Visited at home, not there"),
}

# The work list's statuses: of its follow-ups, then its open needs-attention items.
WORKLIST_STATUSES = {
    "call_back_due": _l("Call back now"),
    "to_call": _l("To call"),
    "closing_soon": _l("Window closing"),
    "later": _l("Later"),
    "needs_attention": _l("Needs attention"),
}

# What staff did about a red flag (a needs-attention item): an item closes only with one.
ATTENTION_ACTIONS = {
    "called_back": _l("Called back"),
    "referred": _l("Referred to a service"),
    "visited": _l("Visited"),
    "support_adjusted": _l("Support adjusted"),
    "nothing_needed": _l("Nothing needed"),
}
# Items of flags resolved before actions were recorded (migration 0009): shown, never chosen.
ATTENTION_ACTION_LABELS = {**ATTENTION_ACTIONS, "resolved_earlier": _l("Resolved (before actions were recorded)")}

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
