"""Question types: form parsing, normalising stored/imported values, recoding to scores.

Pure unit tests: items are built straight from their definition spec (or taken from the
shipped standard-v1), forms are plain dicts of lists as a MultiDict's getlist would give.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from surveys.definition import DEFINITIONS, load_definition
from surveys.items import (
    DONT_KNOW, EXCLUSIVE_MESSAGE, ITEM_TYPES, PREFER_NOT_TO_SAY, AnswerError, SpecError, N_,
)


def make(type_name, **spec):
    spec = {"code": "q", "text": "Question?", **spec}
    return ITEM_TYPES[type_name].from_spec(spec, "m", None)


def options(*codes, scores=None):
    scores = scores or {}
    return [{"code": c, "label": c.upper(), **({"score": scores[c]} if c in scores else {})} for c in codes]


def error_of(call, *args) -> AnswerError:
    with pytest.raises(AnswerError) as caught:
        call(*args)
    return caught.value


@pytest.fixture(scope="module")
def standard():
    return load_definition(DEFINITIONS / "standard-v1.yaml")


class MultiDictLike:
    """Only getlist, as werkzeug's MultiDict offers it."""

    def __init__(self, data):
        self.data = data

    def getlist(self, name):
        return list(self.data.get(name, []))


# --- AnswerError ------------------------------------------------------------------------------

def test_answer_error_keeps_message_id_and_params():
    error = AnswerError("Please give a number from %(min)s to %(max)s.", min=1, max=30)
    assert error.message == "Please give a number from %(min)s to %(max)s."
    assert error.params == {"min": 1, "max": 30}
    assert str(error) == "Please give a number from 1 to 30."
    plain = AnswerError("100% sure?")  # no params: not interpolated, so a bare % is harmless
    assert (plain.message, plain.params, str(plain)) == ("100% sure?", {}, "100% sure?")
    assert N_("x") == "x"


# --- single -----------------------------------------------------------------------------------

@pytest.fixture
def single():
    return make("single", options=options("a", "b", "c", scores={"a": 1, "b": 0.25}), dont_know=True)


def test_single_valid(single):
    assert single.parse_form({"q": ["b"]}) == "b"
    assert single.parse_form({"q": ["  c "]}) == "c"
    assert single.parse_form({"q": [DONT_KNOW]}) == DONT_KNOW
    assert single.parse_form(MultiDictLike({"q": ["a"]})) == "a"
    assert single.parse_form({"q": "a"}) == "a"  # a bare string, not a list


def test_single_unanswered(single):
    assert single.parse_form({}) is None
    assert single.parse_form({"q": []}) is None
    assert single.parse_form({"q": ["   "]}) is None


def test_single_unknown_code(single):
    error = error_of(single.parse_form, {"q": ["d"]})
    assert (error.message, error.params) == ("Please choose one of the answers given.", {})
    # prefer_not_to_say was not offered (no `refusable`)
    assert error_of(single.normalise, PREFER_NOT_TO_SAY).message == "Please choose one of the answers given."


def test_single_takes_the_first_value_only(single):
    assert single.parse_form({"q": ["a", "zzz"]}) == "a"


def test_single_normalise(single):
    assert single.normalise("a") == "a"
    assert single.normalise("") is None
    assert single.normalise(None) is None
    assert error_of(single.normalise, "A").message == "Please choose one of the answers given."  # codes are exact


def test_single_extra_options_come_last_without_score():
    item = make("single", options=options("a"), dont_know=True, refusable=True)
    assert [(o.code, o.score) for o in item.options] == [("a", None), (DONT_KNOW, None), (PREFER_NOT_TO_SAY, None)]
    assert [o.label for o in item.options][1:] == ["I do not know", "I prefer not to say"]


def test_single_recode(single):
    assert single.recode("a") == 1
    assert single.recode("b") == 0.25
    assert single.recode("c") is None          # an option without a score
    assert single.recode(DONT_KNOW) is None
    assert single.recode("unknown") is None
    assert single.recode(None) is None


