"""The questionnaire definition: loading a version file, validating it, walking its items.

    questionnaire = load_definition(Path("surveys/definitions/standard-v1.yaml"))
    questionnaire.visible_items(answers, first_follow_up=True)

`load_definition` refuses a broken file with every problem listed (`DefinitionError`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from surveys.conditions import Condition, ConditionError, parse_condition
from surveys.items import ITEM_TYPES, NON_ANSWERS, Item, SpecError

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ITEM_KEYS = {"code", "type", "text", "help", "instruction", "required", "when", "dimension", "weight", "options",
              "dont_know", "refusable", "scores", "first", "first_text", "min", "max", "min_label", "max_label",
              "reverse"}
_TOP_KEYS = {"code", "version", "title", "intro", "end", "consent", "dimensions", "thresholds", "flags", "modules",
             "partial", "groups", "indicators", "scoring"}
# A dimension score needs at least this share of the weight of its applicable items answered
# (README "Scoring"): a definition may set its own with `scoring: {min_weight_share: ...}`.
DEFAULT_MIN_WEIGHT_SHARE = 0.5


class DefinitionError(ValueError):
    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass
class Module:
    code: str
    title: str
    items: list[Item]
    first_follow_up_only: bool = False


@dataclass
class Flag:
    code: str
    label: str
    when: Condition


@dataclass
class Indicator:
    """A key indicator of the dashboard: true, false, or None when its answers are missing."""
    code: str
    label: str
    when: Condition


@dataclass
class Questionnaire:
    code: str
    version: int
    title: str
    intro: str
    end: str
    consent: dict
    dimensions: dict[str, dict]
    thresholds: dict[str, float]
    flags: list[Flag]
    modules: list[Module]
    # When a response that stopped counts as partial (AAPOR 1.2) rather than a break-off (2.12):
    # {"through": module} (its required items and those of every module before it answered) or
    # {"share": 0.6} (that share of the applicable required items answered).
    partial: dict = field(default_factory=lambda: {"through": "health"})
    # Reporting groups of options, code -> label (an option's `group`).
    groups: dict[str, str] = field(default_factory=dict)
    indicators: list[Indicator] = field(default_factory=list)
    min_weight_share: float = DEFAULT_MIN_WEIGHT_SHARE
    source: str = ""
    _items: dict[str, Item] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._items = {item.code: item for module in self.modules for item in module.items}

    @property
    def key(self) -> str:
        return f"{self.code}-v{self.version}"

    @property
    def items(self) -> list[Item]:
        return list(self._items.values())

    def item(self, code: str) -> Item:
        return self._items[code]

    def has_item(self, code: str) -> bool:
        return code in self._items

    def module(self, code: str) -> Module:
        return next(m for m in self.modules if m.code == code)

    def modules_for(self, first_follow_up: bool) -> list[Module]:
        return [m for m in self.modules if first_follow_up or not m.first_follow_up_only]

    def is_visible(self, item: Item, answers: dict) -> bool:
        """Skip logic. A condition reads only items before this one, so a single pass is enough."""
        return item.when is None or item.when.evaluate(self.effective_answers(answers))

    def effective_answers(self, answers: dict) -> dict:
        """The answers that count: those of items that are shown, given the answers before them."""
        effective: dict = {}
        for item in self.items:
            if item.code in answers and (item.when is None or item.when.evaluate(effective)):
                effective[item.code] = answers[item.code]
        return effective

    def visible_items(self, answers: dict, first_follow_up: bool = True) -> list[Item]:
        effective = self.effective_answers(answers)
        return [item for module in self.modules_for(first_follow_up) for item in module.items
                if item.when is None or item.when.evaluate(effective)]

    def missing_required(self, answers: dict, first_follow_up: bool = True) -> list[str]:
        return [i.code for i in self.visible_items(answers, first_follow_up)
                if i.required and answers.get(i.code) in (None, "", [])]

    def partial_reached(self, answers: dict, first_follow_up: bool = True) -> bool:
        """Whether answers that stopped here make a partial response (else a break-off)."""
        applicable = [i for i in self.visible_items(answers, first_follow_up) if i.required]
        if "through" in self.partial:
            codes = [m.code for m in self.modules]
            last = codes.index(self.partial["through"])
            applicable = [i for i in applicable if codes.index(i.module) <= last]
        if not applicable:
            return bool(answers)
        answered = sum(1 for i in applicable if answers.get(i.code) not in (None, "", []))
        return answered / len(applicable) >= self.partial.get("share", 1.0)

    def indicator_values(self, answers: dict, first_follow_up: bool = True) -> dict[str, bool | None]:
        """Each key indicator, in definition order: True or False, or None (missing) when the
        answers it depends on were not asked, not given, or only "I do not know" / "I prefer not
        to say" (three-valued: `all` is False as soon as one part is False, and so on)."""
        asked = {item.code for module in self.modules_for(first_follow_up) for item in module.items}
        known = {code: value for code, value in self.effective_answers(answers).items()
                 if code in asked and self._items[code].is_substantive(value)}
        return {indicator.code: indicator.when.evaluate_known(known) for indicator in self.indicators}

    def texts(self) -> list[str]:
        """Every translatable string, in order, without repeats."""
        found = [self.title, self.intro, self.end, *self.consent.values()]
        found += [d["label"] for d in self.dimensions.values()]
        found += [f.label for f in self.flags]
        found += list(self.groups.values())
        found += [i.label for i in self.indicators]
        for module in self.modules:
            found.append(module.title)
            for item in module.items:
                found += item.texts()
        return list(dict.fromkeys(t for t in found if t))


