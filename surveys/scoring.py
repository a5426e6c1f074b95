"""Reintegration scores and red flags, computed from answers as codes.

Modelled on IOM's Reintegration Sustainability Survey (MEASURE, 2017): every scored item is
recoded to 0..1 and weighted within its dimension (economic, social, psychosocial); each
dimension score is the weighted mean of its answered items, and the composite is the weighted
mean of the dimension scores. Weights live in the definition, not here. Only answers to items
that are shown (skip logic) count; "don't know" and "not applicable" answers count for nothing.

The rules have a version, `SCORING_VERSION`, for the app to store beside the scores it computes:

1. the weighted mean of whatever scored items were answered, even one;
2. (current) the same, but a dimension score needs at least `Questionnaire.min_weight_share`
   (the definition's `scoring: {min_weight_share: ...}`, else 0.5) of the weight of its
   *applicable* items answered, else it is None. An item is applicable when it is shown (skip
   logic, and its module is asked at this follow-up) and not answered with an unscored option
   that says it does not apply ("no children of school age", "I did not need care", "somewhere
   else"). An applicable item is answered when its answer has a score: not answered, "I do not
   know" and "I prefer not to say" leave its weight missing.

In both, the composite is None as soon as one dimension score is None.
"""
from __future__ import annotations

from dataclasses import dataclass

from surveys.definition import Questionnaire
from surveys.items import NON_ANSWERS, Item

SCORING_VERSION = 2
SCORING_VERSIONS = {
    1: "weighted mean of the answered scored items",
    2: "weighted mean of the answered scored items, if they hold the definition's min_weight_share "
       "of the dimension's applicable weight",
}


@dataclass(frozen=True)
class Scores:
    dimensions: dict[str, float | None]
    composite: float | None

    def band(self, value: float | None, thresholds: dict) -> str | None:
        """'low', 'medium' or 'good' for a score, by the definition's thresholds."""
        if value is None:
            return None
        if value < thresholds["low"]:
            return "low"
        return "good" if value >= thresholds["high"] else "medium"


def score(questionnaire: Questionnaire, answers: dict, *, first_follow_up: bool = True,
          scoring_version: int = SCORING_VERSION) -> Scores:
    """The dimension scores and the composite by the rules of `scoring_version` (default the
    current ones). `first_follow_up=False` leaves the modules asked only once out of the
    applicable weight."""
    if scoring_version not in SCORING_VERSIONS:
        raise ValueError(f"unknown scoring version {scoring_version!r} (known: {', '.join(map(str, SCORING_VERSIONS))})")
    effective = questionnaire.effective_answers(answers)
    sums = {name: [0.0, 0.0] for name in questionnaire.dimensions}
    applicable = {name: 0.0 for name in questionnaire.dimensions}
    shown = {item.code for item in questionnaire.visible_items(answers, first_follow_up)}
    for item in questionnaire.items:
        if not item.scored:
            continue
        value = item.recode(effective[item.code]) if item.code in effective else None
        if value is not None:
            sums[item.dimension][0] += item.weight * value
            sums[item.dimension][1] += item.weight
        if item.code in shown and not _not_applicable(item, effective.get(item.code)):
            applicable[item.dimension] += item.weight
    minimum = questionnaire.min_weight_share if scoring_version >= 2 else 0.0
    dimensions = {}
    for name, (total, weight) in sums.items():
        enough = weight > 0 and weight >= minimum * applicable[name] - 1e-9
        dimensions[name] = round(total / weight, 4) if enough else None
    composite = None
    if dimensions and all(v is not None for v in dimensions.values()):
        weights = {name: float(d.get("weight", 1)) for name, d in questionnaire.dimensions.items()}
        composite = round(sum(dimensions[n] * w for n, w in weights.items()) / sum(weights.values()), 4)
    return Scores(dimensions, composite)


def _not_applicable(item: Item, value) -> bool:
    """An answer without a score that is an answer all the same: the item does not apply."""
    return (value not in (None, "", []) and item.recode(value) is None
            and not any(code in NON_ANSWERS for code in item.codes_of(value)))


def red_flags(questionnaire: Questionnaire, answers: dict) -> list[str]:
    """The codes of the flags whose rule holds: answers that need action whatever the score."""
    effective = questionnaire.effective_answers(answers)
    return [flag.code for flag in questionnaire.flags if flag.when.evaluate(effective)]