def test_choice_spec_errors():
    with pytest.raises(SpecError, match=r"item 'q': a single item needs a list of options"):
        make("single")
    with pytest.raises(SpecError, match=r"item 'q': every option needs a code and a label"):
        make("single", options=[{"code": "a"}])
    with pytest.raises(SpecError, match=r"item 'q': option 'a' has score 2, not between 0 and 1"):
        make("single", options=options("a", scores={"a": 2}))


# --- yesno ------------------------------------------------------------------------------------

def test_yesno():
    item = make("yesno", scores={"yes": 0, "no": 1}, refusable=True)
    assert [o.code for o in item.options] == ["yes", "no", PREFER_NOT_TO_SAY]
    assert item.parse_form({"q": ["no"]}) == "no"
    assert item.parse_form({"q": [PREFER_NOT_TO_SAY]}) == PREFER_NOT_TO_SAY
    assert error_of(item.parse_form, {"q": ["maybe"]}).message == "Please choose one of the answers given."
    assert error_of(item.parse_form, {"q": [DONT_KNOW]}).message == "Please choose one of the answers given."
    # reversed scoring: "yes" (e.g. has debts) is the bad answer
    assert (item.recode("yes"), item.recode("no"), item.recode(PREFER_NOT_TO_SAY)) == (0, 1, None)
    assert item.can_score() is True


def test_yesno_without_scores_is_not_scorable():
    item = make("yesno")
    assert item.recode("yes") is None and item.recode("no") is None
    assert item.can_score() is False


# --- multiple (with first) --------------------------------------------------------------------

def test_multiple_with_first_puts_the_first_first(standard):
    heard = standard.item("heard_from")
    form = {"heard_from": ["website", "media"], "heard_from__first": ["media"]}
    assert heard.parse_form(form) == ["media", "website"]
    form = {"heard_from": ["website", "media", "lawyer"], "heard_from__first": ["website"]}
    assert heard.parse_form(form) == ["website", "media", "lawyer"]
    assert heard.parse_form(MultiDictLike({"heard_from": ["hospital", "embassy"],
                                           "heard_from__first": ["embassy"]})) == ["embassy", "hospital"]


def test_multiple_one_answer_needs_no_first(standard):
    heard = standard.item("heard_from")
    assert heard.parse_form({"heard_from": ["website"]}) == ["website"]
    assert heard.parse_form({"heard_from": ["website"], "heard_from__first": ["website"]}) == ["website"]
    assert heard.parse_form({"heard_from": ["website"], "heard_from__first": [""]}) == ["website"]


def test_multiple_missing_first_when_several_are_chosen(standard):
    heard = standard.item("heard_from")
    for form in ({"heard_from": ["website", "media"]},
                 {"heard_from": ["website", "media"], "heard_from__first": ["  "]}):
        error = error_of(heard.parse_form, form)
        assert (error.message, error.params) == ("Please say which one came first.", {})


def test_multiple_first_not_among_the_chosen(standard):
    heard = standard.item("heard_from")
    error = error_of(heard.parse_form, {"heard_from": ["website", "media"], "heard_from__first": ["lawyer"]})
    assert error.message == "The one that came first must be one of the answers you chose."
    # with a single answer too: it used to be added silently, giving ["media", "website"]
    error = error_of(heard.parse_form, {"heard_from": ["website"], "heard_from__first": ["media"]})
    assert error.message == "The one that came first must be one of the answers you chose."


def test_multiple_unknown_codes(standard):
    heard = standard.item("heard_from")
    error = error_of(heard.parse_form, {"heard_from": ["website", "carrier_pigeon"],
                                        "heard_from__first": ["website"]})
    assert (error.message, error.params) == ("Please choose among the answers given.", {})


def test_multiple_unanswered_and_blank_entries(standard):
    heard = standard.item("heard_from")
    assert heard.parse_form({}) is None
    assert heard.parse_form({"heard_from": ["", "  "]}) is None
    assert heard.parse_form({"heard_from": ["", " media "]}) == ["media"]


