"""The messages returnees receive, in their language, signed with the partner they know, and
saying nothing about return or migration (PRODUCT.md, "Trust, privacy, safety")."""
from __future__ import annotations

import unicodedata

from surveys.items import N_ as q_  # the questionnaire domain (not the staff one)
from surveys.translation import translator

INVITATION = q_("%(partner)s: how are things going? Please answer a few questions: %(link)s")
REMINDER = q_("%(partner)s: a reminder, your answers help us. %(link)s")


def invitation_text(language: str, partner: str, link: str, reminder: bool = False) -> str:
    t = translator(language)
    return t(REMINDER if reminder else INVITATION, partner=partner, link=link)

STOP_CONFIRMATION = q_("%(partner)s: you will get no more messages from us. Reply START to get them again.")
START_CONFIRMATION = q_("%(partner)s: you will get our messages again. Reply STOP to stop them.")
HELP_REPLY = q_("%(partner)s: questions? Call %(phone)s. Reply STOP to stop our messages.")

# What a returnee may text back, in the usual forms and in the returnee languages.
STOP_WORDS = frozenset({
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "ARRÊT", "STOPPEN", "СТОП", "ОТПИСАТЬСЯ",
    "ВІДПИСАТИСЯ", "გაჩერება", "სტოპ", "ՍՏՈՊ", "ԿԱՆԳ", "توقف", "الغاء", "إلغاء", "ایست", "لغو", "بس", "ودرېږه",
    "ودروئ", "PARAR", "SAIR", "ANULARE", "DOSYĆ",
})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "СТАРТ", "სტარტი", "ՍՏԱՐՏ", "ابدأ", "شروع", "INICIAR"})
HELP_WORDS = frozenset({"HELP", "INFO", "AIDE", "HULP", "ПОМОЩЬ", "ДОПОМОГА", "დახმარება", "ՕԳՆՈՒԹՅՈՒՆ",
                        "مساعدة", "کمک", "مرسته", "AJUTOR", "POMOC", "AJUDA"})


def keyword(body: str) -> str:
    """stop, start, help or other, from the text a returnee sent (fullwidth and compatibility
    forms, "ＳＴＯＰ", read as their plain letters)."""
    body = unicodedata.normalize("NFKC", body)
    word = "".join(c for c in body.strip().upper() if c.isalnum())
    first = body.strip().split()[0].upper().strip(".!,;:") if body.strip() else ""
    for candidate in (word, first):
        if candidate in STOP_WORDS:
            return "stop"
        if candidate in START_WORDS:
            return "start"
        if candidate in HELP_WORDS:
            return "help"
    return "other"


def reply_text(kind: str, language: str, partner: str, phone: str | None) -> str | None:
    t = translator(language)
    if kind == "stop":
        return t(STOP_CONFIRMATION, partner=partner)
    if kind == "start":
        return t(START_CONFIRMATION, partner=partner)
    if kind == "help" and phone:
        return t(HELP_REPLY, partner=partner, phone=phone)
    return None
