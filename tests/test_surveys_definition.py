"""The questionnaire definition: validation messages, the shipped standard-v1, and skip logic.

Pure unit tests: no app, no database. Small definitions are built here as dicts and passed to
`build_definition`; every refusal is checked against the exact list of problems.
"""
from __future__ import annotations

import copy

import pytest

from surveys import registry
from surveys.conditions import ConditionError, parse_condition
from surveys.definition import DEFINITIONS, DefinitionError, build_definition, load_definition
from surveys.items import ITEM_TYPES

STANDARD = DEFINITIONS / "standard-v1.yaml"


def base_spec() -> dict:
    """A small valid definition: two modules, a scored single choice, a multiple, a text."""
    return {
        "code": "t", "version": 1, "title": "T", "intro": "Intro", "end": "End",
        "consent": {"text": "Consent", "agree": "Agree", "decline": "Decline"},
        "dimensions": {"economic": {"label": "Economic"}},
        "modules": [
            {"code": "m1", "title": "M1", "items": [
                {"code": "q1", "type": "single", "text": "Q1?", "dimension": "economic",
                 "options": [{"code": "a", "label": "A", "score": 1},
                             {"code": "b", "label": "B", "score": 0},
                             {"code": "c", "label": "C"}]},
                {"code": "q2", "type": "multiple", "text": "Q2?",
                 "options": [{"code": "x", "label": "X"}, {"code": "y", "label": "Y"}]},
            ]},
            {"code": "m2", "title": "M2", "items": [
                {"code": "q3", "type": "text", "text": "Q3?"},
            ]},
        ],
    }


def item_spec(spec: dict, code: str) -> dict:
    return next(i for m in spec["modules"] for i in m["items"] if i["code"] == code)


def problems_of(spec) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        build_definition(spec)
    return caught.value.problems


# --- validation -------------------------------------------------------------------------------

def test_base_spec_is_valid():
    questionnaire = build_definition(base_spec())
    assert [i.code for i in questionnaire.items] == ["q1", "q2", "q3"]
    assert [m.code for m in questionnaire.modules] == ["m1", "m2"]
    assert questionnaire.item("q1").scored and not questionnaire.item("q2").scored
    assert questionnaire.thresholds == {"low": 0.33, "high": 0.66}  # the default


def test_duplicate_item_code_across_modules():
    spec = base_spec()
    spec["modules"][1]["items"].append({"code": "q1", "type": "text", "text": "Again?"})
    assert problems_of(spec) == ["item 'q1': duplicate code (also in module 'm1')"]


def test_duplicate_item_code_within_a_module():
    spec = base_spec()
    spec["modules"][0]["items"].append({"code": "q2", "type": "text", "text": "Again?"})
    assert problems_of(spec) == ["item 'q2': duplicate code (also in module 'm1')"]


def test_duplicate_module_code():
    spec = base_spec()
    spec["modules"][1]["code"] = "m1"
    assert problems_of(spec) == ["module 'm1': duplicate code"]


def test_duplicate_option_codes():
    spec = base_spec()
    item_spec(spec, "q2")["options"].append({"code": "x", "label": "X again"})
    assert problems_of(spec) == ["item 'q2': duplicate option codes"]


def test_explicit_dont_know_option_and_dont_know_flag_are_duplicate_codes():
    spec = base_spec()
    q1 = item_spec(spec, "q1")
    q1["options"].append({"code": "dont_know", "label": "No idea"})
    q1["dont_know"] = True
    assert problems_of(spec) == ["item 'q1': duplicate option codes"]


def test_unknown_item_type():
    spec = base_spec()
    item_spec(spec, "q3")["type"] = "essay"
    assert problems_of(spec) == [
        "item 'q3': unknown type 'essay' (use single, yesno, multiple, ranked, scale, number, date, text)",
        "module 'm2': has no items",  # the refused item leaves its module empty
    ]


def test_condition_naming_unknown_item():
    spec = base_spec()
    item_spec(spec, "q3")["when"] = {"item": "nope", "equals": "a"}
    assert problems_of(spec) == ["item 'q3': condition names unknown item 'nope'"]


def test_condition_naming_unknown_item_inside_all_any_not():
    spec = base_spec()
    item_spec(spec, "q3")["when"] = {"all": [{"item": "q1", "equals": "a"},
                                             {"any": [{"not": {"item": "ghost", "answered": True}}]}]}
    assert problems_of(spec) == ["item 'q3': condition names unknown item 'ghost'"]


def test_flag_naming_unknown_item():
    spec = base_spec()
    spec["flags"] = [{"code": "f", "label": "F", "when": {"item": "nope", "equals": "a"}}]
    assert problems_of(spec) == ["flag 'f': condition names unknown item 'nope'"]


