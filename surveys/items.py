"""Question types. Each is a small class with one interface:

- `from_spec` reads its part of the definition (and says what is wrong with it);
- `parse_form` turns submitted form fields into the stored answer, or an `AnswerError`;
- `normalise` checks a stored or imported answer (codes, `;` lists) the same way;
- `recode` gives the 0..1 score of an answer, or None when it is not scored;
- `texts` lists the translatable strings (surveys/exports.py maps each type to XLSForm).

Options of choice items carry a `score`, a reporting `group` and, in a multiple item,
`exclusive: true` for an answer that stands alone ("none"; "I do not know" and "I prefer not to
say" always do there).

Error messages are gettext message ids of the "questionnaire" domain (marked with N_), with
their parameters; the web layer translates them into the returnee's language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from surveys.conditions import Condition


def N_(message: str) -> str:
    """Mark a string for extraction into the questionnaire catalog; translated later."""
    return message


class AnswerError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class SpecError(ValueError):
    pass


# A multiple answer with an exclusive option ("none", "I do not know") beside another one. It
# names no option: message parameters are not translated, and the returnee sees the options.
EXCLUSIVE_MESSAGE = N_("One of the answers you chose can only be chosen on its own. Choose it alone, or untick it.")

DONT_KNOW = "dont_know"
PREFER_NOT_TO_SAY = "prefer_not_to_say"
_EXTRA_OPTIONS = {DONT_KNOW: N_("I do not know"), PREFER_NOT_TO_SAY: N_("I prefer not to say")}
# Answers that are given but say nothing: missing information, not a "not applicable".
NON_ANSWERS = frozenset(_EXTRA_OPTIONS)


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    score: float | None = None
    # Cannot be chosen together with any other answer ("none", "I do not know"): multiple only.
    exclusive: bool = False
    # A reporting group (a code of the definition's `groups:`), e.g. word_of_mouth.
    group: str | None = None


# What the options of a choice item may carry.
OPTION_KEYS = ("code", "label", "score", "exclusive", "group")


@dataclass
class Item:
    """The common part of every question type."""

    code: str
    text: str
    module: str
    required: bool = False
    help: str | None = None
    instruction: str | None = None  # for the interviewer only
    when: Condition | None = None
    dimension: str | None = None
    weight: float = 1.0
    extra: dict = field(default_factory=dict)

    type_name = ""
    template = ""
    takes_options = False

    @classmethod
    def from_spec(cls, spec: dict, module: str, when: Condition | None) -> Item:
        item = cls(code=spec["code"], text=spec["text"], module=module, required=bool(spec.get("required", False)),
                   help=spec.get("help"), instruction=spec.get("instruction"), when=when,
                   dimension=spec.get("dimension"), weight=float(spec.get("weight", 1)))
        item.configure(spec)
        return item

    def configure(self, spec: dict) -> None:
        """Read the type's own keys from the definition."""

    @property
    def scored(self) -> bool:
        return self.dimension is not None

    @property
    def options(self) -> list[Option]:
        return []

    def option_codes(self) -> set[str]:
        return {o.code for o in self.options}

    def texts(self) -> list[str]:
        found = [self.text] + [t for t in (self.help, self.instruction) if t]
        return found + [o.label for o in self.options]

    def parse_form(self, form) -> object | None:
        """`form` maps field names to lists of submitted strings (a MultiDict's getlist). Most
        types answer in one field named after the item."""
        value = _first(form, self.code)
        return self.normalise(value) if value else None

    def normalise(self, value) -> object | None:
        raise NotImplementedError

    def recode(self, value) -> float | None:
        return None

    def codes_of(self, value) -> list[str]:
        """The option codes in an answer (for exports and conditions)."""
        return []

    def answer_text(self, value, t) -> str:
        """An answer as a person reads it: option labels through the translator `t`, in answer
        order; other answers as they are; "" for no answer."""
        if value in (None, "", []):
            return ""
        if self.takes_options:
            labels = {o.code: t(o.label) for o in self.options}
            return ", ".join(labels.get(code, code) for code in (value if isinstance(value, list) else [value]))
        return str(value)

    def groups_of(self, value) -> list[str]:
        """The reporting groups of the options in an answer, in answer order, each once
        (ungrouped options add nothing): ["word_of_mouth", "return_services"]."""
        groups = {o.code: o.group for o in self.options if o.group}
        return list(dict.fromkeys(groups[c] for c in self.codes_of(value) if c in groups))

    def is_substantive(self, value) -> bool:
        """Whether an answer says something: given, and not only "I do not know" or "I prefer
        not to say" (which count as missing in indicators and in a dimension's answered share)."""
        if value in (None, "", []):
            return False
        codes = self.codes_of(value)
        return not codes or any(c not in NON_ANSWERS for c in codes)

    def check(self, dimensions) -> list[str]:
        """Problems with this item's definition, beyond what from_spec refused."""
        problems = []
        if self.dimension is not None and self.dimension not in dimensions:
            problems.append(f"item {self.code!r}: unknown dimension {self.dimension!r}")
        if self.dimension is not None and not self.can_score():
            problems.append(f"item {self.code!r}: has a dimension but none of its answers has a score")
        return problems

    def can_score(self) -> bool:
        return False


