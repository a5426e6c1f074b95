"""The questionnaire as statistical variables: stable numeric codes for the answer options, and
the export's columns with names Stata and SPSS accept. Pure: no Flask, no database.

Numeric codes (the same in every export, whatever the questionnaire version):

- an item's options are numbered 1, 2, 3 ... in the order they first appear over the published
  versions, oldest first: version 1's options in its order, then each option a later version
  adds, at the end. A published version is never edited, so a number, once given, never moves;
  an option a later version drops keeps its number (retired, still read in older responses);
- a yes/no item is yes = 1, no = 0 (its mean is the share of yes);
- "I do not know" (`dont_know`) is 97 and "I prefer not to say" (`prefer_not_to_say`) 98 in
  every item (user-missing in the SPSS file);
- a scale stores its point (1 ... 5); a number, a date or a text is not coded.

Variable names (at most 28 characters: Stata allows 32, but pyreadstat, which writes the .dta,
names a variable's set of value labels after it followed by a counter (`debts17`), and that
name has Stata's limit too; 28 leaves room for 9,999 labelled variables. SPSS allows 64):

- a column that holds a whole answer is named by its item code (`housing_situation`); a
  multiple choice has one 0/1 column per option, `<item>_<option>`, and with a first-marked
  answer `<item>_first` (the numeric code of the first); a ranking one column per rank,
  `<item>_1`, `<item>_2`, `<item>_3`; a red flag `flag_<code>`;
- a name longer than 28 characters, or equal (ignoring case, as SPSS does) to the name of a
  column before it, becomes its first 21 characters, `_` and the first 6 hexadecimal digits of
  the SHA-1 of the column's key (`heard_from:other`), so the same column always gets the same
  name. Names are given over every column of every version in export order (free text
  included), then the columns not exported are left out: a name does not depend on the options.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from surveys.definition import Questionnaire
from surveys.items import DONT_KNOW, PREFER_NOT_TO_SAY, Item

MAX_NAME = 28
# The case and design columns of the responses export, before the flags and the items.
CASE_COLUMNS = ("code", "wave", "country", "partner", "local_partner", "cohort", "sex", "vulnerabilities", "channel",
                "mode", "aapor", "stratum", "N_h", "probability", "weight", "scoring_version", "score_economic",
                "score_social", "score_psychosocial", "score_composite")
SPECIAL_CODES = {DONT_KNOW: 97, PREFER_NOT_TO_SAY: 98}
YES_NO = {"yes": 1, "no": 0}


def numeric_codes(versions: Iterable[Questionnaire]) -> dict[str, dict[str, int]]:
    """item code -> option code -> its stable number, over `versions` (every published version
    of one questionnaire)."""
    codes: dict[str, dict[str, int]] = {}
    for questionnaire in sorted(versions, key=lambda q: q.version):
        for item in questionnaire.items:
            if not item.takes_options:
                continue
            numbers = codes.setdefault(item.code, {})
            for option in item.options:
                if option.code in numbers:
                    continue
                if option.code in SPECIAL_CODES:
                    numbers[option.code] = SPECIAL_CODES[option.code]
                elif item.type_name == "yesno" and option.code in YES_NO:
                    numbers[option.code] = YES_NO[option.code]
                else:
                    numbers[option.code] = 1 + sum(1 for n in numbers.values() if 0 < n < min(SPECIAL_CODES.values()))
    return codes


@dataclass(frozen=True)
class Column:
    """One column of the responses export, for an item's answer."""

    key: str  # the full item code, with the option or rank: heard_from:other, decision_factors:2
    item: str
    kind: str  # answer (one value), option (0/1), first (a code), rank (a code), text
    option: str | None = None
    rank: int | None = None
    name: str = ""  # the variable name (name_columns)


def item_columns(versions: Iterable[Questionnaire]) -> list[Column]:
    """The answer columns of every version: items in the newest version's order, then the items
    only older versions have; a multiple item's options in their numeric order."""
    versions = sorted(versions, key=lambda q: q.version)
    items: dict[str, Item] = {}
    for questionnaire in reversed(versions):
        for item in questionnaire.items:
            items.setdefault(item.code, item)
    codes = numeric_codes(versions)
    columns = []
    for code, item in items.items():
        if item.type_name == "multiple":
            for option in sorted(codes[code], key=lambda o: codes[code][o]):
                columns.append(Column(f"{code}:{option}", code, "option", option=option))
            if any(getattr(q.item(code), "ask_first", False) for q in versions if q.has_item(code)):
                columns.append(Column(f"{code}:first", code, "first"))
        elif item.type_name == "ranked":
            columns += [Column(f"{code}:{rank}", code, "rank", rank=rank) for rank in range(1, item.ranks + 1)]
        elif item.type_name == "text":
            columns.append(Column(code, code, "text"))
        else:
            columns.append(Column(code, code, "answer"))
    return columns


def candidate_name(key: str) -> str:
    """heard_from:other -> heard_from_other; flag:no_shelter -> flag_no_shelter."""
    return key.replace(":", "_")


def variable_names(keys: Iterable[str]) -> dict[str, str]:
    """key -> variable name by the rule above, in the order given."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for key in keys:
        name = candidate_name(key)
        if len(name) > MAX_NAME or name.lower() in taken:
            name = f"{name[:MAX_NAME - 7]}_{hashlib.sha1(key.encode()).hexdigest()[:6]}"
        if name.lower() in taken:  # a SHA-1 collision on 24 bits: give up loudly rather than overwrite
            raise ValueError(f"two export columns would be named {name}")
        taken.add(name.lower())
        names[key] = name
    return names


def column_names(versions: Iterable[Questionnaire]) -> dict[str, str]:
    """key -> variable name for every column of the responses export over `versions`: the case
    columns, `flag:<code>` for the newest version's flags, then `item_columns`."""
    versions = sorted(versions, key=lambda q: q.version)
    flags = [f"flag:{flag.code}" for flag in versions[-1].flags] if versions else []
    return variable_names([*CASE_COLUMNS, *flags, *(c.key for c in item_columns(versions))])


def versions_through(questionnaire: Questionnaire, published: Iterable[Questionnaire]) -> list[Questionnaire]:
    """The published versions of the same questionnaire before this one, and this one."""
    return [q for q in published if q.code == questionnaire.code and q.version < questionnaire.version] + [
        questionnaire]