def test_condition_naming_unknown_option_codes():
    spec = base_spec()
    item_spec(spec, "q3")["when"] = {"item": "q1", "in": ["a", "d", "e"]}
    assert problems_of(spec) == ["item 'q3': condition on 'q1' names unknown code(s) d, e"]


def test_condition_equals_and_includes_unknown_option_code():
    spec = base_spec()
    spec["modules"][1]["items"] += [
        {"code": "q4", "type": "text", "text": "Q4?", "when": {"item": "q1", "equals": "z"}},
        {"code": "q5", "type": "text", "text": "Q5?", "when": {"item": "q2", "includes": "w"}},
    ]
    assert problems_of(spec) == ["item 'q4': condition on 'q1' names unknown code(s) z",
                                 "item 'q5': condition on 'q2' names unknown code(s) w"]


def test_yaml_unquoted_yes_in_a_condition_is_an_unknown_code():
    """YAML 1.1 reads an unquoted `yes` as True: the validator catches it."""
    spec = base_spec()
    spec["modules"][0]["items"].append({"code": "yn", "type": "yesno", "text": "YN?"})
    item_spec(spec, "q3")["when"] = {"item": "yn", "equals": True}
    assert problems_of(spec) == ["item 'q3': condition on 'yn' names unknown code(s) True"]


def test_flag_naming_unknown_option_code():
    spec = base_spec()
    spec["flags"] = [{"code": "f", "label": "F", "when": {"item": "q1", "not_in": ["a", "zz"]}}]
    assert problems_of(spec) == ["flag 'f': condition on 'q1' names unknown code(s) zz"]


def test_condition_on_a_later_item():
    spec = base_spec()
    item_spec(spec, "q1")["when"] = {"item": "q3", "answered": True}
    assert problems_of(spec) == ["item 'q1': condition on 'q3', which does not come before it"]


def test_condition_on_itself():
    spec = base_spec()
    item_spec(spec, "q2")["when"] = {"item": "q2", "includes": "x"}
    assert problems_of(spec) == ["item 'q2': condition on 'q2', which does not come before it"]


def test_flag_may_name_any_item():
    spec = base_spec()
    spec["flags"] = [{"code": "f", "label": "F", "when": {"item": "q3", "answered": True}}]
    assert [f.code for f in build_definition(spec).flags] == ["f"]


def test_includes_on_a_single_choice_item():
    spec = base_spec()
    item_spec(spec, "q3")["when"] = {"item": "q1", "includes": "a"}
    assert problems_of(spec) == ["item 'q3': 'includes' needs a multiple or ranked item, 'q1' is single"]


def test_includes_on_a_text_item():
    spec = base_spec()
    spec["modules"][1]["items"].append(
        {"code": "q4", "type": "text", "text": "Q4?", "when": {"item": "q3", "includes": "a"}})
    assert problems_of(spec) == ["item 'q4': 'includes' needs a multiple or ranked item, 'q3' is text"]


def test_malformed_condition_is_reported_with_its_item():
    spec = base_spec()
    item_spec(spec, "q3")["when"] = {"item": "q1", "equals": "a", "in": ["b"]}
    assert problems_of(spec) == [
        "item 'q3': a condition on 'q1' needs exactly one of equals, in, not_in, includes, answered, gt, gte, lt, lte"]


def test_weight_on_an_unscored_item():
    spec = base_spec()
    item_spec(spec, "q3")["weight"] = 2
    assert problems_of(spec) == ["item 'q3': has a weight but is not scored (no dimension)"]


@pytest.mark.parametrize("weight", [0, -1, "1,5", None])
def test_weight_must_be_a_positive_number(weight):
    # "1,5" (a decimal comma) and None used to crash the validator with ValueError / TypeError
    spec = base_spec()
    item_spec(spec, "q1")["weight"] = weight
    assert problems_of(spec) == ["item 'q1': weight must be a positive number"]


def test_dimension_on_a_multiple_choice_item():
    spec = base_spec()
    item_spec(spec, "q2")["dimension"] = "economic"
    assert problems_of(spec) == ["item 'q2': has a dimension but none of its answers has a score"]


def test_dimension_on_a_single_choice_without_option_scores():
    spec = base_spec()
    for option in item_spec(spec, "q1")["options"]:
        option.pop("score", None)
    assert problems_of(spec) == ["item 'q1': has a dimension but none of its answers has a score"]


def test_dimension_on_a_text_item_and_a_yesno_without_scores():
    spec = base_spec()
    item_spec(spec, "q3")["dimension"] = "economic"
    spec["modules"][1]["items"].append({"code": "yn", "type": "yesno", "text": "YN?", "dimension": "economic"})
    assert problems_of(spec) == ["item 'q3': has a dimension but none of its answers has a score",
                                 "item 'yn': has a dimension but none of its answers has a score"]


