"""Stratified random sampling of a wave: destination country x partner.

Each stratum h of N_h eligible returnees gets n_h = min(N_h, max(minimum, 2, round(fraction * N_h)))
cases (at least 2 where there are 2, so a variance can be estimated; nobody has probability 0),
drawn at random with a seed stored with the draw, so the same seed and frame always give
the same sample. Every sampled case keeps its inclusion probability n_h / N_h; its design
weight N_h / n_h lets the dashboard estimate for the whole caseload.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Stratum:
    country: str
    partner_id: int
    frame: int  # N_h
    sample: int  # n_h
    selected: tuple[int, ...]  # returnee ids

    @property
    def probability(self) -> float:
        return self.sample / self.frame if self.frame else 0.0


def sample_size(frame: int, fraction: float, minimum: int) -> int:
    if not 0 <= fraction <= 1:
        raise ValueError(f"a sampling fraction is between 0 and 1, not {fraction}")
    if minimum < 0:
        raise ValueError("a minimum per stratum cannot be negative")
    return min(frame, max(minimum, 2, round(fraction * frame)))


def draw_wave_sample(frame: list[tuple[int, str, int]], fraction: float, minimum: int, seed: int) -> list[Stratum]:
    """`frame`: (returnee id, country, partner id) for every eligible returnee. The result does
    not depend on the frame's order."""
    strata: dict[tuple[str, int], list[int]] = defaultdict(list)
    for returnee_id, country, partner_id in frame:
        strata[(country, partner_id)].append(returnee_id)
    drawn = []
    for (country, partner_id), members in sorted(strata.items()):
        members.sort()
        n = sample_size(len(members), fraction, minimum)
        # One generator per stratum, seeded by the draw's seed and the stratum: adding a stratum
        # to the frame changes nothing in the others.
        rng = random.Random(f"{seed}:{country}:{partner_id}")
        drawn.append(Stratum(country, partner_id, len(members), n, tuple(sorted(rng.sample(members, n)))))
    return drawn
