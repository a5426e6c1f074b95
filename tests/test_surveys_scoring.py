"""Scores and red flags on the shipped standard-v1 definition, computed by hand.

Pure unit tests: no app, no database. Each dimension score is sum(weight x recoded value) /
sum(weight) over its answered, shown, scored items, rounded to 4 places; the composite is the
dimension-weighted mean of the (rounded) dimension scores, also rounded to 4 places.

Scoring rules 2 (the current ones) add that a dimension needs at least min_weight_share (0.5
unless the definition says otherwise) of the weight of its applicable items answered. The cases
with a few answers show the weighted mean under rules 1 (`scoring_version=1`), then what rules
2 make of them; the last section tests the share itself.
"""
from __future__ import annotations

import copy

import pytest
import yaml

from surveys import registry
from surveys.definition import DEFAULT_MIN_WEIGHT_SHARE, DEFINITIONS, DefinitionError, build_definition, load_definition
from surveys.scoring import SCORING_VERSION, SCORING_VERSIONS, Scores, red_flags, score

STANDARD = DEFINITIONS / "standard-v1.yaml"


@pytest.fixture(scope="module")
def standard():
    return load_definition(STANDARD)


@pytest.fixture(scope="module")
def standard_spec():
    with open(STANDARD, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def with_weight(spec: dict, item_code: str, weight) -> dict:
    spec = copy.deepcopy(spec)
    for module in spec["modules"]:
        for item in module["items"]:
            if item["code"] == item_code:
                item["weight"] = weight
                return spec
    raise KeyError(item_code)


# Case 1: every scored item answered, a mixed picture.
MIXED = {
    # economic                                 item                 weight  value   w x v
    "work_status": "day_labour",             # work_status          2       0.5     1.0
    "business_started": "yes",               # (not scored; shows business_running)
    "business_running": "no",                # business_running     1       0       0
    "income_covers_needs": "sometimes",      # income_covers_needs  2       0.33    0.66
    "food_cut": "once_or_twice",             # food_cut             2       0.67    1.34
    "debts": "yes",                          # debts                1       0       0
    "can_borrow": "yes",                     # can_borrow           1       1       1
    #                                          sums                 9               4.0   -> 4/9 = 0.4444
    # social
    "housing_situation": "family",           # housing_situation    2       0.5     1.0
    "housing_can_stay": "yes",               # housing_can_stay     1       1       1
    "housing_basic_needs": "partly",         # housing_basic_needs  1       0.5     0.5
    "children_school": "some",               # children_school      1       0.5     0.5
    "physical_health": 4,                    # physical_health      1       (4-1)/(5-1) = 0.75
    "access_care": "no",                     # access_care          1       0       0
    "medication_needed": "yes",              # (not scored; shows medication_available)
    "medication_available": "no",            # medication_available 2       0       0
    #                                          sums                 9               3.75  -> 3.75/9 = 0.4167
    # psychosocial
    "someone_to_rely_on": "yes",             # someone_to_rely_on   1       1       1
    "family_contact": "rarely",              # family_contact       1       0.25    0.25
    "accepted_family": "partly",             # accepted_family      1       0.5     0.5
    "accepted_community": "fully",           # accepted_community   1       1       1
    "community_life": "no",                  # community_life       1       0       0
    "distress": "often",                     # distress             2       0.33    0.66
    "feels_safe": "mostly_safe",             # feels_safe           2       0.5     1.0
    "problems_authorities": "no",            # problems_authorities 1       1       1
    "discrimination": "sometimes",           # discrimination       1       0.5     0.5
    "decision_own": "partly",                # decision_own         1       0.5     0.5
    "migrate_again": "by_necessity",         # migrate_again        1       0       0
    "life_compared": "same",                 # life_compared        1       0.5     0.5
    #                                          sums                 14              6.91  -> 6.91/14 = 0.49357 -> 0.4936
    # composite, dimension weights 1, 1, 1: (0.4444 + 0.4167 + 0.4936) / 3 = 1.3547 / 3 = 0.45157 -> 0.4516
}


def test_case_1_mixed(standard):
    assert score(standard, MIXED) == Scores(
        dimensions={"economic": 0.4444, "social": 0.4167, "psychosocial": 0.4936}, composite=0.4516)


def test_case_2_skip_logic_and_unscored_answers(standard):
    answers = {
        # social
        "housing_situation": "no_fixed_place",  # housing_situation   2   0      0
        "housing_can_stay": "yes",              # hidden (not_in no_fixed_place): ignored
        "housing_basic_needs": "yes",           # hidden: ignored
        "children_school": "no_children",       # no score: left out
        "physical_health": 2,                   # physical_health     1   0.25   0.25
        "access_care": "not_needed",            # no score: left out
        "medication_needed": "no",
        "medication_available": "yes",          # hidden (medication_needed is no): ignored
        #                                         sums                3          0.25  -> 0.0833
        # economic
        "work_status": "studying",              # no score: left out
        "business_started": "no",
        "business_running": "yes",              # hidden: ignored
        "income_covers_needs": "always",        # income_covers_needs 2   1      2
        "food_cut": "never",                    # food_cut            2   1      2
        "debts": "prefer_not_to_say",           # no score: left out
        "can_borrow": "no",                     # can_borrow          1   0      0
        #                                         sums                5          4     -> 0.8
        # psychosocial
        "distress": "prefer_not_to_say",        # no score: left out
        "wants_support": "yes",                 # hidden (distress not often/always)
        "feels_safe": "not_safe",               # feels_safe          2   0      0
        "migrate_again": "dont_know",           # no score: left out
        "family_contact": "no_family",          # no score: left out
        "life_compared": "better",              # life_compared       1   1      1
        "decision_own": "not",                  # decision_own        1   0      0
        #                                         sums                4          1     -> 0.25
        # composite: (0.8 + 0.0833 + 0.25) / 3 = 1.1333 / 3 = 0.37777 -> 0.3778
    }
    assert score(standard, answers, scoring_version=1) == Scores(
        dimensions={"economic": 0.8, "social": 0.0833, "psychosocial": 0.25}, composite=0.3778)
    # Rules 2, answered share of the applicable weight (shown, not answered "not applicable"):
    # social 3 of 3 (no_children, not_needed and the hidden items are not applicable);
    # economic 5 of 6 (studying not applicable; debts prefer_not_to_say is missing, not n/a);
    # psychosocial 4 of 13 (no_family n/a; distress and migrate_again dont_know and the six
    # unanswered items missing) < 0.5: no psychosocial score, so no composite.
    assert score(standard, answers) == Scores(
        dimensions={"economic": 0.8, "social": 0.0833, "psychosocial": None}, composite=None)


def test_case_3_one_or_two_items_per_dimension(standard):
    answers = {
        "work_status": "employed",        # economic:     2 x 1 / 2                       = 1.0
        "housing_situation": "shelter",   # social:       (2 x 0 + 1 x 0.5) / (2 + 1)     = 0.1667
        "physical_health": 3,             #               (3-1)/(5-1) = 0.5
        "feels_safe": "safe",             # psychosocial: 2 x 1 / 2                       = 1.0
    }                                     # composite:    (1.0 + 0.1667 + 1.0) / 3 = 0.72223 -> 0.7222
    assert score(standard, answers, scoring_version=1) == Scores(
        dimensions={"economic": 1.0, "social": 0.1667, "psychosocial": 1.0}, composite=0.7222)
    # Rules 2: economic 2 of 8, social 3 of 7 (shelter: housing_can_stay and basic needs are
    # shown, unanswered), psychosocial 2 of 14: none reaches half.
    assert score(standard, answers) == Scores(
        dimensions={"economic": None, "social": None, "psychosocial": None}, composite=None)


def test_case_4_worst_answers_score_zero_not_missing(standard):
    answers = {
        "work_status": "looking", "business_started": "yes", "business_running": "no",
        "income_covers_needs": "never", "food_cut": "often", "debts": "yes", "can_borrow": "no",
        "housing_situation": "shelter", "housing_can_stay": "no", "housing_basic_needs": "no",
        "children_school": "none", "physical_health": 1, "access_care": "no",
        "medication_needed": "yes", "medication_available": "no",
        "someone_to_rely_on": "no", "family_contact": "never", "accepted_family": "not",
        "accepted_community": "not", "community_life": "no", "distress": "always",
        "feels_safe": "not_safe", "problems_authorities": "yes", "discrimination": "often",
        "decision_own": "not", "migrate_again": "by_necessity", "life_compared": "worse",
    }
    # every recoded value is 0, so every weighted sum is 0 over a positive weight: 0.0, not None
    assert score(standard, answers) == Scores(
        dimensions={"economic": 0.0, "social": 0.0, "psychosocial": 0.0}, composite=0.0)


def test_case_5_best_answers(standard):
    answers = {
        "work_status": "employed", "business_started": "yes", "business_running": "yes",
        "income_covers_needs": "always", "food_cut": "never", "debts": "no", "can_borrow": "yes",
        "housing_situation": "own", "housing_can_stay": "yes", "housing_basic_needs": "yes",
        "children_school": "all", "physical_health": 5, "access_care": "yes",
        "someone_to_rely_on": "yes", "family_contact": "often", "accepted_family": "fully",
        "accepted_community": "fully", "community_life": "yes", "distress": "never",
        "feels_safe": "safe", "problems_authorities": "no", "discrimination": "never",
        "decision_own": "fully", "migrate_again": "no", "life_compared": "better",
    }
    assert score(standard, answers) == Scores(
        dimensions={"economic": 1.0, "social": 1.0, "psychosocial": 1.0}, composite=1.0)


def test_nothing_answered(standard):
    assert score(standard, {}) == Scores(
        dimensions={"economic": None, "social": None, "psychosocial": None}, composite=None)


def test_a_dimension_without_answered_scored_items_is_none_and_so_is_the_composite(standard):
    answers = {
        "work_status": "employed",              # economic 1.0
        "housing_situation": "own",             # social 1.0
        # psychosocial: only answers without a score, and a hidden one
        "distress": "prefer_not_to_say",
        "migrate_again": "dont_know",
        "family_contact": "no_family",
        "problems_authorities": "prefer_not_to_say",
        # unscored items in other modules do not fill the gap
        "heard_from": ["website"], "partner_satisfaction": 5, "household_size": 4,
    }
    assert score(standard, answers, scoring_version=1) == Scores(
        dimensions={"economic": 1.0, "social": 1.0, "psychosocial": None}, composite=None)


def test_answers_to_hidden_items_do_not_change_scores(standard):
    shown = {"housing_situation": "no_fixed_place", "physical_health": 5}
    # social: (2 x 0 + 1 x 1) / 3 = 0.3333
    expected = {"economic": None, "social": 0.3333, "psychosocial": None}
    assert score(standard, shown, scoring_version=1).dimensions == expected
    for hidden in ({"housing_can_stay": "no"}, {"housing_can_stay": "yes", "housing_basic_needs": "yes"},
                   {"medication_available": "no"}, {"business_running": "yes"}):
        assert score(standard, {**shown, **hidden}, scoring_version=1).dimensions == expected
        # nor the applicable weight of rules 2: social 3 of the 5 shown (children_school and
        # access_care unanswered), with or without the hidden answers
        assert score(standard, {**shown, **hidden}).dimensions == expected
    # the same answer to housing_can_stay counts once housing_situation allows it:
    # (2 x 0 + 1 x 1 + 1 x 0) / 4 with housing_situation shelter = 0.25
    assert score(standard, {"housing_situation": "shelter", "physical_health": 5,
                            "housing_can_stay": "no"}, scoring_version=1).dimensions["social"] == 0.25


def test_dont_know_and_prefer_not_to_say_count_for_nothing(standard):
    def rules_1(answers):
        return score(standard, answers, scoring_version=1).dimensions

    base = {"work_status": "day_labour", "can_borrow": "yes"}
    # economic: (2 x 0.5 + 1 x 1) / 3 = 0.6667
    assert rules_1(base)["economic"] == 0.6667
    # debts prefer_not_to_say: not a 0 with weight 1 (which would give 2/4 = 0.5)
    assert rules_1({**base, "debts": "prefer_not_to_say"})["economic"] == 0.6667
    # housing_can_stay dont_know: left out, social stays 2 x 1 / 2
    assert rules_1({"housing_situation": "own", "housing_can_stay": "dont_know"})["social"] == 1.0
    # distress prefer_not_to_say next to feels_safe safe: psychosocial stays 2 x 1 / 2
    assert rules_1({"feels_safe": "safe", "distress": "prefer_not_to_say"})["psychosocial"] == 1.0
    # ... whereas distress always counts 0 with weight 2: 2 / 4 = 0.5
    assert rules_1({"feels_safe": "safe", "distress": "always"})["psychosocial"] == 0.5
    # the same under rules 2 once enough is answered: economic 5 of 8 with debts left out
    enough = {**base, "food_cut": "never", "debts": "prefer_not_to_say"}  # (1 + 1 + 2) / 5 = 0.8
    assert score(standard, enough).dimensions["economic"] == 0.8


def test_changing_an_item_weight_changes_the_score(standard_spec):
    # MIXED with can_borrow (value 1) at weight 4 instead of 1:
    # economic (4.0 - 1 + 4) / (9 - 1 + 4) = 7 / 12 = 0.58333 -> 0.5833
    # composite (0.5833 + 0.4167 + 0.4936) / 3 = 1.4936 / 3 = 0.49787 -> 0.4979
    heavier = build_definition(with_weight(standard_spec, "can_borrow", 4))
    assert score(heavier, MIXED) == Scores(
        dimensions={"economic": 0.5833, "social": 0.4167, "psychosocial": 0.4936}, composite=0.4979)
    # and a weight on medication_available (value 0) of 0.5 instead of 2:
    # social 3.75 / (9 - 2 + 0.5) = 3.75 / 7.5 = 0.5; composite (0.4444 + 0.5 + 0.4936) / 3 = 0.47933 -> 0.4793
    lighter = build_definition(with_weight(standard_spec, "medication_available", 0.5))
    assert score(lighter, MIXED) == Scores(
        dimensions={"economic": 0.4444, "social": 0.5, "psychosocial": 0.4936}, composite=0.4793)


def test_changing_a_dimension_weight_changes_the_composite(standard_spec):
    spec = copy.deepcopy(standard_spec)
    spec["dimensions"]["psychosocial"]["weight"] = 3
    # case 3 answers: (1 x 1.0 + 1 x 0.1667 + 3 x 1.0) / 5 = 4.1667 / 5 = 0.83334 -> 0.8333
    answers = {"work_status": "employed", "housing_situation": "shelter", "physical_health": 3, "feels_safe": "safe"}
    assert score(build_definition(spec), answers, scoring_version=1) == Scores(
        dimensions={"economic": 1.0, "social": 0.1667, "psychosocial": 1.0}, composite=0.8333)
    # and MIXED (every dimension answered enough): (0.4444 + 0.4167 + 3 x 0.4936) / 5 = 2.3419 / 5 = 0.46838 -> 0.4684
    assert score(build_definition(spec), MIXED).composite == 0.4684


def test_weights_in_the_shipped_file_are_as_scored_above(standard):
    # guards the hand computations: if a weight is edited, the cases above must be redone
    weights = {i.code: (i.dimension, i.weight) for i in standard.items if i.scored}
    assert weights == {
        "housing_situation": ("social", 2.0), "housing_can_stay": ("social", 1.0),
        "housing_basic_needs": ("social", 1.0), "work_status": ("economic", 2.0),
        "business_running": ("economic", 1.0), "income_covers_needs": ("economic", 2.0),
        "food_cut": ("economic", 2.0), "debts": ("economic", 1.0), "can_borrow": ("economic", 1.0),
        "someone_to_rely_on": ("psychosocial", 1.0), "family_contact": ("psychosocial", 1.0),
        "accepted_family": ("psychosocial", 1.0), "accepted_community": ("psychosocial", 1.0),
        "community_life": ("psychosocial", 1.0), "children_school": ("social", 1.0),
        "physical_health": ("social", 1.0), "access_care": ("social", 1.0),
        "medication_available": ("social", 2.0), "distress": ("psychosocial", 2.0),
        "feels_safe": ("psychosocial", 2.0), "problems_authorities": ("psychosocial", 1.0),
        "discrimination": ("psychosocial", 1.0), "decision_own": ("psychosocial", 1.0),
        "migrate_again": ("psychosocial", 1.0), "life_compared": ("psychosocial", 1.0),
    }


def test_bands(standard):
    scores = score(standard, {})
    thresholds = standard.thresholds
    assert [scores.band(v, thresholds) for v in (None, 0.0, 0.3299, 0.33, 0.6599, 0.66, 1.0)] == [
        None, "low", "low", "medium", "medium", "good", "good"]


# --- rules 2: a dimension needs a share of its applicable weight answered ---------------------

# Every module through health answered (the default partial rule), the best answers.
THROUGH_HEALTH = {
    "housing_situation": "own", "housing_can_stay": "yes", "housing_basic_needs": "yes",   # social 4
    "work_status": "employed", "business_started": "no", "income_covers_needs": "always",  # economic 8
    "food_cut": "never", "debts": "no", "can_borrow": "yes",
    "household_size": 3, "someone_to_rely_on": "yes", "family_contact": "often",          # psychosocial 7 of 14
    "accepted_family": "fully", "accepted_community": "fully", "community_life": "yes",
    "children_school": "all", "physical_health": 5, "access_care": "yes",                 # social 3 more: 7
    "medication_needed": "no", "distress": "never",
}


def test_scoring_version_names_the_rules():
    assert SCORING_VERSION == 2 and set(SCORING_VERSIONS) == {1, 2}
    with pytest.raises(ValueError, match="unknown scoring version 3"):
        score(registry.get("standard", 1), {}, scoring_version=3)


def test_the_default_share_applies_to_version_1(standard):
    assert DEFAULT_MIN_WEIGHT_SHARE == 0.5 and standard.min_weight_share == 0.5


def test_a_response_that_stopped_after_health_has_every_dimension(standard):
    # psychosocial: 7 of its 14 weight are in the social and health modules, exactly half
    assert standard.partial_reached(THROUGH_HEALTH)
    assert score(standard, THROUGH_HEALTH) == Scores(
        dimensions={"economic": 1.0, "social": 1.0, "psychosocial": 1.0}, composite=1.0)
    # one psychosocial item less: 6 of 14 < half, no psychosocial score and so no composite
    fewer = {k: v for k, v in THROUGH_HEALTH.items() if k != "community_life"}
    assert score(standard, fewer) == Scores(
        dimensions={"economic": 1.0, "social": 1.0, "psychosocial": None}, composite=None)
    assert score(standard, fewer, scoring_version=1).dimensions["psychosocial"] == 1.0


def test_no_scored_item_alone_makes_a_dimension_score(standard):
    needs = {"business_running": {"business_started": "yes"}, "medication_available": {"medication_needed": "yes"}}
    for item in standard.items:
        if not item.scored:
            continue
        value = next(o.code for o in item.options if o.score is not None) if item.options else item.high
        answers = {**needs.get(item.code, {}), item.code: value}
        assert score(standard, answers).dimensions[item.dimension] is None, item.code
        assert score(standard, answers, scoring_version=1).dimensions[item.dimension] is not None, item.code


def test_not_applicable_answers_leave_the_applicable_weight(standard):
    # social: housing "other", no children, no care needed, no medicine: three items of weight 1
    # remain applicable and are answered, so the score stands on them: (1 + 0.5 + 0.5) / 3
    answers = {"housing_situation": "other", "housing_can_stay": "yes", "housing_basic_needs": "partly",
               "children_school": "no_children", "physical_health": 3, "access_care": "not_needed",
               "medication_needed": "no"}
    assert score(standard, answers).dimensions["social"] == 0.6667
    # ... whereas "I do not know" is missing information: 2 of 3 answered still reaches half,
    assert score(standard, {**answers, "housing_can_stay": "dont_know"}).dimensions["social"] == 0.5
    # and 1 of 3 does not
    assert score(standard, {**answers, "housing_can_stay": "dont_know", "physical_health": None}
                 ).dimensions["social"] is None


def test_prefer_not_to_say_counts_as_missing_weight(standard):
    # economic without a business: 8 applicable; work_status 2 + can_borrow 1 = 3 of 8
    base = {"work_status": "employed", "can_borrow": "yes", "business_started": "no"}
    assert score(standard, {**base, "debts": "prefer_not_to_say"}).dimensions["economic"] is None
    assert score(standard, {**base, "debts": "no"}).dimensions["economic"] == 1.0  # 4 of 8: half


def test_skip_logic_changes_the_applicable_weight(standard):
    # a business counts: 9 applicable economic weight, 4 answered is no longer half
    answers = {"work_status": "employed", "can_borrow": "yes", "debts": "no"}
    assert score(standard, {**answers, "business_started": "no"}).dimensions["economic"] == 1.0
    assert score(standard, {**answers, "business_started": "yes"}).dimensions["economic"] is None
    assert score(standard, {**answers, "business_started": "yes", "business_running": "yes"}
                 ).dimensions["economic"] == 1.0


def test_the_definition_sets_its_own_share(standard_spec):
    strict = copy.deepcopy(standard_spec)
    strict["scoring"] = {"min_weight_share": 1}
    strict = build_definition(strict)
    assert strict.min_weight_share == 1.0
    assert score(strict, MIXED).composite == 0.4516  # everything that applies is answered
    assert score(strict, {k: v for k, v in MIXED.items() if k != "debts"}).dimensions["economic"] is None
    lenient = copy.deepcopy(standard_spec)
    lenient["scoring"] = {"min_weight_share": 0}
    lenient = build_definition(lenient)
    assert score(lenient, {"work_status": "employed"}).dimensions["economic"] == 1.0  # rules 1 again
    assert score(lenient, {}).dimensions["economic"] is None


@pytest.mark.parametrize("scoring, message", [
    ({"min_weight_share": 1.5}, "min_weight_share must be a number from 0 to 1"),
    ({"min_weight_share": -0.1}, "min_weight_share must be a number from 0 to 1"),
    ({"min_weight_share": "half"}, "min_weight_share must be a number from 0 to 1"),
    ({"min_weight_share": True}, "min_weight_share must be a number from 0 to 1"),
    ({"min_share": 0.5}, "scoring takes only min_weight_share"),
    ("0.5", "scoring takes only min_weight_share"),
])
def test_a_broken_scoring_rule_is_refused(standard_spec, scoring, message):
    spec = copy.deepcopy(standard_spec)
    spec["scoring"] = scoring
    with pytest.raises(DefinitionError, match=message):
        build_definition(spec)


def test_modules_asked_once_leave_the_applicable_weight_at_later_follow_ups():
    spec = {"code": "t", "version": 1, "title": "T", "intro": "I", "end": "E",
            "consent": {"text": "C", "agree": "A", "decline": "D"},
            "dimensions": {"economic": {"label": "Economic"}},
            "modules": [
                {"code": "always", "title": "Always", "items": [
                    {"code": "a", "type": "yesno", "text": "A?", "scores": {"yes": 1, "no": 0},
                     "dimension": "economic"}]},
                {"code": "once", "title": "Once", "first_follow_up_only": True, "items": [
                    {"code": "b", "type": "yesno", "text": "B?", "scores": {"yes": 1, "no": 0},
                     "dimension": "economic", "weight": 3}]}]}
    questionnaire = build_definition(spec)
    assert score(questionnaire, {"a": "yes"}).dimensions["economic"] is None  # 1 of 4
    assert score(questionnaire, {"a": "yes"}, first_follow_up=False).dimensions["economic"] == 1.0


# --- red flags --------------------------------------------------------------------------------

@pytest.mark.parametrize("answers, flags", [
    ({"housing_situation": "shelter"}, ["no_shelter"]),
    ({"housing_situation": "no_fixed_place"}, ["no_shelter"]),
    ({"housing_situation": "family"}, []),
    ({"housing_situation": "other"}, []),
    ({"feels_safe": "not_safe"}, ["feels_unsafe"]),
    ({"feels_safe": "mostly_safe"}, []),
    ({"medication_needed": "yes", "medication_available": "no"}, ["medication_unavailable"]),
    ({"medication_needed": "yes", "medication_available": "yes"}, []),
    ({"medication_needed": "no", "medication_available": "no"}, []),   # hidden answer
    ({"medication_available": "no"}, []),                              # hidden: medication_needed unanswered
    ({"distress": "often", "wants_support": "yes"}, ["distress_wants_support"]),
    ({"distress": "always", "wants_support": "yes"}, ["distress_wants_support"]),
    ({"distress": "often"}, []),
    ({"distress": "always", "wants_support": "no"}, []),
    ({"distress": "sometimes", "wants_support": "yes"}, []),           # hidden answer
    ({"distress": "prefer_not_to_say", "wants_support": "yes"}, []),
    ({"food_cut": "often"}, ["food_cut_often"]),
    ({"food_cut": "sometimes"}, []),
    ({"asked_to_pay": "yes"}, ["asked_to_pay"]),
    ({"asked_to_pay": "no"}, []),
    ({"asked_to_pay": "prefer_not_to_say"}, []),
    ({}, []),
])
def test_each_red_flag_on_its_own(standard, answers, flags):
    assert red_flags(standard, answers) == flags


def test_red_flags_together_in_definition_order(standard):
    answers = {"asked_to_pay": "yes", "food_cut": "often", "distress": "always", "wants_support": "yes",
               "medication_needed": "yes", "medication_available": "no", "feels_safe": "not_safe",
               "housing_situation": "shelter"}
    assert red_flags(standard, answers) == [
        "no_shelter", "feels_unsafe", "medication_unavailable", "distress_wants_support",
        "food_cut_often", "asked_to_pay"]


def test_mixed_case_flags(standard):
    # MIXED: distress often but wants_support unanswered; medication_available no (shown)
    assert red_flags(standard, MIXED) == ["medication_unavailable"]
