"""Skip logic and red-flag rules: conditions on earlier answers, written as data.

    {item: housing_situation, equals: other}
    {item: housing_situation, in: [shelter, no_fixed_place]}      also: not_in
    {item: heard_from, includes: other}                            multiple choice, ranking
    {item: household_size, gt: 2}                                  also: gte, lt, lte
    {item: business_started, answered: true}
    {all: [...]}, {any: [...]}, {not: {...}}

A condition on an item that is not answered (or hidden by its own condition) is false, except
`not_in`, `not` and `answered: false`, which are true. Indicators read conditions with a third
value instead: `evaluate_known` is None (unknown) when the missing answer decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
}
_OPERATORS = ("equals", "in", "not_in", "includes", "answered", *_COMPARISONS)


class ConditionError(ValueError):
    pass


@dataclass(frozen=True)
class Condition:
    """One parsed condition; `evaluate(answers)` with answers keyed by item code."""

    kind: str  # an operator, or all / any / not
    item: str | None = None
    operand: Any = None
    parts: tuple["Condition", ...] = ()

    def evaluate(self, answers: dict) -> bool:
        if self.kind == "all":
            return all(p.evaluate(answers) for p in self.parts)
        if self.kind == "any":
            return any(p.evaluate(answers) for p in self.parts)
        if self.kind == "not":
            return not self.parts[0].evaluate(answers)
        value = answers.get(self.item)
        answered = value not in (None, "", [])
        if self.kind == "answered":
            return answered == bool(self.operand)
        if self.kind == "not_in":
            return not answered or value not in self.operand
        if not answered:
            return False
        if self.kind == "equals":
            return value == self.operand
        if self.kind == "in":
            return value in self.operand
        if self.kind == "includes":
            return isinstance(value, list) and self.operand in value
        try:
            return _COMPARISONS[self.kind](value, self.operand)
        except TypeError:
            return False

    def evaluate_known(self, answers: dict) -> bool | None:
        """Three-valued evaluation, for indicators: None (unknown) when the answer depends on an
        item missing from `answers`. A comparison on a missing item is unknown (`answered`
        never is); `all` is false once a part is false, `any` true once a part is true, else
        unknown if a part is; `not` of unknown is unknown."""
        if self.kind in ("all", "any"):
            values = [p.evaluate_known(answers) for p in self.parts]
            decisive = self.kind == "any"  # True decides `any`, False decides `all`
            if any(v is decisive for v in values):
                return decisive
            return None if any(v is None for v in values) else not decisive
        if self.kind == "not":
            value = self.parts[0].evaluate_known(answers)
            return None if value is None else not value
        if self.kind != "answered" and answers.get(self.item) in (None, "", []):
            return None
        return self.evaluate(answers)

    def items(self) -> set[str]:
        """Every item code this condition reads."""
        found = {self.item} if self.item else set()
        for part in self.parts:
            found |= part.items()
        return found

    def references(self):
        """(item code, operator, operand) for each leaf, for the definition validator."""
        if self.item:
            yield self.item, self.kind, self.operand
        for part in self.parts:
            yield from part.references()


def parse_condition(spec) -> Condition:
    if not isinstance(spec, dict) or not spec:
        raise ConditionError(f"a condition must be a mapping, not {spec!r}")
    for combinator in ("all", "any"):
        if combinator in spec:
            if len(spec) != 1 or not isinstance(spec[combinator], list) or not spec[combinator]:
                raise ConditionError(f"'{combinator}' takes a non-empty list of conditions and nothing beside it")
            return Condition(combinator, parts=tuple(parse_condition(p) for p in spec[combinator]))
    if "not" in spec:
        if len(spec) != 1:
            raise ConditionError("'not' takes one condition and nothing beside it")
        return Condition("not", parts=(parse_condition(spec["not"]),))
    if "item" not in spec:
        raise ConditionError(f"a condition needs 'item' (or all / any / not): {spec!r}")
    operators = [k for k in spec if k != "item"]
    if len(operators) != 1 or operators[0] not in _OPERATORS:
        raise ConditionError(f"a condition on {spec['item']!r} needs exactly one of {', '.join(_OPERATORS)}")
    operator = operators[0]
    operand = spec[operator]
    if operator in ("in", "not_in"):
        if not isinstance(operand, list) or not operand:
            raise ConditionError(f"'{operator}' on {spec['item']!r} takes a non-empty list")
        operand = tuple(operand)
    if operator in _COMPARISONS and (isinstance(operand, bool) or not isinstance(operand, (int, float))):
        raise ConditionError(f"'{operator}' on {spec['item']!r} takes a number")
    return Condition(operator, item=str(spec["item"]), operand=operand)