def _first(form, name: str) -> str:
    values = form.getlist(name) if hasattr(form, "getlist") else form.get(name, [])
    values = [values] if isinstance(values, str) else values
    return (values[0] if values else "").strip()


def _all(form, name: str) -> list[str]:
    values = form.getlist(name) if hasattr(form, "getlist") else form.get(name, [])
    values = [values] if isinstance(values, str) else values
    return [v.strip() for v in values if v.strip()]


@dataclass
class ChoiceItem(Item):
    takes_options = True
    takes_several = False  # several options in one answer, any of which may be exclusive
    choice_options: list[Option] = field(default_factory=list)

    def configure(self, spec):
        raw = spec.get("options")
        if not isinstance(raw, list) or not raw:
            raise SpecError(f"item {self.code!r}: a {self.type_name} item needs a list of options")
        options = []
        for entry in raw:
            if not isinstance(entry, dict) or "code" not in entry or "label" not in entry:
                raise SpecError(f"item {self.code!r}: every option needs a code and a label, not {entry!r}")
            if set(entry) - set(OPTION_KEYS):
                # Most often an unquoted label with a comma, which YAML splits into keys.
                raise SpecError(f"item {self.code!r}: option {entry['code']!r} has unknown keys "
                                f"{', '.join(map(str, sorted(set(entry) - set(OPTION_KEYS), key=str)))} "
                                "(a label with a comma needs quotes)")
            score = entry.get("score")
            if score is not None and not (isinstance(score, (int, float)) and 0 <= score <= 1):
                raise SpecError(f"item {self.code!r}: option {entry['code']!r} has score {score!r}, not between 0 and 1")
            exclusive = entry.get("exclusive", False)
            if not isinstance(exclusive, bool):
                raise SpecError(f"item {self.code!r}: option {entry['code']!r}: exclusive is true or false, "
                                f"not {exclusive!r}")
            if exclusive and not self.takes_several:
                raise SpecError(f"item {self.code!r}: option {entry['code']!r} is exclusive, which only a "
                                f"multiple item can use (one answer of a {self.type_name} item excludes the others)")
            group = entry.get("group")
            if group is not None and not isinstance(group, str):
                raise SpecError(f"item {self.code!r}: option {entry['code']!r}: group must be a group code, "
                                f"not {group!r}")
            options.append(Option(str(entry["code"]), str(entry["label"]), score, exclusive, group))
        for flag, code in (("dont_know", DONT_KNOW), ("refusable", PREFER_NOT_TO_SAY)):
            if spec.get(flag):
                # "I do not know" beside an answer means nothing: in a multiple item it stands alone.
                options.append(Option(code, _EXTRA_OPTIONS[code], exclusive=self.takes_several))
        self.choice_options = options

    @property
    def options(self):
        return self.choice_options

    def can_score(self):
        return any(o.score is not None for o in self.options)

    def recode(self, value):
        for option in self.options:
            if option.code == value:
                return option.score
        return None