def load_definition(path: Path) -> Questionnaire:
    with open(path, encoding="utf-8") as handle:
        try:
            spec = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise DefinitionError(str(path), [f"not valid YAML: {exc}"]) from None
    return build_definition(spec, source=str(path))


def build_definition(spec, source: str = "<definition>") -> Questionnaire:
    problems: list[str] = []
    if not isinstance(spec, dict):
        raise DefinitionError(source, ["the definition must be a mapping"])
    for key in ("code", "version", "title", "intro", "end", "consent", "dimensions", "modules"):
        if key not in spec:
            problems.append(f"missing top-level key {key!r}")
    if problems:
        raise DefinitionError(source, problems)
    unknown = set(spec) - _TOP_KEYS
    if unknown:
        problems.append(f"unknown top-level keys {', '.join(sorted(map(str, unknown)))}")
    if not isinstance(spec["version"], int) or spec["version"] < 1:
        problems.append("version must be a whole number from 1")
    consent = spec["consent"]
    if not isinstance(consent, dict) or set(consent) != {"text", "agree", "decline"}:
        problems.append("consent needs exactly text, agree and decline")
        consent = {}
    dimensions = spec["dimensions"] or {}
    for name, dimension in dimensions.items():
        if not isinstance(dimension, dict) or "label" not in dimension:
            problems.append(f"dimension {name!r} needs a label")
        elif not isinstance(dimension.get("weight", 1), (int, float)) or dimension.get("weight", 1) <= 0:
            problems.append(f"dimension {name!r}: weight must be a positive number")
    thresholds = spec.get("thresholds") or {"low": 0.33, "high": 0.66}
    module_codes = {m.get("code") for m in spec["modules"] or [] if isinstance(m, dict)}
    # Default (PRODUCT.md): every module up to and including health answered.
    partial = spec.get("partial") or ({"through": "health"} if "health" in module_codes else {"share": 1.0})
    if not isinstance(partial, dict) or len(partial) != 1 or not (
            ("through" in partial and partial["through"] in module_codes)
            or ("share" in partial and isinstance(partial["share"], (int, float)) and 0 < partial["share"] <= 1)):
        problems.append("partial needs either through: <a module code> or share: <a number in (0, 1]>")
        partial = {"share": 1.0}
    if not (0 <= thresholds.get("low", -1) <= thresholds.get("high", -1) <= 1):
        problems.append("thresholds need 0 <= low <= high <= 1")
    min_weight_share = _scoring(spec.get("scoring"), problems)
    groups = _groups(spec.get("groups"), problems)

    modules: list[Module] = []
    seen_items: dict[str, str] = {}
    seen_modules: set[str] = set()
    for module_spec in spec["modules"] or []:
        module_code = module_spec.get("code", "?")
        if module_code in seen_modules:
            problems.append(f"module {module_code!r}: duplicate code")
        seen_modules.add(module_code)
        if not _CODE.match(str(module_code)) or "title" not in module_spec:
            problems.append(f"module {module_code!r}: needs a code (a-z, 0-9, _) and a title")
        items = []
        for item_spec in module_spec.get("items") or []:
            item = _build_item(item_spec, module_code, seen_items, problems)
            if item is not None:
                items.append(item)
                seen_items[item.code] = module_code
        if not items:
            problems.append(f"module {module_code!r}: has no items")
        modules.append(Module(module_code, module_spec.get("title", ""), items,
                              bool(module_spec.get("first_follow_up_only"))))

    ordered = [item for module in modules for item in module.items]
    position = {item.code: n for n, item in enumerate(ordered)}
    by_code = {item.code: item for item in ordered}
    for item in ordered:
        problems += item.check(dimensions)
        if item.when is not None:
            problems += _check_condition(item.when, f"item {item.code!r}", by_code,
                                         before=lambda code, item=item: position[code] < position[item.code])
    flags = []
    for flag_spec in spec.get("flags") or []:
        code = flag_spec.get("code", "?")
        try:
            when = parse_condition(flag_spec.get("when"))
        except ConditionError as exc:
            problems.append(f"flag {code!r}: {exc}")
            continue
        problems += _check_condition(when, f"flag {code!r}", by_code, before=lambda code: True)
        if "label" not in flag_spec:
            problems.append(f"flag {code!r}: needs a label")
        flags.append(Flag(code, flag_spec.get("label", ""), when))
    if len({f.code for f in flags}) != len(flags):
        problems.append("two flags have the same code")
    problems += _check_groups(groups, ordered)
    indicators = _indicators(spec.get("indicators"), by_code, problems)
    if problems:
        raise DefinitionError(source, problems)
    return Questionnaire(code=spec["code"], version=spec["version"], title=spec["title"], intro=spec["intro"],
                         end=spec["end"], consent=consent, dimensions=dimensions, thresholds=thresholds,
                         flags=flags, modules=modules, partial=partial, groups=groups, indicators=indicators,
                         min_weight_share=min_weight_share, source=source)


