"""The shipped standard-v2: what changed from version 1, and that version 1 is still read and
scored in its own terms.

Pure unit tests: no app, no database (the XLSForm is converted by pyxform as in test_exports).
"""
from __future__ import annotations

import io

import pytest

from surveys import registry
from surveys.exports import codebook_rows, indicator_expressions, write_codebook
from surveys.items import EXCLUSIVE_MESSAGE, AnswerError
from surveys.scoring import score
from surveys.translation import LANGUAGES, missing_translations, translator
from tests.test_exports import binds, evaluate_xpath, read_codebook, squeeze, to_xform, xform_values
from tests.test_surveys_scoring import MIXED, THROUGH_HEALTH


@pytest.fixture(scope="module")
def v1():
    return registry.get("standard", 1)


@pytest.fixture(scope="module")
def v2():
    return registry.get("standard", 2)


# A full set of answers to version 2, as codes.
FULL = {**THROUGH_HEALTH, "income_sources": ["work"], "heard_from": ["family_friends", "return_desk"],
        "applied_through": "return_desk", "decision_factors": ["family_at_home", "no_work", "homesickness"],
        "feels_safe": "mostly_safe", "problems_authorities": "no", "discrimination": "never",
        "support_received": "nothing_promised", "asked_to_pay": "no", "partner_satisfaction": 4,
        "decision_own": "fully", "migrate_again": "no", "life_compared": "better", "would_recommend": "yes"}


def test_version_2_is_current_and_version_1_stays(v1, v2):
    assert registry.current().key == "standard-v2"
    assert (v1.key, v2.key) == ("standard-v1", "standard-v2")
    assert v1.groups == {} and v1.indicators == [] and not any(o.exclusive for i in v1.items for o in i.options)


def test_version_2_asks_the_same_questions_with_the_changes_of_issue_8(v1, v2):
    assert [i.code for i in v2.items] == [i.code for i in v1.items]
    changed = {i.code for i in v2.items if [(o.code, o.label, o.score) for o in i.options]
               != [(o.code, o.label, o.score) for o in v1.item(i.code).options]}
    assert changed == {"support_received"}
    assert [o.code for o in v2.item("support_received").options][-1] == "nothing_promised"
    assert v2.item("support_received").options[-1].score is None and not v2.item("support_received").scored
    exclusive = {(i.code, o.code) for i in v2.items for o in i.options if o.exclusive}
    assert exclusive == {("income_sources", "none")}
    assert v2.partial == v1.partial == {"through": "health"}
    assert v2.min_weight_share == v1.min_weight_share == 0.5
    assert [f.code for f in v2.flags] == [f.code for f in v1.flags]


def test_no_money_coming_in_stands_alone(v2):
    sources = v2.item("income_sources")
    assert sources.parse_form({"income_sources": ["none"]}) == ["none"]
    with pytest.raises(AnswerError) as caught:
        sources.parse_form({"income_sources": ["work", "none"]})
    assert caught.value.message == EXCLUSIVE_MESSAGE
    assert translator("ru")(EXCLUSIVE_MESSAGE) != EXCLUSIVE_MESSAGE


def test_nothing_promised_asks_nothing_about_timing(v2):
    assert "support_on_time" not in [i.code for i in v2.visible_items({"support_received": "nothing_promised"})]
    assert "support_on_time" in [i.code for i in v2.visible_items({"support_received": "part"})]


def test_every_answer_to_how_they_heard_and_why_they_decided_has_a_group(v2):
    for code in ("heard_from", "decision_factors"):
        assert all(o.group in v2.groups for o in v2.item(code).options), code
    assert not any(o.group for i in v2.items if i.code not in ("heard_from", "decision_factors") for o in i.options)


def test_groups_rebuild_the_test_phase_word_of_mouth_category(v2):
    """Seed 004: "How did you come to know about VR program? VR information: Trust relation /
    Word of mouth" -- family or friends, other migrants or the community, someone who returned."""
    heard = v2.item("heard_from")
    word_of_mouth = {o.code for o in heard.options if o.group == "word_of_mouth"}
    assert word_of_mouth == {"family_friends", "other_migrants", "returned_person"}
    assert heard.groups_of(["return_desk", "family_friends", "returned_person"]) == ["return_services", "word_of_mouth"]
    groups = {o.code: o.group for o in heard.options}
    assert groups["order_to_leave"] == groups["police_prison_detention"] == groups["embassy"] == "authorities"
    assert groups["poster_flyer"] == groups["website"] == groups["media"] == "information_material"
    assert groups["return_desk"] == groups["iom_staff"] == groups["phone_line"] == "return_services"
    factors = {o.code: o.group for o in v2.item("decision_factors").options}
    assert factors["no_legal_stay"] == factors["fear_detention"] == "legal_status"
    assert factors["physical_health"] == factors["mental_health"] == factors["addiction_recovery"] == "health"
    assert v2.item("decision_factors").groups_of(["no_work", "financial_hardship", "family_at_home"]) == [
        "hardship_in_belgium", "family_and_home"]


def test_the_five_key_indicators(v2):
    assert [i.code for i in v2.indicators] == [
        "housing_secure", "income_covers_basic_needs", "has_someone_to_rely_on", "needed_medication_available",
        "feels_safe_where_living"]
    assert v2.indicator_values(FULL) == {
        "housing_secure": True, "income_covers_basic_needs": True, "has_someone_to_rely_on": True,
        "needed_medication_available": None,  # needs no medicine: not asked
        "feels_safe_where_living": True}      # "mostly" counts as safe
    assert v2.indicator_values({}) == dict.fromkeys(v2.indicator_values(FULL))


