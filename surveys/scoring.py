"""Reintegration scores and red flags, computed from answers as codes.

Modelled on IOM's Reintegration Sustainability Survey (MEASURE, 2017): every scored item is
recoded to 0..1 and weighted within its dimension (economic, social, psychosocial); each
dimension score is the weighted mean of its answered items, and the composite is the weighted
mean of the dimension scores. Weights live in the definition, not here. Only answers to items
that are shown (skip logic) count; "don't know" and "not applicable" answers count for nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from surveys.definition import Questionnaire


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


def score(questionnaire: Questionnaire, answers: dict) -> Scores:
    effective = questionnaire.effective_answers(answers)
    sums = {name: [0.0, 0.0] for name in questionnaire.dimensions}
    for item in questionnaire.items:
        if not item.scored or item.code not in effective:
            continue
        value = item.recode(effective[item.code])
        if value is None:
            continue
        sums[item.dimension][0] += item.weight * value
        sums[item.dimension][1] += item.weight
    dimensions = {name: (round(total / weight, 4) if weight else None) for name, (total, weight) in sums.items()}
    composite = None
    if dimensions and all(v is not None for v in dimensions.values()):
        weights = {name: float(d.get("weight", 1)) for name, d in questionnaire.dimensions.items()}
        composite = round(sum(dimensions[n] * w for n, w in weights.items()) / sum(weights.values()), 4)
    return Scores(dimensions, composite)


def red_flags(questionnaire: Questionnaire, answers: dict) -> list[str]:
    """The codes of the flags whose rule holds: answers that need action whatever the score."""
    effective = questionnaire.effective_answers(answers)
    return [flag.code for flag in questionnaire.flags if flag.when.evaluate(effective)]