def test_multiple_without_first_ignores_a_first_field():
    item = make("multiple", options=options("a", "b", "c"))
    assert item.ask_first is False
    assert item.parse_form({"q": ["c", "a"], "q__first": ["a"]}) == ["c", "a"]
    assert item.parse_form({"q": ["c", "a"]}) == ["c", "a"]


def test_multiple_duplicates():
    item = make("multiple", options=options("a", "b", "c"))
    error = error_of(item.parse_form, {"q": ["a", "b", "a"]})
    assert (error.message, error.params) == ("Each answer can be chosen only once.", {})
    assert error_of(item.normalise, "a;a").message == "Each answer can be chosen only once."


def test_multiple_normalise_csv_style():
    item = make("multiple", options=options("a", "b", "c"))
    assert item.normalise("a;b;c") == ["a", "b", "c"]
    assert item.normalise(" c ; a ;") == ["c", "a"]   # spaces and a trailing ; are tolerated
    assert item.normalise(["b"]) == ["b"]
    assert item.normalise("") is None
    assert item.normalise([]) is None
    assert item.normalise(None) is None
    assert error_of(item.normalise, "a;d").message == "Please choose among the answers given."
    assert error_of(item.normalise, "a,b").message == "Please choose among the answers given."


def test_multiple_is_never_scored():
    item = make("multiple", options=options("a", "b", scores={"a": 1}))
    assert item.recode(["a"]) is None
    assert item.can_score() is False
    assert item.codes_of(["b", "a"]) == ["b", "a"]
    assert item.codes_of(None) == []


def test_multiple_texts_include_first_text():
    item = make("multiple", options=options("a"), first=True, first_text="Which first?")
    assert item.texts() == ["Question?", "A", "Which first?"]


# --- exclusive options and groups -------------------------------------------------------------

@pytest.fixture
def sources():
    return make("multiple", options=[*options("work", "family"), {"code": "none", "label": "None", "exclusive": True}],
                dont_know=True)


def test_an_exclusive_option_stands_alone(sources):
    assert sources.exclusive_codes() == {"none", DONT_KNOW}  # "I do not know" stands alone in a multiple
    assert sources.parse_form({"q": ["none"]}) == ["none"]
    assert sources.parse_form({"q": ["work", "family"]}) == ["work", "family"]
    for chosen in (["none", "work"], ["work", "none"], ["dont_know", "family"], ["none", "dont_know"]):
        error = error_of(sources.parse_form, {"q": chosen})
        assert (error.message, error.params) == (EXCLUSIVE_MESSAGE, {})
    # stored and imported answers are checked the same way
    assert sources.normalise("none") == ["none"]
    assert error_of(sources.normalise, "work;none").message == EXCLUSIVE_MESSAGE
    assert error_of(sources.normalise, ["dont_know", "work"]).message == EXCLUSIVE_MESSAGE
    # a repeat is a repeat, not a combination
    assert error_of(sources.parse_form, {"q": ["none", "none"]}).message == "Each answer can be chosen only once."


def test_the_exclusive_message_comes_before_asking_which_came_first():
    item = make("multiple", first=True, first_text="First?",
                options=[*options("a", "b"), {"code": "none", "label": "None", "exclusive": True}])
    assert error_of(item.parse_form, {"q": ["a", "none"]}).message == EXCLUSIVE_MESSAGE
    assert error_of(item.parse_form, {"q": ["a", "none"], "q__first": ["a"]}).message == EXCLUSIVE_MESSAGE
    assert item.parse_form({"q": ["none"]}) == ["none"]


def test_the_exclusive_message_is_in_the_questionnaire_catalog():
    from surveys.translation import catalog_messages

    assert EXCLUSIVE_MESSAGE in catalog_messages()


