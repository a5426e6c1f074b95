"""The questionnaire definition as files for people outside the app: a codebook and an XLSForm.

Pure: no Flask, no database. Texts come from the "questionnaire" gettext domain
(`surveys.translation`); a text a catalog does not translate yet stays in English.

    write_codebook(questionnaire, fileobj)     CSV for analysts
    write_xlsform(questionnaire, "form.xlsx")  XLSForm for KoboCollect / ODK Collect

Codebook (CSV, UTF-8 with a byte order mark so Excel reads non-Latin scripts, `\\r\\n` lines)
------------------------------------------------------------------------------------------

One row per item, then one row per answer option of that item (in definition order); after
the items, one row per reporting group and one per key indicator (`module` and `item` empty).

    module               module code                          (item and option rows)
    item                 item code                            (item and option rows)
    type                 single, yesno, multiple, ranked, scale, number, date, text; `group`
                         or `indicator` on the rows after the items
    option               empty on an item row; the option code on an option row
                         (a scale has one option row per point: 1, 2, ... 5); the group or
                         indicator code on their rows
    dimension            scoring dimension (economic, social, psychosocial), empty if not scored
    weight               the item's weight within its dimension, only for a scored item
    score                option rows: the option's 0..1 score; empty = counts for nothing
    exclusive            option rows: "yes" when the option cannot be chosen with another
                         (a multiple item's "none", "I do not know")
    group                option rows: the option's reporting group code (group rows below)
    required             "yes" when the item must be answered (when shown)
    condition            skip logic, readable: `housing_situation = other`,
                         `distress in (often, always)`, `heard_from includes other`,
                         `household_size > 2`, `x answered`, `not (...)`, `... and ...`
    first_follow_up_only "yes" when the item's module is asked only at the first follow-up
    min, max             bounds of a number or scale item
    answer               how the answer is stored (one code, a list of codes, a number ...)
    indicators           item rows: the key indicators that read this item, `a; b`
    label::en ... label::pt_BR
                         the item text (item row), option label (option row), group or
                         indicator label in each of the 13 returnee languages
                         (surveys.translation.LANGUAGES)

Group rows: type `group`, option the group code, answer the items whose options it groups.
Indicator rows: type `indicator`, option the indicator code, condition its rule (true when it
holds, false when not, empty when the answers it needs are missing).

XLSForm (sheets survey, choices, settings)
------------------------------------------

Labels, hints and messages have one column per language, `label::English (en)`,
`label::Français (fr)` ... (the language named in itself, then its code; pt_BR is `pt-BR`,
Dari `fa-AF`, as on the returnee pages). pyxform checks a code against single IANA subtags
only, so it warns that `pt-BR` and `fa-AF` "do not contain valid machine-readable codes": a
false alarm, both are valid BCP 47 tags. Settings: form_title, form_id `<code>_v<version>`,
version, default_language `English (en)`.

Form layout, top to bottom:

- note `intro`, then `consent` (select_one agree/decline, required): everything after it is
  relevant only when `${consent} = 'agree'`; note `thanks` (the end text) closes the form.
- `first_follow_up` (select_one yes/no, required), only when some module is asked once:
  an offline form cannot know which follow-up it is, so the interviewer says so. Modules marked
  `first_follow_up_only` are groups relevant on `${first_follow_up} = 'yes'`. (Its text is not
  in the questionnaire catalog: it reads in English in every language column.)
- each module is a `begin group` / `end group` named by its code, labelled by its title.
- after the modules, one `calculate` per key indicator, named by its code: `1` when it holds,
  `0` when it does not, empty when an answer it needs is missing (not shown, not given, "I do
  not know" or "I prefer not to say"), with the engine's three-valued logic
  (`Questionnaire.indicator_values`).

The choices sheet has a `group` column when options have reporting groups (the group code);
the groups' labels are the choice list `groups`, which no question uses.

Items:

    single, yesno   select_one <list>
    multiple        select_multiple <list>, with a constraint when options are exclusive
                    (`count-selected(.) <= 1 or not(selected(., 'none'))`, message the
                    engine's); with `first: true` also `<code>_first`, a
                    select_one of the same list with choice_filter `selected(${code}, name)`,
                    required and relevant when more than one answer is chosen (with one
                    answer, that one is the first)
    ranked          a field-list group `<code>_ranks` (label: the item text) of three
                    select_one `<code>_1`, `_2`, `_3` ("Reason 1" ...). A rank is relevant
                    once the one before it is answered; its choice_filter leaves out the
                    earlier picks and a constraint (`. != ${code_1}` ...) refuses them too.
                    A calculate `<code>` joins them with spaces, most important first, so a
                    condition on the ranking reads `selected(${code}, 'x')` as for a multiple.
    scale           select_one of its points (`1` ... `5`; the end points carry min_label and
                    max_label), appearance likert
    number          integer, constraint `. >= min and . <= max` (the bounds given)
    date            date, constraint 1990-01-01 <= date <= today
    text            text, constraint string-length(.) <= 300

`required` becomes `required: yes` with the catalog's "Please answer this question." as
required_message; `help` becomes `hint`, the interviewer `instruction` becomes
`guidance_hint` (Collect shows it with Settings > Form management > "Show guidance for
questions"). Choice lists are named after the first item that uses them (plain yes/no lists
`yes_no`, `yes_no_dont_know` ...); items with identical options share one list.

Conditions become `relevant` with the engine's meaning (surveys.conditions), including that an
unanswered item makes a condition false except `not_in`, `not` and `answered: false`:

    equals          ${x} = 'code'   (numbers unquoted: ${x} = 3)
    in / not_in     (${x} = 'a' or ${x} = 'b') / not(${x} = 'a' or ${x} = 'b')
    includes        selected(${x}, 'code')
    answered        ${x} != ''  /  ${x} = ''
    gt gte lt lte   ${x} > 2, >=, <, <=
    all / any / not (a and b) / (a or b) / not(a)

A comparison the engine can never find true (say `equals` on a multiple, whose answer is a
list) becomes `false()`. A condition on an item that has a condition of its own counts that
item as unanswered while it is hidden, as `Questionnaire.effective_answers` does.
"""
from __future__ import annotations

