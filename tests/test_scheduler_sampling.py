"""Stratified sampling of a wave: sample sizes, reproducible draws, inclusion probabilities."""
from __future__ import annotations

import itertools
import random

import pytest

from scheduler.sampling import Stratum, draw_wave_sample, sample_size


@pytest.mark.parametrize("frame, fraction, minimum, expected", [
    (100, 0.2, 5, 20),  # the fraction
    (10, 0.2, 5, 5),  # the minimum, above the fraction (2)
    (3, 0.2, 5, 3),  # a stratum smaller than the minimum: all of it
    (5, 0.2, 5, 5),
    (0, 0.2, 5, 0),
    (12, 0.2, 0, 2),  # round(2.4)
    (13, 0.2, 0, 3),  # round(2.6)
    (40, 1.0, 0, 40),
    (40, 0.0, 0, 2),  # never fewer than 2 where there are 2: a variance can be estimated
    (40, 0.0, 3, 3),
    (3, 0.1, 0, 2),  # round(0.3) would be 0
    (2, 0.2, 0, 2),
    (1, 0.2, 0, 1),  # a stratum of 1 draws its one
    (1, 0.0, 0, 1),
    (1, 0.2, 5, 1),
])
def test_sample_size(frame, fraction, minimum, expected):
    assert sample_size(frame, fraction, minimum) == expected


@pytest.mark.parametrize("fraction, minimum", [(1.5, 0), (-0.1, 0), (0.2, -1)])
def test_sample_size_refuses_nonsense(fraction, minimum):
    with pytest.raises(ValueError):
        sample_size(10, fraction, minimum)


GE, AM = 7, 9  # partner ids


def caseload() -> list[tuple[int, str, int]]:
    return ([(i, "GE", GE) for i in range(1, 101)]  # 100: 20 by the fraction
            + [(i, "GE", AM) for i in range(101, 111)]  # 10: the minimum, 5
            + [(i, "AM", GE) for i in range(111, 114)])  # 3: all of them


def by_stratum(strata: list[Stratum]) -> dict[tuple[str, int], Stratum]:
    return {(s.country, s.partner_id): s for s in strata}


def test_a_draw_per_stratum():
    strata = by_stratum(draw_wave_sample(caseload(), 0.2, 5, seed=42))
    assert set(strata) == {("GE", GE), ("GE", AM), ("AM", GE)}
    assert [(strata[k].frame, strata[k].sample) for k in (("GE", GE), ("GE", AM), ("AM", GE))] == [
        (100, 20), (10, 5), (3, 3)]
    members = {("GE", GE): set(range(1, 101)), ("GE", AM): set(range(101, 111)), ("AM", GE): {111, 112, 113}}
    for key, stratum in strata.items():
        assert len(stratum.selected) == len(set(stratum.selected)) == stratum.sample
        assert set(stratum.selected) <= members[key]
        assert list(stratum.selected) == sorted(stratum.selected)
    assert strata[("AM", GE)].selected == (111, 112, 113)
    assert strata[("AM", GE)].probability == 1.0


def test_probabilities_are_n_over_big_n():
    strata = by_stratum(draw_wave_sample(caseload(), 0.2, 5, seed=42))
    assert strata[("GE", GE)].probability == pytest.approx(0.2)
    assert strata[("GE", AM)].probability == pytest.approx(0.5)
    assert strata[("AM", GE)].probability == 1.0
    for stratum in strata.values():
        assert stratum.probability == stratum.sample / stratum.frame
    assert Stratum("GE", GE, 0, 0, ()).probability == 0.0


def test_the_same_seed_gives_the_same_draw():
    assert draw_wave_sample(caseload(), 0.2, 5, seed=42) == draw_wave_sample(caseload(), 0.2, 5, seed=42)
    big = 2**62 - 1  # seeds are up to 62 bits (planning uses secrets.randbits(62))
    assert draw_wave_sample(caseload(), 0.2, 5, seed=big) == draw_wave_sample(caseload(), 0.2, 5, seed=big)


def test_another_seed_gives_another_draw():
    # 20 of 100: the chance that two seeds pick the same 20 is about 1 in 5 * 10^20.
    first = by_stratum(draw_wave_sample(caseload(), 0.2, 5, seed=42))[("GE", GE)].selected
    second = by_stratum(draw_wave_sample(caseload(), 0.2, 5, seed=43))[("GE", GE)].selected
    assert first != second
    # The census stratum is the same whatever the seed.
    assert by_stratum(draw_wave_sample(caseload(), 0.2, 5, seed=43))[("AM", GE)].selected == (111, 112, 113)