@pytest.mark.parametrize("type_name", ["single", "ranked"])
def test_exclusive_is_for_multiple_items_only(type_name):
    with pytest.raises(SpecError, match="only a multiple item"):
        make(type_name, options=[*options("a"), {"code": "b", "label": "B", "exclusive": True}])
    # one answer of a single item excludes the others anyway: its extras are not marked
    assert not any(o.exclusive for o in make("yesno", dont_know=True, refusable=True).options)


def test_exclusive_must_be_true_or_false():
    with pytest.raises(SpecError, match="exclusive is true or false"):
        make("multiple", options=[{"code": "a", "label": "A", "exclusive": "yes"}])


def test_options_carry_a_group_and_answers_give_their_groups():
    item = make("multiple", options=[{"code": "friends", "label": "Friends", "group": "word_of_mouth"},
                                     {"code": "family", "label": "Family", "group": "word_of_mouth"},
                                     {"code": "desk", "label": "Desk", "group": "services"},
                                     {"code": "other", "label": "Other"}])
    assert [o.group for o in item.options] == ["word_of_mouth", "word_of_mouth", "services", None]
    assert item.groups_of(["desk", "family", "friends", "other"]) == ["services", "word_of_mouth"]
    assert item.groups_of(None) == []
    single = make("single", options=[{"code": "a", "label": "A", "group": "g"}, *options("b")])
    assert single.groups_of("a") == ["g"] and single.groups_of("b") == []
    with pytest.raises(SpecError, match="group must be a group code"):
        make("single", options=[{"code": "a", "label": "A", "group": ["g"]}])


def test_an_option_with_an_unknown_key_is_still_refused():
    with pytest.raises(SpecError, match="unknown keys grup"):
        make("single", options=[{"code": "a", "label": "A", "grup": "g"}])


def test_substantive_answers(sources):
    assert sources.is_substantive(["work"]) and sources.is_substantive(["none"])
    assert not sources.is_substantive(["dont_know"]) and not sources.is_substantive([])
    single = make("single", options=options("a"), dont_know=True, refusable=True)
    assert single.is_substantive("a")
    assert not single.is_substantive(DONT_KNOW) and not single.is_substantive(PREFER_NOT_TO_SAY)
    assert not single.is_substantive(None) and not single.is_substantive("")
    assert make("number").is_substantive(0) and make("text").is_substantive("x")


# --- ranked top three -------------------------------------------------------------------------

@pytest.fixture
def ranked():
    return make("ranked", options=options("a", "b", "c", "d", "other"))


def test_ranked_valid(ranked):
    assert ranked.parse_form({"q__1": ["c"], "q__2": ["a"], "q__3": ["other"]}) == ["c", "a", "other"]
    assert ranked.parse_form({"q__1": ["b"], "q__2": ["d"]}) == ["b", "d"]
    assert ranked.parse_form({"q__1": [" b "], "q__2": [""], "q__3": [""]}) == ["b"]
    assert ranked.parse_form({}) is None
    assert ranked.parse_form({"q__1": [""], "q__2": [""]}) is None


@pytest.mark.parametrize("form", [{"q__2": ["a"]}, {"q__1": [""], "q__2": ["a"]},
                                  {"q__1": ["a"], "q__3": ["b"]}, {"q__2": ["a"], "q__3": ["b"]}])
def test_ranked_gaps(ranked, form):
    error = error_of(ranked.parse_form, form)
    assert (error.message, error.params) == ("Please fill the ranks in order: first the most important.", {})


def test_ranked_duplicate_ranks(ranked):
    error = error_of(ranked.parse_form, {"q__1": ["a"], "q__2": ["b"], "q__3": ["a"]})
    assert error.message == "Choose a different answer for each rank."


def test_ranked_unknown_code(ranked):
    error = error_of(ranked.parse_form, {"q__1": ["a"], "q__2": ["zz"]})
    assert error.message == "Please choose among the answers given."


def test_ranked_more_than_three(ranked):
    error = error_of(ranked.normalise, "a;b;c;d")
    assert error.message == "Please choose one to three answers, most important first."
    assert error_of(ranked.normalise, ["a", "b", "c", "d"]).message == error.message
    # the form has three rank fields: a fourth is not read
    assert ranked.parse_form({"q__1": ["a"], "q__2": ["b"], "q__3": ["c"], "q__4": ["d"]}) == ["a", "b", "c"]