@dataclass
class SingleChoice(ChoiceItem):
    type_name = "single"
    template = "single"

    def normalise(self, value):
        if value in (None, ""):
            return None
        if value not in self.option_codes():
            raise AnswerError(N_("Please choose one of the answers given."))
        return value

    def codes_of(self, value):
        return [value] if value else []


@dataclass
class YesNo(SingleChoice):
    type_name = "yesno"
    template = "single"

    def configure(self, spec):
        scores = spec.get("scores") or {}
        if set(scores) - {"yes", "no"}:
            raise SpecError(f"item {self.code!r}: a yesno item scores only 'yes' and 'no'")
        spec = dict(spec, options=[
            {"code": "yes", "label": N_("Yes"), "score": scores.get("yes")},
            {"code": "no", "label": N_("No"), "score": scores.get("no")}])
        super().configure(spec)


@dataclass
class ListChoiceItem(ChoiceItem):
    """An answer that is a list of option codes (several answers, or a ranking): described,
    not scored."""

    repeated_message = N_("Each answer can be chosen only once.")

    def _codes(self, value) -> list[str]:
        return [c.strip() for c in value.split(";")] if isinstance(value, str) else list(value)

    def _check(self, codes: list[str]) -> list[str]:
        if any(c not in self.option_codes() for c in codes):
            raise AnswerError(N_("Please choose among the answers given."))
        if len(set(codes)) != len(codes):
            raise AnswerError(self.repeated_message)
        return codes

    def recode(self, value):
        return None

    def can_score(self):
        return False

    def codes_of(self, value):
        return list(value or [])


@dataclass
class MultipleChoice(ListChoiceItem):
    """Several answers; with `first: true` one of them is marked as the first (stored first)."""

    type_name = "multiple"
    template = "multiple"
    takes_several = True
    ask_first: bool = False
    first_text: str | None = None

    def configure(self, spec):
        super().configure(spec)
        self.ask_first = bool(spec.get("first"))
        self.first_text = spec.get("first_text")
        if self.ask_first and not self.first_text:
            raise SpecError(f"item {self.code!r}: 'first: true' needs a first_text question")

    def texts(self):
        return super().texts() + ([self.first_text] if self.first_text else [])

    def parse_form(self, form):
        chosen = _all(form, self.code)
        if not chosen:
            return None
        if len(set(chosen)) > 1 and self.exclusive_codes() & set(chosen):
            raise AnswerError(EXCLUSIVE_MESSAGE)  # before asking which came first
        first = _first(form, f"{self.code}__first") if self.ask_first else ""
        if self.ask_first and len(chosen) > 1 and not first:
            raise AnswerError(N_("Please say which one came first."))
        if first and first not in chosen:
            raise AnswerError(N_("The one that came first must be one of the answers you chose."))
        if first:
            chosen = [first] + [c for c in chosen if c != first]
        return self.normalise(chosen)

    def normalise(self, value):
        if value in (None, "", []):
            return None
        codes = self._check([c for c in self._codes(value) if c])
        if len(codes) > 1 and self.exclusive_codes() & set(codes):
            raise AnswerError(EXCLUSIVE_MESSAGE)
        return codes

    def exclusive_codes(self) -> set[str]:
        return {o.code for o in self.options if o.exclusive}


