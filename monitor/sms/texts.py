"""The messages returnees receive, in their language, signed with the partner they know, and
saying nothing about return or migration (PRODUCT.md, "Trust, privacy, safety")."""
from __future__ import annotations

from surveys.items import N_ as q_  # the questionnaire domain (not the staff one)
from surveys.translation import translator

INVITATION = q_("%(partner)s: how are things going? Please answer a few questions: %(link)s")
REMINDER = q_("%(partner)s: a reminder, your answers help us. %(link)s")


def invitation_text(language: str, partner: str, link: str, reminder: bool = False) -> str:
    t = translator(language)
    return t(REMINDER if reminder else INVITATION, partner=partner, link=link)