import codecs
import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import IO

from surveys.conditions import Condition
from surveys.definition import Questionnaire
from surveys.items import (EXCLUSIVE_MESSAGE, NON_ANSWERS, REQUIRED_MESSAGE, Item, MultipleChoice, Option,
                           RankedTopThree, Scale)
from surveys import registry
from surveys.translation import LANGUAGE_NAMES, LANGUAGES, translator
from surveys.variables import column_names, numeric_codes, versions_through


class ExportError(ValueError):
    """The definition cannot be written in this format (the message says why)."""




def xlsform_language(language: str) -> str:
    """'English (en)', 'Português (Brasil) (pt-BR)': XLSForm's `label::<this>` convention."""
    return f"{LANGUAGE_NAMES[language]} ({translator(language).html_lang})"


def _number(value) -> str:
    """2.0 -> '2', 0.67 -> '0.67', 1/3 -> '0.3333': no exponent, no float noise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = int(value)
    rounded = round(float(value), 4)
    if rounded == int(rounded):
        return str(int(rounded))
    return format(Decimal(repr(rounded)), "f")


# -- codebook ---------------------------------------------------------------------------------

CODEBOOK_COLUMNS = ["module", "item", "type", "option", "dimension", "weight", "score", "exclusive", "group",
                    "required", "condition", "first_follow_up_only", "min", "max", "answer", "indicators", "value", "variable",
                    *(f"label::{language}" for language in LANGUAGES)]
INDICATOR_ANSWER = "true, false, or empty when an answer it needs is missing"


def describe_condition(condition: Condition) -> str:
    """A condition as one readable line, for the codebook."""
    if condition.kind in ("all", "any"):
        joiner = " and " if condition.kind == "all" else " or "
        parts = [describe_condition(p) for p in condition.parts]
        return joiner.join(f"({p})" if _needs_brackets(c) else p for p, c in zip(parts, condition.parts))
    if condition.kind == "not":
        return f"not ({describe_condition(condition.parts[0])})"
    operand = condition.operand
    if condition.kind in ("in", "not_in"):
        listed = ", ".join(str(v) for v in operand)
        return f"{condition.item} {'in' if condition.kind == 'in' else 'not in'} ({listed})"
    if condition.kind == "answered":
        return f"{condition.item} {'answered' if operand else 'not answered'}"
    symbol = {"equals": "=", "includes": "includes", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    return f"{condition.item} {symbol[condition.kind]} {operand}"


def _needs_brackets(condition: Condition) -> bool:
    return condition.kind in ("all", "any")


def _answer_format(item: Item) -> str:
    name = item.type_name
    if name in ("single", "yesno"):
        return "one option code"
    if isinstance(item, MultipleChoice):
        return "list of option codes" + ("; the one marked first comes first" if item.ask_first else "")
    if isinstance(item, RankedTopThree):
        return f"list of 1 to {item.ranks} different option codes, most important first"
    if isinstance(item, Scale):
        return f"whole number {item.low} to {item.high}" + ("; reversed in the score" if item.reverse else "")
    if name == "number":
        return "whole number"
    if name == "date":
        return "date YYYY-MM-DD"
    if name == "text":
        return f"free text, at most {getattr(item, 'max_length', 300)} characters"
    return ""


def _scale_point_label(item: Scale, point: int, t) -> str:
    end_label = item.low_label if point == item.low else item.high_label if point == item.high else None
    return f"{point} – {t(end_label)}" if end_label else str(point)


def _scale_point_score(item: Scale, point: int) -> float:
    return item.recode(point)


def codebook_rows(questionnaire: Questionnaire) -> list[dict[str, str]]:
    """The codebook as dicts keyed by CODEBOOK_COLUMNS (what write_codebook writes)."""
    translators = {language: translator(language) for language in LANGUAGES}
    versions = versions_through(questionnaire, registry.all_versions().values())
    values, names = numeric_codes(versions), column_names(versions)
    once = {item.code for module in questionnaire.modules if module.first_follow_up_only for item in module.items}
    reading: dict[str, list[str]] = {}
    for indicator in questionnaire.indicators:
        for code in sorted(indicator.when.items(), key=lambda c: questionnaire.items.index(questionnaire.item(c))):
            reading.setdefault(code, []).append(indicator.code)
    rows = []
    for module in questionnaire.modules:
        for item in module.items:
            low = getattr(item, "low", None) if item.type_name in ("scale", "number") else None
            high = getattr(item, "high", None) if item.type_name in ("scale", "number") else None
            row = {
                "module": module.code, "item": item.code, "type": item.type_name, "option": "",
                "dimension": item.dimension or "", "weight": _number(item.weight) if item.scored else "",
                "score": "", "required": "yes" if item.required else "",
                "condition": describe_condition(item.when) if item.when else "",
                "first_follow_up_only": "yes" if item.code in once else "",
                "min": "" if low is None else str(low), "max": "" if high is None else str(high),
                "answer": _answer_format(item), "indicators": "; ".join(reading.get(item.code, [])),
                "variable": _variables_of(item, names),
            }
            row.update({f"label::{lang}": t(item.text) for lang, t in translators.items()})
            rows.append(row)
            for option, labels in _option_rows(item, translators):
                option_row = {column: "" for column in CODEBOOK_COLUMNS}
                option_row.update({"module": module.code, "item": item.code, "type": item.type_name,
                                   "option": option.code, "score": _number(option.score),
                                   "exclusive": "yes" if option.exclusive else "", "group": option.group or "",
                                   "value": str(values.get(item.code, {}).get(option.code, option.code)),
                                   "variable": names.get(f"{item.code}:{option.code}", "")})
                option_row.update({f"label::{lang}": label for lang, label in labels.items()})
                rows.append(option_row)
    for code, label in questionnaire.groups.items():
        users = [item.code for item in questionnaire.items if any(o.group == code for o in item.options)]
        rows.append(_extra_row(translators, type="group", option=code, answer="options of " + ", ".join(users),
                               label=label))
    for indicator in questionnaire.indicators:
        rows.append(_extra_row(translators, type="indicator", option=indicator.code,
                               condition=describe_condition(indicator.when), answer=INDICATOR_ANSWER,
                               label=indicator.label))
    return rows


def _variables_of(item: Item, names: dict[str, str]) -> str:
    """The responses export's column(s) of an item: its own, or those of its options or ranks."""
    if item.code in names:
        return names[item.code]
    return "; ".join(name for key, name in names.items() if key.startswith(f"{item.code}:")
                     and key[len(item.code) + 1:] not in {o.code for o in item.options})