def test_ranked_normalise_csv_style(ranked):
    assert ranked.normalise("d;a") == ["d", "a"]
    assert ranked.normalise(" d ; a ") == ["d", "a"]
    assert ranked.normalise("") is None
    assert error_of(ranked.normalise, "a;;b").message == "Please choose one to three answers, most important first."
    assert error_of(ranked.normalise, "a;a").message == "Choose a different answer for each rank."


def test_ranked_is_never_scored(ranked):
    assert ranked.recode(["a"]) is None
    assert ranked.can_score() is False
    assert ranked.codes_of(["c", "a"]) == ["c", "a"]


def test_standard_decision_factors(standard):
    item = standard.item("decision_factors")
    form = {"decision_factors__1": ["no_legal_stay"], "decision_factors__2": ["family_at_home"],
            "decision_factors__3": ["other"]}
    assert item.parse_form(form) == ["no_legal_stay", "family_at_home", "other"]


# --- scale ------------------------------------------------------------------------------------

@pytest.fixture
def scale():
    return make("scale", min=1, max=5, min_label="Bad", max_label="Good")


def test_scale_valid(scale):
    assert scale.parse_form({"q": ["3"]}) == 3
    assert scale.parse_form({"q": [" 5 "]}) == 5
    assert scale.parse_form({"q": ["1"]}) == 1
    assert scale.parse_form({"q": [""]}) is None
    assert scale.parse_form({}) is None
    assert scale.normalise(4) == 4
    assert scale.normalise("2") == 2
    assert scale.points() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("value", ["0", "6", "-1", "2.5", "three", "1e1"])
def test_scale_out_of_range_or_not_a_point(scale, value):
    error = error_of(scale.parse_form, {"q": [value]})
    assert (error.message, error.params) == ("Please choose a point on the scale.", {})


def test_scale_recode(scale):
    assert [scale.recode(v) for v in scale.points()] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert scale.recode(None) is None


def test_scale_recode_reversed():
    item = make("scale", min=1, max=5, reverse=True)
    assert [item.recode(v) for v in item.points()] == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_scale_recode_other_bounds():
    item = make("scale", min=0, max=10)
    assert item.recode(0) == 0.0 and item.recode(10) == 1.0
    assert item.recode(7) == pytest.approx(0.7)
    item = make("scale", min=-2, max=2, reverse=True)
    assert [item.recode(v) for v in item.points()] == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_scale_defaults_and_texts(scale):
    assert make("scale").points() == [1, 2, 3, 4, 5]
    assert scale.texts() == ["Question?", "Bad", "Good"]
    assert scale.can_score() is True


# --- number -----------------------------------------------------------------------------------

def test_number_valid():
    item = make("number")
    assert item.parse_form({"q": ["3"]}) == 3
    assert item.parse_form({"q": [" 12 "]}) == 12
    assert item.parse_form({"q": ["-2"]}) == -2
    assert item.parse_form({"q": ["0"]}) == 0
    assert item.parse_form({"q": [""]}) is None
    assert item.normalise(7) == 7


@pytest.mark.parametrize("value", ["3.5", "three", "1e3", "+3", "3,0", "٣"])
def test_number_not_a_whole_number(value):
    error = error_of(make("number").parse_form, {"q": [value]})
    assert (error.message, error.params) == ("Please give a whole number.", {})


def test_number_bounds_with_message_params():
    item = make("number", min=1, max=30)
    assert item.parse_form({"q": ["1"]}) == 1
    assert item.parse_form({"q": ["30"]}) == 30
    for value in ("0", "31", "-5"):
        error = error_of(item.parse_form, {"q": [value]})
        assert error.message == "Please give a number from %(min)s to %(max)s."
        assert error.params == {"min": 1, "max": 30}
        assert str(error) == "Please give a number from 1 to 30."


