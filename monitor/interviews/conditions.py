"""Skip logic in words, for the interviewer: which answer to which question makes a question
asked ("Ask only if “Where do you live now?” is not “No fixed place”"), in the staff member's
language, with the questions and answers as the questionnaire's translation words them."""
from __future__ import annotations

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _

from surveys.conditions import Condition
from surveys.definition import Questionnaire


def describe(condition: Condition, questionnaire: Questionnaire, t) -> str:
    """`condition` as a phrase; `t` translates the questionnaire's texts (the staff language)."""
    if condition.kind in ("all", "any"):
        parts = [describe(part, questionnaire, t) for part in condition.parts]
        return format_list(parts, style="standard" if condition.kind == "all" else "or", locale=get_locale())
    if condition.kind == "not":
        return _("it is not so that %(condition)s", condition=describe(condition.parts[0], questionnaire, t))
    item = questionnaire.item(condition.item) if questionnaire.has_item(condition.item) else None
    question = _("“%(text)s”", text=t(item.text) if item else condition.item)
    labels = {option.code: option.label for option in item.options} if item else {}

    def answer(value) -> str:
        return _("“%(text)s”", text=t(labels[value]) if value in labels else str(value))

    operand = condition.operand
    if condition.kind == "equals":
        return _("%(question)s is %(answer)s", question=question, answer=answer(operand))
    if condition.kind == "in":
        return _("%(question)s is %(answers)s", question=question,
                 answers=format_list([answer(v) for v in operand], style="or", locale=get_locale()))
    if condition.kind == "not_in":
        if len(operand) == 1:
            return _("%(question)s is not %(answer)s", question=question, answer=answer(operand[0]))
        return _("%(question)s is none of %(answers)s", question=question,
                 answers=", ".join(answer(v) for v in operand))
    if condition.kind == "includes":
        return _("%(question)s includes %(answer)s", question=question, answer=answer(operand))
    if condition.kind == "answered":
        return (_("%(question)s is answered", question=question) if operand
                else _("%(question)s is not answered", question=question))
    phrases = {"gt": _("%(question)s is more than %(number)s", question=question, number=operand),
               "gte": _("%(question)s is at least %(number)s", question=question, number=operand),
               "lt": _("%(question)s is less than %(number)s", question=question, number=operand),
               "lte": _("%(question)s is at most %(number)s", question=question, number=operand)}
    return phrases[condition.kind]