@pytest.mark.parametrize("answers, code, value", [
    ({"housing_situation": "no_fixed_place"}, "housing_secure", False),   # can_stay is not even asked
    ({"housing_situation": "shelter", "housing_can_stay": "yes"}, "housing_secure", False),
    ({"housing_situation": "rented", "housing_can_stay": "no"}, "housing_secure", False),
    ({"housing_situation": "other", "housing_can_stay": "yes"}, "housing_secure", True),
    ({"housing_situation": "rented", "housing_can_stay": "dont_know"}, "housing_secure", None),
    ({"housing_situation": "rented"}, "housing_secure", None),
    ({"income_covers_needs": "mostly"}, "income_covers_basic_needs", True),
    ({"income_covers_needs": "sometimes"}, "income_covers_basic_needs", False),
    ({"someone_to_rely_on": "no"}, "has_someone_to_rely_on", False),
    ({"medication_needed": "yes", "medication_available": "no"}, "needed_medication_available", False),
    ({"medication_needed": "yes", "medication_available": "yes"}, "needed_medication_available", True),
    ({"medication_needed": "yes"}, "needed_medication_available", None),
    ({"medication_needed": "no", "medication_available": "no"}, "needed_medication_available", None),
    ({"feels_safe": "not_safe"}, "feels_safe_where_living", False),
])
def test_indicator_values(v2, answers, code, value):
    assert v2.indicator_values(answers)[code] is value


def test_indicators_agree_with_the_red_flags_where_they_overlap(v2):
    from surveys.scoring import red_flags

    for feels in ("safe", "mostly_safe", "not_safe"):
        answers = {"feels_safe": feels}
        assert v2.indicator_values(answers)["feels_safe_where_living"] is ("feels_unsafe" not in red_flags(v2, answers))


def test_version_2_scores_as_version_1(v1, v2):
    for answers in (MIXED, THROUGH_HEALTH, FULL, {}):
        assert score(v2, answers) == score(v1, answers)
    assert score(v2, MIXED).composite == 0.4516


def test_version_2_is_translated_in_every_language(v2):
    assert missing_translations(v2, LANGUAGES) == []
    for language in ("fr", "ru", "ar"):
        t = translator(language)
        for text in [*v2.groups.values(), *(i.label for i in v2.indicators), "Nothing was promised to me"]:
            assert t.has(text) and t(text) != text, (language, text)


def test_version_2_codebook(v2):
    buffer = io.BytesIO()
    write_codebook(v2, buffer)
    rows = read_codebook(buffer.getvalue())
    assert [(r["item"], r["option"]) for r in rows] == [(r["item"], r["option"]) for r in codebook_rows(v2)]
    option = {(r["item"], r["option"]): r for r in rows if r["item"] and r["option"]}
    assert option[("income_sources", "none")]["exclusive"] == "yes"
    assert option[("heard_from", "family_friends")]["group"] == "word_of_mouth"
    assert option[("support_received", "nothing_promised")]["label::fr"] == "On ne m'avait rien promis"
    item = {r["item"]: r for r in rows if r["item"] and not r["option"]}
    assert item["housing_situation"]["indicators"] == item["housing_can_stay"]["indicators"] == "housing_secure"
    assert item["medication_available"]["indicators"] == "needed_medication_available"
    indicators = {r["option"]: r for r in rows if r["type"] == "indicator"}
    assert indicators["housing_secure"]["condition"] == (
        "housing_situation not in (shelter, no_fixed_place) and housing_can_stay = yes")
    groups = {r["option"]: r for r in rows if r["type"] == "group"}
    assert list(groups) == list(v2.groups) and groups["other"]["answer"] == "options of heard_from, decision_factors"


def test_version_2_xlsform_converts(v2, tmp_path):
    xform, root = to_xform(v2, tmp_path / "standard-v2.xlsx")
    nodes = binds(root)
    assert squeeze(nodes["/data/income/income_sources"]["constraint"]) == (
        "count-selected(.) <= 1 or not(selected(., 'none'))")
    for indicator in v2.indicators:
        assert nodes[f"/data/{indicator.code}"]["calculate"].startswith("if(")
    assert "<name>family_friends</name><group>word_of_mouth</group>" in xform
    assert root.find(".//{http://www.w3.org/2002/xforms}instance/{http://www.w3.org/2002/xforms}data").get(
        "version") == "2"


def test_version_2_indicator_calculates_agree_with_the_engine(v2):
    import itertools

    calculations = {i.code: "if({}, 1, if({}, 0, ''))".format(*indicator_expressions(v2, i.when)) for i in v2.indicators}
    as_xform = {True: 1, False: 0, None: ""}
    housing = ["own", "shelter", "no_fixed_place", "other", None]
    for situation, stay, needed, available, safe in itertools.product(
            housing, ["yes", "no", "dont_know", None], ["yes", "no", None], ["yes", "no", None],
            ["safe", "mostly_safe", "not_safe", None]):
        answers = {k: v for k, v in {"housing_situation": situation, "housing_can_stay": stay,
                                     "medication_needed": needed, "medication_available": available,
                                     "feels_safe": safe}.items() if v is not None}
        engine = v2.indicator_values(answers)
        values = xform_values(v2, answers)
        for code, calculation in calculations.items():
            assert evaluate_xpath(calculation, values) == as_xform[engine[code]], (code, answers)