def _extra_row(translators, label: str, **columns) -> dict[str, str]:
    row = {column: "" for column in CODEBOOK_COLUMNS}
    row.update(columns)
    row.update({f"label::{lang}": t(label) for lang, t in translators.items()})
    return row


def _option_rows(item: Item, translators) -> list[tuple[Option, dict[str, str]]]:
    if isinstance(item, Scale):
        return [(Option(str(p), str(p), _scale_point_score(item, p)),
                 {lang: _scale_point_label(item, p, t) for lang, t in translators.items()})
                for p in item.points()]
    return [(o, {lang: t(o.label) for lang, t in translators.items()}) for o in item.options]


def write_codebook(questionnaire: Questionnaire, fileobj: IO) -> None:
    """Write the codebook CSV to `fileobj`: a binary file, or a text file opened with
    encoding="utf-8" (or "utf-8-sig") and newline=""."""
    if isinstance(fileobj, (io.RawIOBase, io.BufferedIOBase)) or "b" in getattr(fileobj, "mode", ""):
        fileobj.write(codecs.BOM_UTF8)
        text = io.TextIOWrapper(fileobj, encoding="utf-8", newline="", write_through=True)
        try:
            _write_csv(questionnaire, text)
            text.flush()
        finally:
            text.detach()
        return
    if (getattr(fileobj, "encoding", None) or "").lower().replace("_", "-") != "utf-8-sig":
        fileobj.write("\ufeff")
    _write_csv(questionnaire, fileobj)