def test_number_is_not_scored():
    item = make("number", min=1, max=30)
    assert item.recode(5) is None
    assert item.can_score() is False


def test_standard_household_size(standard):
    item = standard.item("household_size")
    error = error_of(item.parse_form, {"household_size": ["0"]})
    assert error.params == {"min": 1, "max": 30}


# --- date -------------------------------------------------------------------------------------

@pytest.fixture
def date_item():
    return make("date")


def test_date_valid(date_item):
    assert date_item.parse_form({"q": ["2024-02-29"]}) == "2024-02-29"
    assert date_item.parse_form({"q": [" 1990-01-01 "]}) == "1990-01-01"
    today = date.today().isoformat()
    assert date_item.parse_form({"q": [today]}) == today
    assert date_item.parse_form({"q": [""]}) is None
    assert date_item.normalise(None) is None


@pytest.mark.parametrize("value", ["2023-02-29", "2024-13-01", "2024-04-31", "2024-1-5", "01/02/2024",
                                   "2024-02-01T10:00", "20240201", "yesterday"])
def test_date_impossible_or_badly_written(date_item, value):
    error = error_of(date_item.parse_form, {"q": [value]})
    assert (error.message, error.params) == ("Please give a date as year-month-day, for example 2026-03-01.", {})


@pytest.mark.parametrize("value", [(date.today() + timedelta(days=1)).isoformat(), "2999-01-01", "1989-12-31"])
def test_date_in_the_future_or_too_old(date_item, value):
    error = error_of(date_item.parse_form, {"q": [value]})
    assert (error.message, error.params) == ("Please give a date that has already passed.", {})


# --- text -------------------------------------------------------------------------------------

def test_text_collapses_whitespace():
    item = make("text")
    assert item.parse_form({"q": ["  in  my\tuncle's\n  house  "]}) == "in my uncle's house"
    assert item.normalise("a \r\n b") == "a b"
    assert item.parse_form({"q": ["   "]}) is None
    assert item.parse_form({}) is None
    assert item.normalise(None) is None


def test_text_length_limit():
    item = make("text")
    assert item.parse_form({"q": ["x" * 300]}) == "x" * 300
    error = error_of(item.parse_form, {"q": ["x" * 301]})
    assert error.message == "Please keep it under %(max)s characters."
    assert error.params == {"max": 300}
    assert str(error) == "Please keep it under 300 characters."
    # the limit counts after collapsing whitespace
    assert item.parse_form({"q": ["a" + " " * 500 + "b"]}) == "a b"


def test_text_is_not_scored():
    assert make("text").recode("anything") is None


# --- types, recode across types ---------------------------------------------------------------

def test_item_types_registry():
    assert list(ITEM_TYPES) == ["single", "yesno", "multiple", "ranked", "scale", "number", "date", "text"]
    assert {name: cls.type_name for name, cls in ITEM_TYPES.items()} == {name: name for name in ITEM_TYPES}


def test_common_spec_fields():
    item = make("text", required=True, help="Help", instruction="For the interviewer")
    assert (item.code, item.module, item.required, item.weight, item.scored) == ("q", "m", True, 1.0, False)
    assert item.texts() == ["Question?", "Help", "For the interviewer"]
    scored = make("single", options=options("a", scores={"a": 1}), dimension="economic", weight=2)
    assert (scored.scored, scored.weight) == (True, 2.0)


def test_standard_recodes(standard):
    assert standard.item("housing_situation").recode("family") == 0.5
    assert standard.item("housing_situation").recode("other") is None
    assert standard.item("debts").recode("yes") == 0 and standard.item("debts").recode("no") == 1
    assert standard.item("debts").recode(PREFER_NOT_TO_SAY) is None
    assert standard.item("housing_can_stay").recode(DONT_KNOW) is None
    assert standard.item("migrate_again").recode("dont_know") is None
    assert standard.item("physical_health").recode(4) == 0.75
    assert standard.item("work_status").recode("studying") is None