def test_unknown_dimension():
    spec = base_spec()
    item_spec(spec, "q1")["dimension"] = "political"
    assert problems_of(spec) == ["item 'q1': unknown dimension 'political'"]


@pytest.mark.parametrize("score", [1.5, -0.1, "high"])
def test_option_score_outside_zero_to_one(score):
    spec = base_spec()
    item_spec(spec, "q1")["options"][0]["score"] = score
    assert problems_of(spec) == [f"item 'q1': option 'a' has score {score!r}, not between 0 and 1"]


def test_option_scores_zero_and_one_are_accepted():
    spec = base_spec()
    item_spec(spec, "q1")["options"][2]["score"] = 0.0
    assert build_definition(spec).item("q1").recode("c") == 0.0


def test_yesno_scores_only_yes_and_no():
    spec = base_spec()
    spec["modules"][1]["items"].append(
        {"code": "yn", "type": "yesno", "text": "YN?", "scores": {True: 1, False: 0}, "dimension": "economic"})
    assert problems_of(spec) == ["item 'yn': a yesno item scores only 'yes' and 'no'"]


@pytest.mark.parametrize("bounds", [{"min": 5, "max": 1}, {"min": 3, "max": 3}, {"min": 1, "max": 12},
                                    {"min": 1.0, "max": 5}, {"min": "1", "max": "5"}])
def test_bad_scale_bounds(bounds):
    spec = base_spec()
    spec["modules"][1]["items"].append({"code": "sc", "type": "scale", "text": "SC?", **bounds})
    assert problems_of(spec) == ["item 'sc': a scale needs whole numbers min < max, at most 10 apart"]


def test_scale_bounds_ten_apart_are_accepted():
    spec = base_spec()
    spec["modules"][1]["items"].append({"code": "sc", "type": "scale", "text": "SC?", "min": 0, "max": 10})
    assert build_definition(spec).item("sc").points() == list(range(0, 11))


def test_number_bounds():
    spec = base_spec()
    spec["modules"][1]["items"] += [
        {"code": "n1", "type": "number", "text": "N1?", "min": 10, "max": 1},
        {"code": "n2", "type": "number", "text": "N2?", "min": "1", "max": 3},  # used to raise TypeError
    ]
    assert problems_of(spec) == ["item 'n1': min is larger than max",
                                 "item 'n2': min and max must be whole numbers"]


def test_multiple_with_first_needs_a_first_text():
    spec = base_spec()
    item_spec(spec, "q2")["first"] = True
    assert problems_of(spec) == ["item 'q2': 'first: true' needs a first_text question"]


@pytest.mark.parametrize("consent", [{"text": "C", "agree": "A"}, {"text": "C", "agree": "A", "decline": "D", "x": "X"},
                                     "I agree"])
def test_consent_needs_exactly_text_agree_decline(consent):
    spec = base_spec()
    spec["consent"] = consent
    assert problems_of(spec) == ["consent needs exactly text, agree and decline"]


def test_missing_top_level_keys_are_all_reported_before_anything_else():
    spec = base_spec()
    del spec["intro"], spec["consent"]
    item_spec(spec, "q1")["dimension"] = "political"  # not reached: the top level is refused first
    assert problems_of(spec) == ["missing top-level key 'intro'", "missing top-level key 'consent'"]


def test_not_a_mapping():
    assert problems_of(["code", "t"]) == ["the definition must be a mapping"]