def _write_csv(questionnaire, text):
    writer = csv.DictWriter(text, fieldnames=CODEBOOK_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(codebook_rows(questionnaire))


# -- conditions as XPath ----------------------------------------------------------------------

def _ref(code: str) -> str:
    return "${" + code + "}"


def xpath_string(value: str) -> str:
    """An XPath 1.0 string literal (XPath has no escapes: quotes are switched or concatenated)."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in value.split("'")) + ")"


_VALUE_KIND = {"single": "code", "yesno": "code", "multiple": "list", "ranked": "list",
               "scale": "number", "number": "number", "date": "text", "text": "text"}


def _literal(item: Item, operand) -> str | None:
    """The operand as an XPath literal that can equal this item's answer; None if it never can
    (the engine compares Python values: a number never equals a string, a list nothing)."""
    kind = _VALUE_KIND.get(item.type_name, "text")
    if kind == "number":
        if isinstance(operand, (bool, int, float)):
            return _number(operand)
        return None
    if kind in ("code", "text"):
        return xpath_string(operand) if isinstance(operand, str) else None
    return None


def _or_equals(item: Item, operands) -> str | None:
    literals = [lit for lit in (_literal(item, v) for v in operands) if lit is not None]
    if not literals:
        return None
    terms = [f"{_ref(item.code)} = {lit}" for lit in literals]
    return terms[0] if len(terms) == 1 else "(" + " or ".join(terms) + ")"


def _leaf(item: Item, condition: Condition) -> tuple[str, bool]:
    """(XPath on the item's value, the condition's value when the item is unanswered)."""
    ref, kind, operand = _ref(item.code), condition.kind, condition.operand
    is_list = _VALUE_KIND.get(item.type_name) == "list"
    if kind == "answered":
        return (f"{ref} != ''" if operand else f"{ref} = ''"), not operand
    if kind == "equals":
        lit = _literal(item, operand)
        return (f"{ref} = {lit}" if lit is not None else "false()"), False
    if kind == "in":
        found = _or_equals(item, operand)
        return (found or "false()"), False
    if kind == "not_in":
        if is_list:
            return "true()", True  # a list is never one of the codes
        found = _or_equals(item, operand)
        return (f"not({found})" if found else "true()"), True
    if kind == "includes":
        if is_list and isinstance(operand, str):
            return f"selected({ref}, {xpath_string(operand)})", False
        return "false()", False
    symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[kind]
    if _VALUE_KIND.get(item.type_name) == "number":
        return f"{ref} {symbol} {_number(operand)}", False
    return "false()", False


def relevant_expression(questionnaire: Questionnaire, condition: Condition) -> str:
    """A definition condition as an XLSForm `relevant` expression (see the module docstring)."""
    if condition.kind in ("all", "any"):
        parts = [relevant_expression(questionnaire, p) for p in condition.parts]
        if len(parts) == 1:
            return parts[0]
        return "(" + f" {'and' if condition.kind == 'all' else 'or'} ".join(parts) + ")"
    if condition.kind == "not":
        return f"not({relevant_expression(questionnaire, condition.parts[0])})"
    item = questionnaire.item(condition.item)
    expression, when_unanswered = _leaf(item, condition)
    if item.when is None:
        return expression
    # The engine reads a hidden item as unanswered (effective_answers), whatever it holds.
    shown = relevant_expression(questionnaire, item.when)
    return f"(not({shown}) or {expression})" if when_unanswered else f"({shown} and {expression})"


def _known(questionnaire: Questionnaire, item: Item) -> str:
    """XPath: the item has an answer that counts for an indicator (shown, given, and not only
    "I do not know" / "I prefer not to say"), as `Item.is_substantive` on effective answers."""
    ref = _ref(item.code)
    parts = [f"({relevant_expression(questionnaire, item.when)})"] if item.when else []
    parts.append(f"{ref} != ''")
    is_list = _VALUE_KIND.get(item.type_name) == "list"
    for code in sorted(NON_ANSWERS & item.option_codes()):
        parts.append(f"not(selected({ref}, {xpath_string(code)}))" if is_list else f"{ref} != {xpath_string(code)}")
    return " and ".join(parts)


def _joined(operator: str, parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + f" {operator} ".join(parts) + ")"


def indicator_expressions(questionnaire: Questionnaire, condition: Condition) -> tuple[str, str]:
    """(XPath true when the condition surely holds, XPath true when it surely fails): neither
    holds when a missing answer decides, as `Condition.evaluate_known` (Kleene's logic)."""
    if condition.kind in ("all", "any"):
        parts = [indicator_expressions(questionnaire, p) for p in condition.parts]
        holds, fails = [h for h, _f in parts], [f for _h, f in parts]
        if condition.kind == "all":  # holds when every part holds, fails when one fails
            return _joined("and", holds), _joined("or", fails)
        return _joined("or", holds), _joined("and", fails)
    if condition.kind == "not":
        holds, fails = indicator_expressions(questionnaire, condition.parts[0])
        return fails, holds
    item = questionnaire.item(condition.item)
    known = _known(questionnaire, item)
    if condition.kind == "answered":
        return (f"({known})", f"not({known})") if condition.operand else (f"not({known})", f"({known})")
    expression, _when_unanswered = _leaf(item, condition)
    return f"({known} and {expression})", f"({known} and not({expression}))"


# -- XLSForm ----------------------------------------------------------------------------------

FIRST_FOLLOW_UP_TEXT = "For the interviewer: is this the first follow-up with this returnee (about one month after return)?"
FIRST_FOLLOW_UP_HINT = "Answer yes to ask the questions that are asked only once."
RANK_LABEL = "Reason %(rank)s"
RANK_MESSAGE = "Choose a different answer for each rank."
FIRST_MESSAGE = "The one that came first must be one of the answers you chose."
NUMBER_MESSAGE = "Please give a number from %(min)s to %(max)s."
DATE_MESSAGE = "Please give a date that has already passed."
TEXT_MESSAGE = "Please keep it under %(max)s characters."
_TRANSLATED = ("label", "hint", "guidance_hint", "required_message", "constraint_message")
_PLAIN = ("required", "relevant", "constraint", "choice_filter", "appearance", "calculation", "trigger")


class _Texts:
    """A text in every language: {language: text}."""

    def __init__(self):
        self.translators = {language: translator(language) for language in LANGUAGES}

    def __call__(self, message: str | None, **params) -> dict[str, str] | None:
        if not message:
            return None
        return {language: t(message, **params) for language, t in self.translators.items()}

    def each(self, make) -> dict[str, str]:
        """Build a text per language: make(t) with that language's translator."""
        return {language: make(t) for language, t in self.translators.items()}


class _ChoiceLists:
    def __init__(self):
        # list name -> [(code, {language: label}, reporting group or None)]
        self.lists: dict[str, list[tuple[str, dict[str, str], str | None]]] = {}
        self._by_content: dict[tuple, str] = {}

    def add(self, preferred: str, choices: list[tuple]) -> str:
        """`choices`: (code, labels) or (code, labels, group)."""
        choices = [(c[0], c[1], c[2] if len(c) > 2 else None) for c in choices]
        key = tuple((code, tuple(sorted(labels.items())), group) for code, labels, group in choices)
        if key in self._by_content:
            return self._by_content[key]
        name, n = preferred, 1
        while name in self.lists:
            n += 1
            name = f"{preferred}_{n}"
        self.lists[name] = choices
        self._by_content[key] = name
        return name


class _Form:
    def __init__(self, questionnaire: Questionnaire):
        self.questionnaire = questionnaire
        self.text = _Texts()
        self.choices = _ChoiceLists()
        self.rows: list[dict] = []
        self.names: dict[str, str] = {}  # name -> what uses it, to refuse a clash
        self.problems: list[str] = []

    def claim(self, name: str, what: str) -> str:
        if name in self.names:
            self.problems.append(f"the XLSForm needs the name {name!r} for {what}, "
                                 f"but it is already used by {self.names[name]}")
        else:
            self.names[name] = what
        return name

    def add(self, type_: str, name: str, **columns) -> None:
        row = {"type": type_, "name": name}
        row.update({k: v for k, v in columns.items() if v not in (None, "", {})})
        self.rows.append(row)

    def item_choices(self, item: Item, preferred: str | None = None) -> str:
        if isinstance(item, Scale):
            choices = [(str(p), self.text.each(lambda t, p=p: _scale_point_label(item, p, t))) for p in item.points()]
        else:
            for option in item.options:
                if item.type_name in ("multiple", "ranked") and (not option.code or option.code != option.code.strip()
                                                                 or any(c.isspace() for c in option.code)):
                    self.problems.append(f"item {item.code!r}: option code {option.code!r} has a space, which "
                                         f"a {item.type_name} item cannot carry in XLSForm")
            choices = [(o.code, self.text(o.label), o.group) for o in item.options]
        if preferred is None:
            preferred = "_".join(o.code for o in item.options) if item.type_name == "yesno" else item.code
        return self.choices.add(preferred, choices)


def xlsform_sheets(questionnaire: Questionnaire, *, lead=None, first_follow_up_from: str | None = None,
                   settings: dict | None = None) -> dict[str, tuple[list[str], list[list]]]:
    """The XLSForm as {sheet: (header, rows)}: what write_xlsform puts in the workbook.

    `lead(form)` adds rows before the introduction (the work list's case question);
    `first_follow_up_from`: an XPath giving "yes" or "no", which makes `first_follow_up` a
    calculate instead of a question to the interviewer; `settings` overrides the settings row."""
    form = _Form(questionnaire)
    t = form.text
    q = questionnaire
    for module in q.modules:
        form.claim(module.code, f"module {module.code!r}")
        for item in module.items:
            form.claim(item.code, f"item {item.code!r}")
    if lead is not None:
        lead(form)

    if q.intro:
        form.add("note", form.claim("intro", "the introduction"), label=t(q.intro))
    consent_list = form.choices.add("consent", [("agree", t(q.consent.get("agree"))),
                                                ("decline", t(q.consent.get("decline")))])
    form.add(f"select_one {consent_list}", form.claim("consent", "the consent question"),
             label=t(q.consent.get("text")), required="yes", required_message=t(REQUIRED_MESSAGE))
    consented = "${consent} = 'agree'"
    first_follow_up = None
    if any(m.first_follow_up_only for m in q.modules):
        yes_no = form.choices.add("yes_no", [("yes", t("Yes")), ("no", t("No"))])
        first_follow_up = form.claim("first_follow_up", "the first follow-up question")
        if first_follow_up_from:
            form.add("calculate", first_follow_up, calculation=first_follow_up_from)
        else:
            form.add(f"select_one {yes_no}", first_follow_up, label=t(FIRST_FOLLOW_UP_TEXT),
                     hint=t(FIRST_FOLLOW_UP_HINT), required="yes", required_message=t(REQUIRED_MESSAGE),
                     relevant=consented)

    for module in q.modules:
        relevant = consented
        if module.first_follow_up_only:
            relevant = f"{consented} and {_ref(first_follow_up)} = 'yes'"
        form.add("begin group", module.code, label=t(module.title), relevant=relevant)
        for item in module.items:
            _add_item(form, item)
        form.add("end group", "")
    for indicator in q.indicators:
        holds, fails = indicator_expressions(q, indicator.when)
        form.add("calculate", form.claim(indicator.code, f"indicator {indicator.code!r}"),
                 calculation=f"if({holds}, 1, if({fails}, 0, ''))")
    if q.groups:
        form.choices.add("groups", [(code, t(label)) for code, label in q.groups.items()])
    if q.end:
        form.add("note", form.claim("thanks", "the closing note"), label=t(q.end))

    if form.problems:
        raise ExportError("; ".join(form.problems))
    return _sheets(form, settings)


def _add_item(form: _Form, item: Item) -> None:
    t, q = form.text, form.questionnaire
    relevant = relevant_expression(q, item.when) if item.when else None
    common = {"hint": t(item.help), "guidance_hint": t(item.instruction)}
    required = {"required": "yes", "required_message": t(REQUIRED_MESSAGE)} if item.required else {}
    name = item.type_name

    if isinstance(item, RankedTopThree):
        ranks = [form.claim(f"{item.code}_{n}", f"rank {n} of item {item.code!r}") for n in range(1, item.ranks + 1)]
        group = form.claim(f"{item.code}_ranks", f"the ranks of item {item.code!r}")
        choices = form.item_choices(item)
        form.add("begin group", group, label=t(item.text), appearance="field-list", relevant=relevant)
        for n, rank in enumerate(ranks, start=1):
            earlier = [_ref(r) for r in ranks[:n - 1]]
            form.add(f"select_one {choices}", rank, label=t(RANK_LABEL, rank=n),
                     relevant=f"{earlier[-1]} != ''" if earlier else None,
                     choice_filter=" and ".join(f"name != {e}" for e in earlier) or None,
                     constraint=" and ".join(f". != {e}" for e in earlier) or None,
                     constraint_message=t(RANK_MESSAGE) if earlier else None,
                     **(common if n == 1 else {}), **(required if n == 1 else {}))
        form.add("end group", "")
        joined = ", ' ', ".join(_ref(r) for r in ranks)
        form.add("calculate", item.code, calculation=f"normalize-space(concat({joined}))")
        return

    if name in ("single", "yesno", "multiple", "scale"):
        choices = form.item_choices(item)
        exclusive = sorted(item.exclusive_codes()) if isinstance(item, MultipleChoice) else []
        alone = " or ".join(f"selected(., {xpath_string(code)})" for code in exclusive)
        form.add(f"{'select_multiple' if name == 'multiple' else 'select_one'} {choices}", item.code,
                 label=t(item.text), relevant=relevant, appearance="likert" if name == "scale" else None,
                 constraint=f"count-selected(.) <= 1 or not({alone})" if exclusive else None,
                 constraint_message=t(EXCLUSIVE_MESSAGE) if exclusive else None,
                 **common, **required)
        if isinstance(item, MultipleChoice) and item.ask_first:
            first = form.claim(f"{item.code}_first", f"the first answer of item {item.code!r}")
            more_than_one = f"count-selected({_ref(item.code)}) > 1"
            form.add(f"select_one {choices}", first, label=t(item.first_text),
                     relevant=f"{relevant} and {more_than_one}" if relevant else more_than_one,
                     choice_filter=f"selected({_ref(item.code)}, name)",
                     constraint=f"selected({_ref(item.code)}, .)", constraint_message=t(FIRST_MESSAGE),
                     required="yes", required_message=t(REQUIRED_MESSAGE))
        return
    if name == "number":
        bounds = [f". >= {item.low}"] * (item.low is not None) + [f". <= {item.high}"] * (item.high is not None)
        message = t(NUMBER_MESSAGE, min=item.low, max=item.high) if len(bounds) == 2 else None
        form.add("integer", item.code, label=t(item.text), relevant=relevant,
                 constraint=" and ".join(bounds) or None, constraint_message=message, **common, **required)
        return
    if name == "date":
        form.add("date", item.code, label=t(item.text), relevant=relevant,
                 constraint=". >= date('1990-01-01') and . <= today()", constraint_message=t(DATE_MESSAGE),
                 **common, **required)
        return
    if name == "text":
        limit = getattr(item, "max_length", 300)
        form.add("text", item.code, label=t(item.text), relevant=relevant,
                 constraint=f"string-length(.) <= {limit}", constraint_message=t(TEXT_MESSAGE, max=limit),
                 **common, **required)
        return
    raise ExportError(f"item {item.code!r}: no XLSForm mapping for type {name!r}")


def _sheets(form: _Form, overrides: dict | None = None) -> dict[str, tuple[list[str], list[list]]]:
    languages = {language: xlsform_language(language) for language in LANGUAGES}
    used = {key for row in form.rows for key in row}
    header = ["type", "name"]
    for column in _TRANSLATED:
        if column in used:
            header += [f"{column}::{languages[lang]}" for lang in LANGUAGES]
    header += [column for column in _PLAIN if column in used]
    survey = []
    for row in form.rows:
        line = []
        for column in header:
            base, _, language_label = column.partition("::")
            value = row.get(base)
            if language_label:
                language = next(lang for lang, label in languages.items() if label == language_label)
                value = value.get(language) if value else None
            line.append(value)
        survey.append(line)
    grouped = any(group for entries in form.choices.lists.values() for _c, _l, group in entries)
    choices_header = ["list_name", "name", *(f"label::{languages[lang]}" for lang in LANGUAGES),
                      *(["group"] if grouped else [])]
    choices = [[list_name, code, *(labels[lang] for lang in LANGUAGES), *([group] if grouped else [])]
               for list_name, entries in form.choices.lists.items() for code, labels, group in entries]
    q = form.questionnaire
    settings_header = ["form_title", "form_id", "version", "default_language"]
    settings = {"form_title": q.title, "form_id": f"{q.code}_v{q.version}", "version": str(q.version),
                "default_language": languages["en"], **(overrides or {})}
    settings = [[settings[column] for column in settings_header]]
    return {"survey": (header, survey), "choices": (choices_header, choices),
            "settings": (settings_header, settings)}


def write_xlsform(questionnaire: Questionnaire, path: str | Path | IO[bytes]) -> None:
    """Write the XLSForm workbook (.xlsx) to `path` (a file name or a binary file)."""
    write_workbook(xlsform_sheets(questionnaire), path)  # refuses before anything is written


def write_workbook(sheets: dict[str, tuple[list[str], list[list]]], path: str | Path | IO[bytes]) -> None:
    """Write {sheet: (header, rows)} as an .xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                # openpyxl takes a string starting with "=" as a formula: keep it text.
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
    workbook.save(path)


# -- the work list form -------------------------------------------------------------------------

CASE_LIST = "cases.csv"
CASE_TEXT = "Returnee and wave"
CASE_HINT = "Type part of the case code to find the case in the list."
MODE_TEXT = "How is this interview done?"
MODES = {"phone": "Phone call", "visit": "Home visit"}
LANGUAGE_TEXT = "Language of the interview"
# The fields of the work list form that are not questionnaire items, as they come back.
WORKLIST_FIELDS = ("start", "end", "case", "questionnaire_version", "mode", "language", "consent",
                   "first_follow_up")


def case_lookup(column: str) -> str:
    """The XPath of a column of the chosen case's row in the case list."""
    return f"instance('{CASE_LIST.removesuffix('.csv')}')/root/item[name = ${{case}}]/{column}"


def worklist_sheets(questionnaire: Questionnaire, *, form_id: str, version: str,
                    title: str | None = None) -> dict[str, tuple[list[str], list[list]]]:
    """The questionnaire as a work list form: `start` and `end` times, then the case chosen from
    the attached case list (`select_one_from_file cases.csv`: columns name, label, language,
    first ...), how the interview is done (phone or visit), its language (the case's, as a
    default), then the questionnaire, whose once-only modules follow the case list's `first`
    column instead of a question to the interviewer."""

    def lead(form: _Form) -> None:
        t = form.text
        required = {"required": "yes", "required_message": t(REQUIRED_MESSAGE)}
        form.add("start", form.claim("start", "the start time"))
        form.add("end", form.claim("end", "the end time"))
        form.add(f"select_one_from_file {CASE_LIST}", form.claim("case", "the case"), label=t(CASE_TEXT),
                 hint=t(CASE_HINT), appearance="autocomplete", **required)
        form.add("calculate", form.claim("questionnaire_version", "the questionnaire version"),
                 calculation=str(questionnaire.version))
        modes = form.choices.add("mode", [(code, t(label)) for code, label in MODES.items()])
        form.add(f"select_one {modes}", form.claim("mode", "the interview mode"), label=t(MODE_TEXT), **required)
        languages = form.choices.add("language", [(code, {language: LANGUAGE_NAMES[code] for language in LANGUAGES})
                                                  for code in LANGUAGES])
        form.add(f"select_one {languages}", form.claim("language", "the interview language"),
                 label=t(LANGUAGE_TEXT), calculation=case_lookup("language"), trigger="${case}", **required)

    return xlsform_sheets(questionnaire, lead=lead, first_follow_up_from=case_lookup("first"),
                          settings={"form_id": form_id, "version": version,
                                    **({"form_title": title} if title else {})})


def field_paths(sheets: dict[str, tuple[list[str], list[list]]]) -> dict[str, tuple[str, ...]]:
    """Each field of a form by name: its path of group names, itself last (`("housing",
    "housing_situation")`), as ODK Central and KoboToolbox name their export columns."""
    header, rows = sheets["survey"]
    type_at, name_at = header.index("type"), header.index("name")
    groups: list[str] = []
    paths = {}
    for row in rows:
        kind, name = row[type_at], row[name_at]
        if kind == "begin group":
            groups.append(name)
        elif kind == "end group":
            groups.pop()
        else:  # notes too: an export may have a column for them
            paths[name] = (*groups, name)
    return paths