@dataclass
class RankedTopThree(ListChoiceItem):
    """Up to three distinct answers in order of importance: [rank 1, rank 2, rank 3]."""

    type_name = "ranked"
    template = "ranked"
    ranks = 3
    repeated_message = N_("Choose a different answer for each rank.")

    def parse_form(self, form):
        chosen = [_first(form, f"{self.code}__{rank}") for rank in range(1, self.ranks + 1)]
        while chosen and not chosen[-1]:
            chosen.pop()
        if not chosen:
            return None
        if "" in chosen:
            raise AnswerError(N_("Please fill the ranks in order: first the most important."))
        return self.normalise(chosen)

    def normalise(self, value):
        if value in (None, "", []):
            return None
        codes = self._codes(value)
        if not codes or len(codes) > self.ranks or any(not c for c in codes):
            raise AnswerError(N_("Please choose one to three answers, most important first."))
        return self._check(codes)


@dataclass
class Scale(Item):
    type_name = "scale"
    template = "scale"
    low: int = 1
    high: int = 5
    low_label: str | None = None
    high_label: str | None = None
    reverse: bool = False

    def configure(self, spec):
        self.low, self.high = spec.get("min", 1), spec.get("max", 5)
        if not (isinstance(self.low, int) and isinstance(self.high, int) and self.low < self.high <= self.low + 10):
            raise SpecError(f"item {self.code!r}: a scale needs whole numbers min < max, at most 10 apart")
        self.low_label, self.high_label = spec.get("min_label"), spec.get("max_label")
        self.reverse = bool(spec.get("reverse"))

    def texts(self):
        return super().texts() + [t for t in (self.low_label, self.high_label) if t]

    def points(self) -> list[int]:
        return list(range(self.low, self.high + 1))

    def normalise(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip()
        if not re.fullmatch(r"-?[0-9]{1,6}", text):
            raise AnswerError(N_("Please choose a point on the scale."))
        number = int(text)
        if not self.low <= number <= self.high:
            raise AnswerError(N_("Please choose a point on the scale."))
        return number

    def can_score(self):
        return True

    def recode(self, value):
        if value is None:
            return None
        share = (value - self.low) / (self.high - self.low)
        return 1 - share if self.reverse else share


@dataclass
class Number(Item):
    type_name = "number"
    template = "number"
    low: int | None = None
    high: int | None = None

    def configure(self, spec):
        self.low, self.high = spec.get("min"), spec.get("max")
        if any(b is not None and (isinstance(b, bool) or not isinstance(b, int)) for b in (self.low, self.high)):
            raise SpecError(f"item {self.code!r}: min and max must be whole numbers")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise SpecError(f"item {self.code!r}: min is larger than max")

    def normalise(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip()
        if not re.fullmatch(r"-?[0-9]{1,15}", text):  # more digits than any count or amount
            raise AnswerError(N_("Please give a whole number."))
        number = int(text)
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise AnswerError(N_("Please give a number from %(min)s to %(max)s."), min=self.low, max=self.high)
        return number


@dataclass
class DateItem(Item):
    type_name = "date"
    template = "date"

    def normalise(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip()
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError
            parsed = date.fromisoformat(text)
        except ValueError:
            raise AnswerError(N_("Please give a date as year-month-day, for example 2026-03-01.")) from None
        if parsed.year < 1990 or parsed > date.today():
            raise AnswerError(N_("Please give a date that has already passed."))
        return text


@dataclass
class ShortText(Item):
    type_name = "text"
    template = "text"
    max_length = 300

    def parse_form(self, form):
        return self.normalise(_first(form, self.code))

    def normalise(self, value):
        text = " ".join(str(value or "").split())
        if not text:
            return None
        if len(text) > self.max_length:
            raise AnswerError(N_("Please keep it under %(max)s characters."), max=self.max_length)
        return text


ITEM_TYPES: dict[str, type[Item]] = {cls.type_name: cls for cls in (
    SingleChoice, YesNo, MultipleChoice, RankedTopThree, Scale, Number, DateItem, ShortText)}

# Messages the web layer adds around the items, extracted with them.
REQUIRED_MESSAGE = N_("Please answer this question.")