def test_several_problems_are_reported_at_once():
    spec = base_spec()
    spec["version"] = 0
    spec["consent"] = {"text": "C"}
    spec["modules"][1]["code"] = "m1"
    item_spec(spec, "q1")["dimension"] = "political"
    item_spec(spec, "q1")["options"][1]["code"] = "a"
    item_spec(spec, "q2")["weight"] = 3
    item_spec(spec, "q3")["when"] = {"item": "q1", "includes": "zz"}
    spec["flags"] = [{"code": "f", "when": {"item": "q3", "answered": True}},
                     {"code": "f", "label": "F", "when": {"item": "q1", "equals": "a"}}]
    with pytest.raises(DefinitionError) as caught:
        build_definition(spec, source="broken.yaml")
    assert caught.value.problems == [
        "version must be a whole number from 1",
        "consent needs exactly text, agree and decline",
        "item 'q1': duplicate option codes",
        "item 'q2': has a weight but is not scored (no dimension)",
        "module 'm1': duplicate code",
        "item 'q1': unknown dimension 'political'",
        "item 'q3': condition on 'q1' names unknown code(s) zz",
        "item 'q3': 'includes' needs a multiple or ranked item, 'q1' is single",
        "flag 'f': needs a label",
        "two flags have the same code",
    ]
    assert str(caught.value) == "broken.yaml: " + "; ".join(caught.value.problems)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken-v1.yaml"
    path.write_text("code: standard\nmodules: [\n  - {code: housing\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("not valid YAML: ")
    assert str(caught.value).startswith(f"{path}: not valid YAML: ")


def test_load_definition_reports_the_file_name(tmp_path):
    path = tmp_path / "empty-v1.yaml"
    path.write_text("just a string\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert caught.value.problems == ["the definition must be a mapping"]
    assert str(caught.value) == f"{path}: the definition must be a mapping"


def test_parse_condition_refusals():
    with pytest.raises(ConditionError, match="'gt' on 'n' takes a number"):
        parse_condition({"item": "n", "gt": "2"})
    with pytest.raises(ConditionError, match="'gt' on 'n' takes a number"):
        parse_condition({"item": "n", "gt": True})
    with pytest.raises(ConditionError, match="'in' on 's' takes a non-empty list"):
        parse_condition({"item": "s", "in": []})
    with pytest.raises(ConditionError, match="'all' takes a non-empty list"):
        parse_condition({"all": []})
    with pytest.raises(ConditionError, match="'not' takes one condition and nothing beside it"):
        parse_condition({"not": {"item": "s", "equals": "a"}, "item": "s"})
    with pytest.raises(ConditionError, match="a condition must be a mapping"):
        parse_condition("s == a")


# --- the shipped standard-v1 ------------------------------------------------------------------

@pytest.fixture(scope="module")
def standard():
    return load_definition(STANDARD)


def test_standard_loads_with_code_and_version(standard):
    assert (standard.code, standard.version, standard.key) == ("standard", 1, "standard-v1")
    assert registry.get("standard", 1).key == "standard-v1"
    assert set(standard.consent) == {"text", "agree", "decline"}
    assert set(standard.dimensions) == {"economic", "social", "psychosocial"}


def test_standard_has_the_nine_modules_in_product_order(standard):
    assert [m.code for m in standard.modules] == [
        "housing", "income", "social", "health", "heard", "decision", "safety", "support", "outlook"]


def test_standard_heard_and_decision_are_first_follow_up_only(standard):
    assert [m.code for m in standard.modules if m.first_follow_up_only] == ["heard", "decision"]
    assert [m.code for m in standard.modules_for(first_follow_up=False)] == [
        "housing", "income", "social", "health", "safety", "support", "outlook"]


def test_standard_has_the_six_red_flags(standard):
    assert [f.code for f in standard.flags] == [
        "no_shelter", "feels_unsafe", "medication_unavailable", "distress_wants_support",
        "food_cut_often", "asked_to_pay"]


def test_standard_uses_every_item_type(standard):
    used = {item.type_name for item in standard.items}
    assert used == set(ITEM_TYPES) == {"single", "yesno", "multiple", "ranked", "scale", "number", "date", "text"}


def test_standard_heard_from_marks_a_first_and_is_apart_from_applied_through(standard):
    heard = standard.module("heard")
    assert [i.code for i in heard.items] == ["heard_from", "heard_from_other", "applied_through"]
    assert standard.item("heard_from").ask_first is True
    assert len(standard.item("heard_from").options) == 19
    assert standard.item("decision_factors").type_name == "ranked"
    assert len(standard.item("decision_factors").options) == 15


def test_standard_texts_have_no_repeats_and_include_consent(standard):
    texts = standard.texts()
    assert len(texts) == len(set(texts))
    assert texts[:3] == [standard.title, standard.intro, standard.end]
    for value in standard.consent.values():
        assert value in texts
    assert standard.item("heard_from").first_text in texts


# --- skip logic -------------------------------------------------------------------------------

def skip_spec() -> dict:
    def single(code, options, **extra):
        return {"code": code, "type": "single", "text": code.upper(),
                "options": [{"code": o, "label": o.upper()} for o in options], **extra}

    return {
        "code": "skip", "version": 1, "title": "T", "intro": "I", "end": "E",
        "consent": {"text": "C", "agree": "A", "decline": "D"},
        "dimensions": {"economic": {"label": "Economic"}},
        "modules": [
            {"code": "first", "title": "First", "items": [
                single("s", ["a", "b", "c"], required=True),
                {"code": "y", "type": "yesno", "text": "Y", "required": True, "when": {"item": "s", "equals": "a"}},
                {"code": "t", "type": "text", "text": "T", "required": True, "when": {"item": "y", "equals": "yes"}},
                {"code": "ni", "type": "text", "text": "NI", "when": {"item": "s", "not_in": ["c"]}},
                {"code": "n", "type": "number", "text": "N"},
                {"code": "big", "type": "text", "text": "BIG", "when": {"item": "n", "gt": 2}},
                {"code": "small", "type": "text", "text": "SMALL", "when": {"item": "n", "lte": 2}},
            ]},
            {"code": "once", "title": "Once", "first_follow_up_only": True, "items": [
                {"code": "mc", "type": "multiple", "text": "MC",
                 "options": [{"code": "x", "label": "X"}, {"code": "z", "label": "Z"}]},
                {"code": "mo", "type": "text", "text": "MO", "when": {"item": "mc", "includes": "z"}},
                {"code": "rk", "type": "ranked", "text": "RK", "required": True,
                 "options": [{"code": "p", "label": "P"}, {"code": "q", "label": "Q"}]},
                {"code": "ro", "type": "text", "text": "RO", "when": {"item": "rk", "includes": "q"}},
            ]},
            {"code": "last", "title": "Last", "items": [
                {"code": "combo", "type": "text", "text": "COMBO", "when": {"all": [
                    {"item": "s", "equals": "a"},
                    {"any": [{"item": "n", "gte": 5}, {"item": "mc", "includes": "x"}]}]}},
                {"code": "neg", "type": "text", "text": "NEG", "when": {"not": {"item": "y", "equals": "yes"}}},
                {"code": "asked", "type": "text", "text": "ASKED", "required": True,
                 "when": {"item": "n", "answered": False}},
            ]},
        ],
    }


@pytest.fixture(scope="module")
def skip():
    return build_definition(skip_spec())


def visible(questionnaire, answers, first_follow_up=True):
    return [i.code for i in questionnaire.visible_items(answers, first_follow_up=first_follow_up)]


def test_nothing_answered(skip):
    # s unanswered: equals is false (y, t, combo hidden), not_in is true (ni shown),
    # not(...) is true (neg shown), n unanswered: gt / lte false, answered: false true
    assert visible(skip, {}) == ["s", "ni", "n", "mc", "rk", "neg", "asked"]
    assert skip.effective_answers({}) == {}


def test_hidden_answers_do_not_count(skip):
    answers = {"s": "b", "y": "yes", "t": "stale", "ni": "kept"}
    assert skip.effective_answers(answers) == {"s": "b", "ni": "kept"}


def test_chain_hidden_because_the_item_it_depends_on_is_hidden(skip):
    # t depends on y, which depends on s == a; with s == b, y is hidden so t is too,
    # even though the stored answer to y is "yes".
    answers = {"s": "b", "y": "yes", "t": "text"}
    assert "t" not in visible(skip, answers)
    assert "y" not in visible(skip, answers)
    assert "t" not in skip.effective_answers(answers)
    # the same chain, open all the way
    answers["s"] = "a"
    assert skip.effective_answers(answers) == {"s": "a", "y": "yes", "t": "text"}
    assert visible(skip, answers)[:3] == ["s", "y", "t"]


def test_not_on_a_hidden_item_is_true(skip):
    # neg = not (y == yes): y answered "yes" but hidden (s == b), so neg is shown
    assert "neg" in visible(skip, {"s": "b", "y": "yes"})
    assert "neg" not in visible(skip, {"s": "a", "y": "yes"})
    assert "neg" in visible(skip, {"s": "a", "y": "no"})


def test_not_in_on_an_unanswered_item_is_true(skip):
    assert "ni" in visible(skip, {})
    assert "ni" in visible(skip, {"s": "a"})
    assert "ni" not in visible(skip, {"s": "c"})


def test_numeric_comparisons(skip):
    assert [c for c in visible(skip, {"n": 2}) if c in ("big", "small")] == ["small"]
    assert [c for c in visible(skip, {"n": 3}) if c in ("big", "small")] == ["big"]
    assert [c for c in visible(skip, {"n": 0}) if c in ("big", "small")] == ["small"]


def test_answered_false(skip):
    assert "asked" in visible(skip, {})
    assert "asked" not in visible(skip, {"n": 0})  # zero is an answer


def test_includes_on_multiple_and_ranked(skip):
    assert "mo" in visible(skip, {"mc": ["x", "z"]})
    assert "mo" not in visible(skip, {"mc": ["x"]})
    assert "ro" in visible(skip, {"rk": ["p", "q"]})
    assert "ro" not in visible(skip, {"rk": ["p"]})


def test_all_and_any(skip):
    assert "combo" in visible(skip, {"s": "a", "n": 5})            # all: s == a and (n >= 5)
    assert "combo" in visible(skip, {"s": "a", "n": 1, "mc": ["x"]})  # ... or mc includes x
    assert "combo" not in visible(skip, {"s": "a", "n": 4, "mc": ["z"]})  # any fails
    assert "combo" not in visible(skip, {"s": "b", "n": 9, "mc": ["x"]})  # all fails on s


def test_missing_required_only_for_visible_required_items(skip):
    # s, rk and asked (n unanswered) are visible and required; y and t are hidden
    assert skip.missing_required({}) == ["s", "rk", "asked"]
    # s == a shows y (required); y == no keeps t hidden; n answered hides asked
    assert skip.missing_required({"s": "a", "n": 1}) == ["y", "rk"]
    assert skip.missing_required({"s": "a", "y": "yes", "n": 1, "rk": ["p"]}) == ["t"]
    assert skip.missing_required({"s": "b", "n": 1, "rk": ["p"]}) == []
    # an empty list or string is not an answer
    assert skip.missing_required({"s": "b", "n": 1, "rk": []}) == ["rk"]


def test_missing_required_without_first_follow_up_modules(skip):
    assert skip.missing_required({"s": "b", "n": 1}, first_follow_up=False) == []
    assert skip.missing_required({"s": "b", "n": 1}, first_follow_up=True) == ["rk"]


def test_visible_items_without_first_follow_up_modules(skip):
    answers = {"s": "a", "y": "yes", "n": 7, "mc": ["z"], "rk": ["q"]}
    assert visible(skip, answers) == ["s", "y", "t", "ni", "n", "big", "mc", "mo", "rk", "ro", "combo"]
    assert visible(skip, answers, first_follow_up=False) == ["s", "y", "t", "ni", "n", "big", "combo"]


def test_is_visible(skip):
    assert skip.is_visible(skip.item("t"), {"s": "a", "y": "yes"}) is True
    assert skip.is_visible(skip.item("t"), {"s": "b", "y": "yes"}) is False
    assert skip.is_visible(skip.item("s"), {}) is True


def test_standard_visible_items_later_follow_up(standard):
    later = [i.code for i in standard.visible_items({}, first_follow_up=False)]
    first = [i.code for i in standard.visible_items({}, first_follow_up=True)]
    assert "heard_from" in first and "decision_factors" in first
    assert not {"heard_from", "heard_from_other", "applied_through", "decision_factors", "decision_other"} & set(later)
    assert [c for c in first if c not in later] == ["heard_from", "applied_through", "decision_factors"]


def test_standard_no_fixed_place_hides_the_housing_follow_ups(standard):
    answers = {"housing_situation": "no_fixed_place", "housing_can_stay": "yes", "housing_basic_needs": "yes"}
    assert standard.effective_answers(answers) == {"housing_situation": "no_fixed_place"}
    shown = [i.code for i in standard.module("housing").items if i in standard.visible_items(answers)]
    assert shown == ["housing_situation"]


def test_unknown_answer_keys_are_dropped(skip):
    assert skip.effective_answers({"s": "b", "unknown": 1}) == {"s": "b"}


def test_the_definition_is_not_mutated_by_build():
    spec = base_spec()
    before = copy.deepcopy(spec)
    build_definition(spec)
    assert spec == before


def test_shipped_questionnaires_are_translated_in_every_language():
    from surveys import registry
    from surveys.translation import LANGUAGES, missing_translations

    for questionnaire in registry.all_versions().values():
        assert missing_translations(questionnaire) == []
    broken = registry.current()
    broken.modules[0].items[0].text = "A question nobody has translated yet?"
    try:
        problems = missing_translations(broken)
        assert len(problems) == len(LANGUAGES) - 1  # every language but English
        assert "fr lacks 1 of" in problems[0] and "A question nobody has translated yet?" in problems[0]
    finally:
        registry.all_versions.cache_clear()


def test_check_questionnaires_command():
    from click.testing import CliRunner

    from monitor.cli import check_questionnaires_command

    result = CliRunner().invoke(check_questionnaires_command)
    assert result.exit_code == 0, result.output
    assert "standard-v1.yaml: 42 items in 9 modules" in result.output


# -- partial or break-off ---------------------------------------------------------------------

def test_partial_by_default_means_every_module_through_health_answered():
    from tests.test_respond import PAGES

    questionnaire = registry.get("standard", 1)
    assert questionnaire.partial == {"through": "health"}
    through_health = {code: questionnaire.item(code).normalise(";".join(v) if isinstance(v, list) else v)
                      for module in ("housing", "income", "social", "health")
                      for code, v in PAGES[module].items()}
    assert questionnaire.partial_reached(through_health)
    housing_only = {c: v for c, v in through_health.items() if questionnaire.item(c).module == "housing"}
    assert housing_only and not questionnaire.partial_reached(housing_only)
    assert not questionnaire.partial_reached({})


def test_partial_as_a_share_of_the_required_items():
    spec = base_spec()
    spec["modules"][0]["items"][0]["required"] = True
    spec["modules"][1]["items"][0]["required"] = True
    spec["partial"] = {"share": 0.5}
    questionnaire = build_definition(spec)
    assert questionnaire.partial_reached({"q1": "a"})
    assert not questionnaire.partial_reached({"q2": ["x"]})


@pytest.mark.parametrize("partial", [{"through": "nowhere"}, {"share": 0}, {"share": 1.5}, {"share": 0.5, "through": "m1"},
                                     "half"])
def test_a_broken_partial_rule_is_refused(partial):
    spec = base_spec()
    spec["partial"] = partial
    with pytest.raises(DefinitionError, match="partial needs"):
        build_definition(spec)


# -- unknown top-level keys ---------------------------------------------------------------------

def test_an_unknown_top_level_key_is_refused():
    spec = base_spec()
    spec["indicator"] = {}  # a typo would otherwise be ignored silently
    assert problems_of(spec) == ["unknown top-level keys indicator"]


# -- reporting groups ---------------------------------------------------------------------------

def grouped_spec() -> dict:
    spec = base_spec()
    spec["groups"] = {"near": {"label": "People near you"}, "far": {"label": "Far away"}}
    q2 = item_spec(spec, "q2")
    q2["options"] = [{"code": "x", "label": "X", "group": "near"}, {"code": "y", "label": "Y", "group": "far"}]
    return spec


def test_groups_are_read_with_their_labels_and_translated_texts():
    questionnaire = build_definition(grouped_spec())
    assert questionnaire.groups == {"near": "People near you", "far": "Far away"}
    assert [o.group for o in questionnaire.item("q2").options] == ["near", "far"]
    assert {"People near you", "Far away"} <= set(questionnaire.texts())
    assert build_definition(base_spec()).groups == {}


def test_an_option_naming_an_unknown_group_is_refused():
    spec = grouped_spec()
    item_spec(spec, "q2")["options"][1]["group"] = "elsewhere"
    assert problems_of(spec) == ["item 'q2': option 'y' names unknown group 'elsewhere'",
                                 "groups far are used by no option"]


def test_an_item_groups_all_its_options_or_none():
    spec = grouped_spec()
    item_spec(spec, "q2")["options"].append({"code": "z", "label": "Z"})
    assert problems_of(spec) == ["item 'q2': options z have no group, but others of the item have one"]
    # "I do not know" is no answer: it needs no group
    spec = grouped_spec()
    item_spec(spec, "q2")["dont_know"] = True
    assert build_definition(spec).item("q2").options[-1].group is None


@pytest.mark.parametrize("groups, problem", [
    (["near"], "groups must map group codes to {label: ...}"),
    ({"Near": {"label": "N"}, "far": {"label": "F"}}, "group 'Near': a code is a-z, 0-9 and _ (at most 40)"),
    ({"near": "People near you", "far": {"label": "F"}}, "group 'near': needs a label, and only a label"),
    ({"near": {"label": ""}, "far": {"label": "F"}}, "group 'near': needs a label, and only a label"),
    ({"near": {"label": "N", "colour": "red"}, "far": {"label": "F"}}, "group 'near': needs a label, and only a label"),
])
def test_broken_groups_are_refused(groups, problem):
    spec = grouped_spec()
    spec["groups"] = groups
    assert problem in problems_of(spec)


# -- key indicators -----------------------------------------------------------------------------

def indicator_spec() -> dict:
    spec = skip_spec()
    spec["indicators"] = {
        "s_is_a": {"label": "S is A", "when": {"item": "s", "equals": "a"}},
        "s_and_y": {"label": "S and Y", "when": {"all": [{"item": "s", "in": ["a", "b"]}, {"item": "y", "equals": "yes"}]}},
        "s_or_n": {"label": "S or N", "when": {"any": [{"item": "s", "equals": "a"}, {"item": "n", "gt": 2}]}},
        "not_x": {"label": "Not X", "when": {"not": {"item": "mc", "includes": "x"}}},
        "n_given": {"label": "N given", "when": {"item": "n", "answered": True}},
    }
    return spec


def test_indicators_are_read_in_order_with_translated_labels():
    questionnaire = build_definition(indicator_spec())
    assert [i.code for i in questionnaire.indicators] == ["s_is_a", "s_and_y", "s_or_n", "not_x", "n_given"]
    assert {"S is A", "S and Y", "Not X"} <= set(questionnaire.texts())
    assert build_definition(base_spec()).indicators == []
    assert build_definition(base_spec()).indicator_values({"q1": "a"}) == {}


@pytest.mark.parametrize("answers, expected", [
    # nothing answered: every comparison is unknown; `answered` never is
    ({}, {"s_is_a": None, "s_and_y": None, "s_or_n": None, "not_x": None, "n_given": False}),
    ({"s": "a", "y": "yes"}, {"s_is_a": True, "s_and_y": True, "s_or_n": True, "not_x": None, "n_given": False}),
    # all: one false part decides, whatever the other; any: one true part decides
    ({"s": "c"}, {"s_is_a": False, "s_and_y": False, "s_or_n": None, "not_x": None, "n_given": False}),
    ({"s": "c", "n": 5}, {"s_is_a": False, "s_and_y": False, "s_or_n": True, "not_x": None, "n_given": True}),
    ({"s": "c", "n": 1}, {"s_is_a": False, "s_and_y": False, "s_or_n": False, "not_x": None, "n_given": True}),
    # y is hidden when s is b: the answer it needs is not asked, so s_and_y is unknown
    ({"s": "b", "y": "no"}, {"s_is_a": False, "s_and_y": None, "s_or_n": None, "not_x": None, "n_given": False}),
    ({"s": "a", "y": "no", "mc": ["z"]},
     {"s_is_a": True, "s_and_y": False, "s_or_n": True, "not_x": True, "n_given": False}),
    ({"mc": ["x"]}, {"s_is_a": None, "s_and_y": None, "s_or_n": None, "not_x": False, "n_given": False}),
])
def test_indicator_values_are_three_valued(answers, expected):
    assert build_definition(indicator_spec()).indicator_values(answers) == expected


def test_indicators_on_modules_not_asked_are_missing():
    questionnaire = build_definition(indicator_spec())
    assert questionnaire.indicator_values({"mc": ["z"]})["not_x"] is True
    assert questionnaire.indicator_values({"mc": ["z"]}, first_follow_up=False)["not_x"] is None


def test_dont_know_and_prefer_not_to_say_make_an_indicator_missing():
    spec = indicator_spec()
    item_spec(spec, "y")["dont_know"] = True
    item_spec(spec, "s")["refusable"] = True
    questionnaire = build_definition(spec)
    assert questionnaire.indicator_values({"s": "a", "y": "dont_know"})["s_and_y"] is None
    assert questionnaire.indicator_values({"s": "prefer_not_to_say"})["s_is_a"] is None
    assert questionnaire.indicator_values({"s": "prefer_not_to_say"})["s_or_n"] is None


@pytest.mark.parametrize("indicators, problem", [
    ({"bad": {"label": "B", "when": {"item": "nowhere", "equals": "a"}}},
     "indicator 'bad': condition names unknown item 'nowhere'"),
    ({"bad": {"label": "B", "when": {"item": "s", "equals": "d"}}},
     "indicator 'bad': condition on 's' names unknown code(s) d"),
    ({"bad": {"label": "B", "when": {"item": "s", "includes": "a"}}},
     "indicator 'bad': 'includes' needs a multiple or ranked item, 's' is single"),
    ({"bad": {"label": "B", "when": {"item": "s"}}},
     "indicator 'bad': a condition on 's' needs exactly one of equals, in, not_in, includes, answered, gt, gte, lt, lte"),
    ({"bad": {"when": {"item": "s", "equals": "a"}}},
     "indicator 'bad': needs a label and a condition (when), and nothing else"),
    ({"bad": {"label": "B", "when": {"item": "s", "equals": "a"}, "weight": 2}},
     "indicator 'bad': needs a label and a condition (when), and nothing else"),
    ({"Bad": {"label": "B", "when": {"item": "s", "equals": "a"}}},
     "indicator 'Bad': a code is a-z, 0-9 and _ (at most 40)"),
    ({"n": {"label": "N", "when": {"item": "n", "gt": 1}}},
     "indicator 'n': has the code of an item (exports list both side by side)"),
    ([{"code": "s_is_a"}], "indicators must map indicator codes to {label: ..., when: ...}"),
])
def test_broken_indicators_are_refused(indicators, problem):
    spec = skip_spec()
    spec["indicators"] = indicators
    assert problems_of(spec) == [problem]


def test_evaluate_known_truth_tables():
    a = parse_condition({"item": "a", "equals": "yes"})
    b = parse_condition({"item": "b", "equals": "yes"})
    values = {"yes": True, "no": False, None: None}
    for x in values:
        for y in values:
            answers = {k: v for k, v in (("a", x), ("b", y)) if v is not None}
            both = parse_condition({"all": [{"item": "a", "equals": "yes"}, {"item": "b", "equals": "yes"}]})
            either = parse_condition({"any": [{"item": "a", "equals": "yes"}, {"item": "b", "equals": "yes"}]})
            p, q = values[x], values[y]
            expected_and = False if False in (p, q) else None if None in (p, q) else True
            expected_or = True if True in (p, q) else None if None in (p, q) else False
            assert both.evaluate_known(answers) is expected_and, (x, y)
            assert either.evaluate_known(answers) is expected_or, (x, y)
            assert a.evaluate_known(answers) is p
            assert parse_condition({"not": {"item": "b", "equals": "yes"}}).evaluate_known(answers) is (
                None if q is None else not q)
    # not_in on a missing item: true for skip logic, unknown for an indicator
    not_in = parse_condition({"item": "a", "not_in": ["no"]})
    assert not_in.evaluate({}) is True and not_in.evaluate_known({}) is None
    assert parse_condition({"item": "a", "answered": False}).evaluate_known({}) is True