def _scoring(spec, problems) -> float:
    """`scoring: {min_weight_share: 0.5}`: the share of a dimension's applicable weight that must
    be answered for its score (surveys/scoring.py)."""
    if spec is None:
        return DEFAULT_MIN_WEIGHT_SHARE
    if not isinstance(spec, dict) or set(spec) - {"min_weight_share"}:
        problems.append("scoring takes only min_weight_share")
        return DEFAULT_MIN_WEIGHT_SHARE
    share = spec.get("min_weight_share", DEFAULT_MIN_WEIGHT_SHARE)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        problems.append(f"scoring: min_weight_share must be a number from 0 to 1, not {share!r}")
        return DEFAULT_MIN_WEIGHT_SHARE
    return float(share)


def _groups(spec, problems) -> dict[str, str]:
    """`groups: {word_of_mouth: {label: ...}}`: reporting groups that options name."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        problems.append("groups must map group codes to {label: ...}")
        return {}
    groups = {}
    for code, group in spec.items():
        if not _CODE.match(str(code)):
            problems.append(f"group {code!r}: a code is a-z, 0-9 and _ (at most 40)")
        elif not isinstance(group, dict) or set(group) != {"label"} or not isinstance(group["label"], str) \
                or not group["label"].strip():
            problems.append(f"group {code!r}: needs a label, and only a label")
        else:
            groups[str(code)] = group["label"]
    return groups


def _check_groups(groups: dict[str, str], items: list[Item]) -> list[str]:
    problems, used = [], set()
    for item in items:
        named = [o for o in item.options if o.group is not None]
        for option in named:
            if option.group not in groups:
                problems.append(f"item {item.code!r}: option {option.code!r} names unknown group {option.group!r}")
            used.add(option.group)
        # A report by group must account for every answer: an item groups all its options or none
        # ("I do not know" and "I prefer not to say" are no answer and stay out).
        ungrouped = [o.code for o in item.options if o.group is None and o.code not in NON_ANSWERS]
        if named and ungrouped:
            problems.append(f"item {item.code!r}: options {', '.join(ungrouped)} have no group, "
                            "but others of the item have one")
    unused = [code for code in groups if code not in used]
    if unused:
        problems.append(f"groups {', '.join(unused)} are used by no option")
    return problems


def _indicators(spec, items: dict[str, Item], problems) -> list[Indicator]:
    """`indicators: {housing_secure: {label: ..., when: <condition>}}`: the dashboard's key
    indicators, conditions on any items as for flags."""
    if spec is None:
        return []
    if not isinstance(spec, dict):
        problems.append("indicators must map indicator codes to {label: ..., when: ...}")
        return []
    indicators = []
    for code, indicator in spec.items():
        owner = f"indicator {code!r}"
        if not _CODE.match(str(code)):
            problems.append(f"{owner}: a code is a-z, 0-9 and _ (at most 40)")
            continue
        if code in items:
            problems.append(f"{owner}: has the code of an item (exports list both side by side)")
        if not isinstance(indicator, dict) or set(indicator) != {"label", "when"} \
                or not isinstance(indicator["label"], str) or not indicator["label"].strip():
            problems.append(f"{owner}: needs a label and a condition (when), and nothing else")
            continue
        try:
            when = parse_condition(indicator["when"])
        except ConditionError as exc:
            problems.append(f"{owner}: {exc}")
            continue
        problems += _check_condition(when, owner, items, before=lambda code: True)
        indicators.append(Indicator(str(code), indicator["label"], when))
    return indicators


def _build_item(spec, module_code, seen_items, problems) -> Item | None:
    if not isinstance(spec, dict):
        problems.append(f"module {module_code!r}: an item must be a mapping, not {spec!r}")
        return None
    code = spec.get("code")
    if not code or not _CODE.match(str(code)):
        problems.append(f"module {module_code!r}: item code {code!r} must be a-z, 0-9 and _ (at most 40)")
        return None
    if code in seen_items:
        problems.append(f"item {code!r}: duplicate code (also in module {seen_items[code]!r})")
        return None
    unknown = set(spec) - _ITEM_KEYS
    if unknown:
        problems.append(f"item {code!r}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    item_type = ITEM_TYPES.get(spec.get("type"))
    if item_type is None:
        problems.append(f"item {code!r}: unknown type {spec.get('type')!r} (use {', '.join(ITEM_TYPES)})")
        return None
    if not spec.get("text"):
        problems.append(f"item {code!r}: needs a text")
        return None
    if "weight" in spec and "dimension" not in spec:
        problems.append(f"item {code!r}: has a weight but is not scored (no dimension)")
    if "weight" in spec and (not isinstance(spec["weight"], (int, float)) or spec["weight"] <= 0):
        problems.append(f"item {code!r}: weight must be a positive number")
        spec = {key: value for key, value in spec.items() if key != "weight"}  # still check the rest
    when = None
    if "when" in spec:
        try:
            when = parse_condition(spec["when"])
        except ConditionError as exc:
            problems.append(f"item {code!r}: {exc}")
    try:
        item = item_type.from_spec(spec, module_code, when)
    except SpecError as exc:
        problems.append(str(exc))
        return None
    codes = [o.code for o in item.options]
    if len(set(codes)) != len(codes):
        problems.append(f"item {code!r}: duplicate option codes")
    return item


def _check_condition(condition: Condition, owner: str, items: dict[str, Item], before) -> list[str]:
    problems = []
    for code, operator, operand in condition.references():
        item = items.get(code)
        if item is None:
            problems.append(f"{owner}: condition names unknown item {code!r}")
            continue
        if not before(code):
            problems.append(f"{owner}: condition on {code!r}, which does not come before it")
        if operator in ("equals", "in", "not_in", "includes") and item.takes_options:
            wanted = operand if isinstance(operand, tuple) else (operand,)
            unknown = [str(v) for v in wanted if v not in item.option_codes()]
            if unknown:
                problems.append(f"{owner}: condition on {code!r} names unknown code(s) {', '.join(unknown)}")
        if operator == "includes" and item.type_name not in ("multiple", "ranked"):
            problems.append(f"{owner}: 'includes' needs a multiple or ranked item, {code!r} is {item.type_name}")
    return problems
