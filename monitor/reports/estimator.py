"""The design-weighted estimator, on per-stratum sums. Checked against R's `survey` package
(tests/r/estimator.R): `svydesign(ids=~1, strata=~stratum, fpc=~N_h)`, `svymean` by domain,
`svyciprop(method="logit")`, `survey.lonely.psu = "adjust"`, df = `degf` of the wave's design.

A wave's design: its respondents, strata as stored on each follow-up, N_h = the stratum's frame
size less its 4.x follow-ups, r_h its respondents, weight w_h = N_h / r_h. A domain (a country,
a partner, a filter) is d_i = 1 for its respondents with a value, 0 for the others, who stay in
their strata. With n_h = Σ_h d, S_h = Σ_h d y and Q_h = Σ_h d y² (what SQL sums):

    ŷ = Σ w_h S_h / Σ w_h n_h
    z_i = w_h d_i (y_i − ŷ) / Σ w d, so with a_h = w_h / Σ w d:
        Σ_h z = a_h (S_h − ŷ n_h),  Σ_h z² = a_h² (Q_h − 2ŷ S_h + ŷ² n_h)
    V = Σ_h (1 − r_h/N_h) r_h/(r_h − 1) (Σ_h z² − (Σ_h z)² / r_h);  r_h = 1: (1 − 1/N_h) z²

Means get ŷ ± t(0.975, df)·SE; shares the logit interval expit(logit p ± t·SE/(p(1−p))); no
interval for a share of 0 or 1, for fewer than 2 respondents, or without degrees of freedom.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from scipy.stats import t as student_t

from monitor.reports.aggregates import Stratum

CONFIDENCE = 0.95
UNRELIABLE_N = 30  # fewer respondents than this: unreliable
UNRELIABLE_RSE = 0.30  # or a relative standard error over this


@dataclass(frozen=True)
class Sums:
    """A domain's sums in one stratum: respondents with a value, Σy, Σy²."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.n + other.n, self.total + other.total, self.squares + other.squares)


@dataclass(frozen=True)
class Estimate:
    n: int  # unweighted respondents in the domain with a value
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    unreliable: bool


def degrees_of_freedom(design: Mapping[int, Stratum]) -> int:
    """R's `degf` of a stratified design without clusters: respondents less strata."""
    return sum(s.respondents for s in design.values()) - len(design)


@lru_cache(maxsize=256)
def t_quantile(df: int) -> float:
    return float(student_t.ppf(1 - (1 - CONFIDENCE) / 2, df))


def estimate(design: Mapping[int, Stratum], sums: Mapping[int, Sums], *, share: bool = False,
             df: int | None = None) -> Estimate:
    """The weighted mean (or share, y in {0, 1}) of a domain from its sums per stratum."""
    df = degrees_of_freedom(design) if df is None else df
    present = {h: s for h, s in sums.items() if s.n and h in design}
    n = sum(s.n for s in present.values())
    weight = {h: design[h].weight for h in present}
    total_weight = sum(weight[h] * s.n for h, s in present.items())
    if n == 0 or total_weight <= 0:
        return Estimate(n, None, None, None, None, True)
    mean = sum(weight[h] * s.total for h, s in present.items()) / total_weight
    variance = 0.0
    for h, s in present.items():
        stratum = design[h]
        a = weight[h] / total_weight
        z_sum = a * (s.total - mean * s.n)
        z_squares = a * a * (s.squares - 2 * mean * s.total + mean * mean * s.n)
        fpc = 1 - stratum.respondents / stratum.population
        if stratum.respondents > 1:
            r = stratum.respondents
            variance += fpc * r / (r - 1) * (z_squares - z_sum * z_sum / r)
        else:  # one respondent: R's survey.lonely.psu = "adjust" (centred on the mean, 0)
            variance += fpc * z_squares
    se = math.sqrt(max(variance, 0.0))
    low = high = None
    if n >= 2 and df > 0:
        half = t_quantile(df)
        if not share:
            low, high = mean - half * se, mean + half * se
        elif 0 < mean < 1:
            centre, spread = math.log(mean / (1 - mean)), half * se / (mean * (1 - mean))
            low, high = _expit(centre - spread), _expit(centre + spread)
    return Estimate(n, mean, se, low, high, unreliable(n, mean, se))


def unreliable(n: int, value: float | None, se: float | None) -> bool:
    """Under 30 respondents, or a relative standard error over 30 %."""
    if n < UNRELIABLE_N or value is None or se is None:
        return True
    if value == 0:
        return se > 0
    return se / abs(value) > UNRELIABLE_RSE


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))
