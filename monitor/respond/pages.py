"""Which questions a page shows, without JavaScript.

A page is one module. Questions that depend on an answer on the same page appear once that
answer is sent: the page comes back with them added (progressive disclosure), so skip logic
works with plain HTML forms on any phone.
"""
from __future__ import annotations

from surveys.definition import Module, Questionnaire
from surveys.items import Item


def page_items(questionnaire: Questionnaire, module: Module, answers: dict, shown: set[str] | None = None) -> list[Item]:
    """The module's items to show: visible given `answers`, and whose conditions only read
    answers from earlier modules or from items already shown on this page."""
    in_module = {item.code for item in module.items}
    effective = questionnaire.effective_answers(answers)
    shown = set(shown or ())
    while True:
        page = [item for item in module.items
                if (item.when is None or item.when.evaluate(effective))
                and (item.when is None or (item.when.items() & in_module) <= shown)]
        codes = {item.code for item in page}
        if codes <= shown:
            return [item for item in module.items if item.code in codes]
        shown |= codes


def form_state(item: Item, answers: dict, form=None):
    """What the item's fields hold: the form as sent (when a page comes back with errors or new
    questions), else the stored answer. Choice lists come as lists, ranks as a list of three."""
    if item.type_name == "multiple":
        if form is not None:
            return {"chosen": form.getlist(item.code), "first": form.get(f"{item.code}__first", "")}
        chosen = answers.get(item.code) or []
        return {"chosen": chosen, "first": chosen[0] if chosen and getattr(item, "ask_first", False) else ""}
    if item.type_name == "ranked":
        if form is not None:
            return [form.get(f"{item.code}__{rank}", "") for rank in (1, 2, 3)]
        ranked = list(answers.get(item.code) or [])
        return ranked + [""] * (3 - len(ranked))
    if form is not None:
        return form.get(item.code, "")
    value = answers.get(item.code)
    return "" if value is None else str(value)