def test_the_frames_order_does_not_matter():
    shuffled = caseload()
    random.Random(1).shuffle(shuffled)
    assert shuffled != caseload()
    assert draw_wave_sample(shuffled, 0.2, 5, seed=42) == draw_wave_sample(caseload(), 0.2, 5, seed=42)
    assert draw_wave_sample(list(reversed(caseload())), 0.2, 5, seed=42) == draw_wave_sample(caseload(), 0.2, 5, 42)


def test_adding_a_stratum_leaves_the_others_alone():
    before = by_stratum(draw_wave_sample(caseload(), 0.2, 5, seed=42))
    more = caseload() + [(i, "IQ", GE) for i in range(200, 240)] + [(i, "AA", 1) for i in range(300, 320)]
    after = by_stratum(draw_wave_sample(more, 0.2, 5, seed=42))
    assert set(after) == set(before) | {("IQ", GE), ("AA", 1)}
    for key, stratum in before.items():
        assert after[key] == stratum
    assert (after[("IQ", GE)].frame, after[("IQ", GE)].sample) == (40, 8)


def test_strata_are_drawn_independently():
    # Two strata of the same size: each has its own random draw, not the same positions in both.
    frame = [(i, "GE", GE) for i in range(1000, 1100)] + [(i, "AM", GE) for i in range(2000, 2100)]
    strata = by_stratum(draw_wave_sample(frame, 0.2, 0, seed=42))
    ge = [i - 1000 for i in strata[("GE", GE)].selected]
    am = [i - 2000 for i in strata[("AM", GE)].selected]
    assert ge != am


def test_an_empty_frame_draws_nothing():
    assert draw_wave_sample([], 0.2, 5, seed=1) == []


# -- nobody has probability 0, every stratum can estimate a variance ---------------------------
# (hypothesis is not installed: plain loops over a grid and over seeded random cases.)

FRACTIONS = (0.0, 0.001, 0.01, 0.05, 0.1, 0.15, 0.2, 0.25, 0.29, 1 / 3, 0.5, 0.57, 0.75, 0.99, 1.0)


def test_no_stratum_of_two_or_more_draws_fewer_than_two():
    for frame, fraction, minimum in itertools.product(range(0, 251), FRACTIONS, range(0, 12)):
        n = sample_size(frame, fraction, minimum)
        case = (frame, fraction, minimum, n)
        assert 0 <= n <= frame, case
        assert n >= min(frame, 2), case  # at least 2 where there are 2
        assert n >= min(frame, minimum), case  # the minimum, or the whole stratum
        assert (n > 0) == (frame > 0), case  # nobody in the frame has probability 0
        assert n == min(frame, max(minimum, 2, round(fraction * frame))), case


def test_a_stratum_of_one_draws_one():
    for fraction, minimum in itertools.product(FRACTIONS, range(0, 12)):
        assert sample_size(1, fraction, minimum) == 1
        [stratum] = draw_wave_sample([(7, "GE", GE)], fraction, minimum, seed=minimum)
        assert (stratum.frame, stratum.sample, stratum.selected, stratum.probability) == (1, 1, (7,), 1.0)


def test_random_frames_leave_nobody_with_probability_zero():
    rng = random.Random(20261001)
    for case in range(300):
        sizes = [rng.choice((1, 2, 3, rng.randint(1, 12), rng.randint(1, 400))) for _ in range(rng.randint(1, 6))]
        fraction, minimum, seed = rng.choice(FRACTIONS), rng.randint(0, 8), rng.getrandbits(62)
        frame, next_id = [], 1
        for h, size in enumerate(sizes):
            frame += [(next_id + i, f"C{h}", h) for i in range(size)]
            next_id += size
        strata = draw_wave_sample(frame, fraction, minimum, seed)
        assert sorted(s.frame for s in strata) == sorted(sizes), case
        for stratum in strata:
            where = (case, stratum.frame, fraction, minimum)
            assert stratum.sample >= min(stratum.frame, 2), where
            assert stratum.sample >= 1 and stratum.probability > 0, where
            assert len(set(stratum.selected)) == stratum.sample, where
            if stratum.frame == 1:
                assert stratum.selected and stratum.probability == 1.0, where
        # The design weights add up to the frame.
        assert sum(s.frame for s in strata) == len(frame)
        assert sum(s.sample / s.probability for s in strata) == pytest.approx(len(frame))
