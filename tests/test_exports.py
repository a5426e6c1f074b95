"""Definition exports: the codebook CSV and the XLSForm (surveys/exports.py, `monitor export`).

The XLSForm is checked the way a partner's server would check it: pyxform converts it to an
XForm (any error raises), and the XForm is read back for the binds, item sets and translations.
No database: only the Flask CLI test registers the group on an app.
"""
from __future__ import annotations

import copy
import csv
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from monitor.exports_cli import export_command
from surveys import registry
from surveys.conditions import parse_condition
from surveys.definition import build_definition
from surveys.exports import (CODEBOOK_COLUMNS, ExportError, codebook_rows, indicator_expressions, relevant_expression,
                             write_codebook, write_xlsform, xlsform_language, xlsform_sheets)
from surveys.items import Scale
from surveys.translation import LANGUAGES, translator

# Catalogs complete when this test was written: their labels must really be translated.
TRANSLATED = ("fr", "nl", "ru", "uk")
NS = {"h": "http://www.w3.org/1999/xhtml", "x": "http://www.w3.org/2002/xforms"}
# pyxform checks a language code against single IANA subtags only: "pt-BR" and "fa-AF" (valid
# BCP 47 tags) draw this warning and nothing else may.
LANGUAGE_WARNING = "The following language declarations do not contain valid machine-readable codes"


@pytest.fixture(scope="module")
def standard():
    return registry.get("standard", 1)


def read_codebook(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "the codebook must start with a UTF-8 byte order mark"
    assert not data[3:].startswith(b"\xef\xbb\xbf"), "only one byte order mark"
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline="")))


@pytest.fixture(scope="module")
def codebook(standard) -> list[dict[str, str]]:
    buffer = io.BytesIO()
    write_codebook(standard, buffer)
    return read_codebook(buffer.getvalue())


def to_xform(questionnaire, path: Path) -> tuple[str, ET.Element]:
    write_xlsform(questionnaire, path)
    warnings: list[str] = []
    result = convert(xlsform=str(path), warnings=warnings)  # raises PyXFormError on any error
    unexpected = [w for w in warnings if LANGUAGE_WARNING not in w]
    assert unexpected == [], unexpected
    for warning in warnings:
        bad = warning.split(": ", 1)[1].split(". Learn more")[0].split(", ")
        assert set(bad) <= {xlsform_language("fa"), xlsform_language("pt_BR")}, warning
    return result.xform, ET.fromstring(result.xform)


def squeeze(expression: str | None) -> str | None:
    """pyxform pads the paths it writes for ${name} with spaces: ' /data/x  = 'a''."""
    return None if expression is None else " ".join(expression.split())


def binds(root: ET.Element) -> dict[str, dict[str, str]]:
    return {b.get("nodeset"): b.attrib for b in root.iter("{%s}bind" % NS["x"])}


def translations(root: ET.Element) -> dict[str, dict[str, str]]:
    """{language: {itext id (":guidance" added for a guidance hint): the plain text}}."""
    found = {}
    for translation in root.iter("{%s}translation" % NS["x"]):
        texts = {}
        for text in translation.findall("x:text", NS):
            for value in text.findall("x:value", NS):  # a hint may hold a guidance value too
                key = text.get("id") + (f":{value.get('form')}" if value.get("form") else "")
                texts[key] = "".join(value.itertext())
        found[translation.get("lang")] = texts
    return found


# -- codebook ---------------------------------------------------------------------------------

def test_codebook_has_a_row_for_every_item_and_option(standard, codebook):
    assert list(codebook[0]) == CODEBOOK_COLUMNS
    item_rows = [r for r in codebook if not r["option"]]
    assert [r["item"] for r in item_rows] == [i.code for i in standard.items]
    for item in standard.items:
        options = [r["option"] for r in codebook if r["item"] == item.code and r["option"]]
        expected = [str(p) for p in item.points()] if isinstance(item, Scale) else [o.code for o in item.options]
        assert options == expected, item.code
        assert all(r["module"] == item.module and r["type"] == item.type_name
                   for r in codebook if r["item"] == item.code)
    assert len(codebook) == len(standard.items) + sum(
        len(i.points()) if isinstance(i, Scale) else len(i.options) for i in standard.items)
    # The extra answers the engine adds are options too.
    assert [r["option"] for r in codebook if r["item"] == "debts"] == ["", "yes", "no", "prefer_not_to_say"]
    assert [r["option"] for r in codebook if r["item"] == "housing_can_stay"] == ["", "yes", "no", "dont_know"]


def test_codebook_weights_scores_and_item_details(standard, codebook):
    items = {r["item"]: r for r in codebook if not r["option"]}
    options = {(r["item"], r["option"]): r for r in codebook if r["option"]}
    assert {code: items[code]["weight"] for code in
            ("housing_situation", "work_status", "medication_available", "housing_can_stay", "distress")} == {
        "housing_situation": "2", "work_status": "2", "medication_available": "2", "housing_can_stay": "1",
        "distress": "2"}
    for item in standard.items:
        row = items[item.code]
        assert row["weight"] == (f"{item.weight:g}" if item.scored else ""), item.code
        assert row["dimension"] == (item.dimension or ""), item.code
        assert row["required"] == ("yes" if item.required else "")
    assert items["housing_other"]["weight"] == "" and items["heard_from"]["dimension"] == ""
    assert items["housing_situation"]["dimension"] == "social"
    assert options[("housing_situation", "family")]["score"] == "0.5"
    assert options[("housing_situation", "other")]["score"] == ""
    assert options[("income_covers_needs", "mostly")]["score"] == "0.67"
    assert options[("debts", "yes")]["score"] == "0" and options[("debts", "no")]["score"] == "1"
    assert [options[("physical_health", str(p))]["score"] for p in range(1, 6)] == ["0", "0.25", "0.5", "0.75", "1"]
    assert options[("physical_health", "1")]["label::en"] == "1 – Very bad"
    assert options[("physical_health", "3")]["label::en"] == "3"
    assert items["housing_other"]["condition"] == "housing_situation = other"
    assert items["housing_can_stay"]["condition"] == "housing_situation not in (no_fixed_place)"
    assert items["wants_support"]["condition"] == "distress in (often, always)"
    assert items["heard_from_other"]["condition"] == "heard_from includes other"
    assert items["household_size"]["min"] == "1" and items["household_size"]["max"] == "30"
    assert items["heard_from"]["first_follow_up_only"] == "yes" and items["housing_situation"]["first_follow_up_only"] == ""
    assert items["heard_from"]["answer"] == "list of option codes; the one marked first comes first"


def test_codebook_labels_in_every_language(standard, codebook):
    assert [c for c in CODEBOOK_COLUMNS if c.startswith("label::")] == [f"label::{lang}" for lang in LANGUAGES]
    assert len(LANGUAGES) == 13
    for row in codebook:
        for language in LANGUAGES:
            assert row[f"label::{language}"].strip(), (row["item"], row["option"], language)
    sources = {i.code: i.text for i in standard.items}
    labels = {(i.code, o.code): o.label for i in standard.items for o in i.options}
    for row in codebook:
        if not row["option"]:
            assert row["label::en"] == sources[row["item"]]
        elif (row["item"], row["option"]) in labels:
            assert row["label::en"] == labels[(row["item"], row["option"])]
    for language in TRANSLATED:
        t = translator(language)
        assert t.has("Where do you live now?"), f"the {language} questionnaire catalog is not compiled: make translations"
        situation = next(r for r in codebook if r["item"] == "housing_situation" and not r["option"])
        assert situation[f"label::{language}"] == t("Where do you live now?") != "Where do you live now?"
        translated = [r for r in codebook if r[f"label::{language}"] != r["label::en"]]
        assert len(translated) > len(codebook) / 2, language


def test_codebook_keeps_non_latin_scripts_and_accepts_text_files(standard, tmp_path):
    path = tmp_path / "codebook.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        write_codebook(standard, handle)
    rows = read_codebook(path.read_bytes())
    assert rows[0]["label::ru"] == translator("ru")("Where do you live now?")
    assert re.search("[\u0400-\u04ff]", rows[0]["label::ru"]), "Cyrillic expected"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:  # writes its own BOM
        write_codebook(standard, handle)
    assert read_codebook(path.read_bytes()) == rows
    assert path.read_bytes().count(b"\r\n") == len(rows) + 1


# -- XLSForm of the standard questionnaire ----------------------------------------------------

@pytest.fixture(scope="module")
def standard_xform(standard, tmp_path_factory):
    return to_xform(standard, tmp_path_factory.mktemp("xlsform") / "standard.xlsx")


def test_xlsform_workbook_layout(standard, tmp_path):
    path = tmp_path / "standard.xlsx"
    write_xlsform(standard, path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["survey", "choices", "settings"]
    header = [c.value for c in workbook["survey"][1]]
    for column in ("label", "hint", "guidance_hint", "required_message", "constraint_message"):
        assert [h for h in header if h.startswith(f"{column}::")] == [
            f"{column}::{xlsform_language(lang)}" for lang in LANGUAGES]
    assert "label::English (en)" in header and "label::Français (fr)" in header
    assert "label::Português (Brasil) (pt-BR)" in header
    choices_header = [c.value for c in workbook["choices"][1]]
    assert choices_header[:2] == ["list_name", "name"] and len(choices_header) == 2 + 13
    settings = {c.value: v.value for c, v in zip(workbook["settings"][1], workbook["settings"][2])}
    assert settings == {"form_title": "How are you doing?", "form_id": "standard_v1", "version": "1",
                        "default_language": "English (en)"}
    names = {row[1].value: row[0].value for row in workbook["survey"].iter_rows(min_row=2)}
    assert names["housing_situation"] == "select_one housing_situation"
    assert names["income_sources"] == "select_multiple income_sources"
    assert names["heard_from_first"] == "select_one heard_from"
    assert names["physical_health"] == "select_one physical_health"
    assert names["household_size"] == "integer" and names["business_start_date"] == "date"
    assert names["housing_other"] == "text" and names["decision_factors"] == "calculate"
    assert [names[f"decision_factors_{n}"] for n in (1, 2, 3)] == ["select_one decision_factors"] * 3
    for name in names:
        assert name is None or re.fullmatch(r"[a-z_][a-z0-9_]*", name)
    for list_name in {row[0].value for row in workbook["choices"].iter_rows(min_row=2)}:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", list_name), list_name


def test_xlsform_converts_with_every_item(standard, standard_xform):
    xform, root = standard_xform
    nodes = binds(root)
    paths = {path.rsplit("/", 1)[1]: path for path in nodes}
    for item in standard.items:
        assert item.code in paths, item.code
        assert paths[item.code] == f"/data/{item.module}/{item.code}" or item.type_name == "ranked"
    assert paths["decision_factors"] == "/data/decision/decision_factors"
    instance = root.find(".//x:instance/x:data", NS)
    assert instance is not None and instance.get("id") == "standard_v1" and instance.get("version") == "1"
    assert nodes["/data/housing/housing_situation"]["required"] == "true()"
    assert nodes["/data/social/household_size"]["type"] == "int"
    assert squeeze(nodes["/data/social/household_size"]["constraint"]) == ". >= 1 and . <= 30"
    assert nodes["/data/income/business_start_date"]["type"] == "date"


def test_xlsform_skip_logic(standard_xform):
    _xform, root = standard_xform
    relevant = {path: squeeze(b.get("relevant")) for path, b in binds(root).items()}
    assert relevant["/data/housing/housing_other"] == "/data/housing/housing_situation = 'other'"
    assert relevant["/data/heard/heard_from_other"] == "selected( /data/heard/heard_from , 'other')"
    assert relevant["/data/housing/housing_can_stay"] == "not( /data/housing/housing_situation = 'no_fixed_place')"
    assert relevant["/data/health/wants_support"] == (
        "( /data/health/distress = 'often' or /data/health/distress = 'always')")
    assert relevant["/data/decision/decision_other"] == "selected( /data/decision/decision_factors , 'other')"
    assert relevant["/data/housing/housing_situation"] is None
    # Modules: every one behind consent, the asked-once ones behind the first follow-up too.
    assert relevant["/data/housing"] == "/data/consent = 'agree'"
    assert relevant["/data/heard"] == relevant["/data/decision"] == (
        "/data/consent = 'agree' and /data/first_follow_up = 'yes'")


def test_xlsform_ranks_are_distinct_and_first_is_among_the_chosen(standard_xform):
    _xform, root = standard_xform
    nodes = binds(root)
    base = "/data/decision/decision_factors_ranks/decision_factors"
    assert "constraint" not in nodes[f"{base}_1"]
    assert squeeze(nodes[f"{base}_2"]["constraint"]) == f". != {base}_1"
    assert squeeze(nodes[f"{base}_3"]["constraint"]) == f". != {base}_1 and . != {base}_2"
    assert squeeze(nodes[f"{base}_2"]["relevant"]) == f"{base}_1 != ''"
    assert "{http://openrosa.org/javarosa}constraintMsg" in nodes[f"{base}_3"]
    assert squeeze(nodes["/data/decision/decision_factors"]["calculate"]) == (
        f"normalize-space(concat( {base}_1 , ' ', {base}_2 , ' ', {base}_3 ))")
    itemsets = {squeeze(i.get("nodeset")) for i in root.iter("{%s}itemset" % NS["x"])}
    assert f"instance('decision_factors')/root/item[name != {base}_1 ]" in itemsets
    assert f"instance('decision_factors')/root/item[name != {base}_1 and name != {base}_2 ]" in itemsets
    assert "instance('heard_from')/root/item[selected( /data/heard/heard_from , name)]" in itemsets
    first = nodes["/data/heard/heard_from_first"]
    assert squeeze(first["relevant"]) == "count-selected( /data/heard/heard_from ) > 1"
    assert first["required"] == "true()"


def test_xlsform_itext_in_every_language(standard, standard_xform):
    _xform, root = standard_xform
    texts = translations(root)
    assert set(texts) == {xlsform_language(lang) for lang in LANGUAGES}
    english = texts["English (en)"]
    assert english["/data/housing/housing_situation:label"] == "Where do you live now?"
    assert english["/data/health/wants_support:hint:guidance"].startswith("If yes, tell the returnee")
    for language in TRANSLATED:
        def t(message, _t=translator(language), **params):
            return _t(message, **params).replace("\xa0", " ")  # pyxform turns no-break spaces into spaces

        column = texts[xlsform_language(language)]
        assert column["/data/housing/housing_situation:label"] == t("Where do you live now?") != "Where do you live now?"
        assert column["/data/decision/decision_factors_ranks/decision_factors_2:label"] == t("Reason %(rank)s", rank=2)
        choice_labels = [v for k, v in column.items() if k.startswith("housing_situation-")]
        assert t("With family") in choice_labels
    for language in LANGUAGES:  # untranslated texts fall back to English, never empty
        assert texts[xlsform_language(language)]["/data/housing/housing_other:label"]


# -- a hand-made definition with every item type and condition --------------------------------

def every_type_spec() -> dict:
    return {
        "code": "every", "version": 3, "title": "Every type", "intro": "Intro", "end": "End",
        "consent": {"text": "Consent?", "agree": "Agree", "decline": "Decline"},
        "dimensions": {"economic": {"label": "Economic"}, "social": {"label": "Social"}},
        "modules": [
            {"code": "basics", "title": "Basics", "items": [
                {"code": "job", "type": "single", "text": "Job?", "required": True, "dimension": "economic",
                 "weight": 3, "help": "Your main job.",
                 "options": [{"code": "yes_paid", "label": "Paid", "score": 1},
                             {"code": "unpaid", "label": "Unpaid", "score": 0}, {"code": "other", "label": "Other"}]},
                {"code": "job_other", "type": "text", "text": "Which job?", "when": {"item": "job", "equals": "other"}},
                {"code": "ok", "type": "yesno", "text": "OK?", "dont_know": True, "refusable": True,
                 "scores": {"yes": 1, "no": 0}, "dimension": "social", "instruction": "Read slowly."},
                {"code": "size", "type": "number", "text": "How many?", "min": 0, "max": 12},
                {"code": "age", "type": "number", "text": "Age?", "min": 18},
                {"code": "free", "type": "number", "text": "Any number?"},
                {"code": "since", "type": "date", "text": "Since when?",
                 "when": {"all": [{"item": "size", "gt": 2}, {"item": "size", "lte": 10}]}},
                {"code": "mood", "type": "scale", "text": "Mood?", "min": 0, "max": 10, "min_label": "Bad",
                 "max_label": "Good", "reverse": True, "dimension": "social", "weight": 0.5},
                {"code": "mood_low", "type": "text", "text": "Why?", "when": {"item": "mood", "lt": 3}},
                {"code": "channels", "type": "multiple", "first": True, "first_text": "Which first?",
                 "text": "Channels?", "options": [{"code": "radio", "label": "Radio"}, {"code": "tv", "label": "TV"},
                                                  {"code": "other", "label": "Other"}]},
                {"code": "channels_other", "type": "text", "text": "Other channel?",
                 "when": {"item": "channels", "includes": "other"}},
                {"code": "note_it", "type": "text", "text": "Anything?",
                 "when": {"any": [{"item": "job", "in": ["unpaid", "other"]},
                                  {"not": {"item": "ok", "answered": True}}]}},
                {"code": "quote", "type": "text", "text": "Quoted?",
                 "when": {"item": "job_other", "equals": "it's \"odd\""}},
            ]},
            {"code": "once", "title": "Asked once", "first_follow_up_only": True, "items": [
                {"code": "reasons", "type": "ranked", "text": "Reasons?", "required": True,
                 "options": [{"code": f"r{n}", "label": f"Reason {n} label"} for n in range(1, 6)]},
                {"code": "reasons_r5", "type": "text", "text": "About r5?",
                 "when": {"item": "reasons", "includes": "r5"}},
                {"code": "no_radio", "type": "yesno", "text": "No radio?",
                 "when": {"item": "channels", "not_in": ["radio"]}},
                {"code": "unknown_size", "type": "yesno", "text": "Size unknown?",
                 "when": {"item": "size", "answered": False}},
            ]},
        ],
    }


@pytest.fixture(scope="module")
def every_type():
    return build_definition(every_type_spec())


def test_every_item_type_converts(every_type, tmp_path):
    assert {i.type_name for i in every_type.items} == {
        "single", "yesno", "multiple", "ranked", "scale", "number", "date", "text"}
    _xform, root = to_xform(every_type, tmp_path / "every.xlsx")
    nodes = binds(root)
    relevant = {path.rsplit("/", 1)[1]: squeeze(b.get("relevant")) for path, b in nodes.items()}
    constraint = {path.rsplit("/", 1)[1]: squeeze(b.get("constraint")) for path, b in nodes.items()}
    kinds = {path.rsplit("/", 1)[1]: b.get("type") for path, b in nodes.items()}
    for item in every_type.items:
        assert item.code in kinds, item.code
    assert root.find(".//x:instance/x:data", NS).get("id") == "every_v3"
    assert kinds["size"] == "int" and kinds["since"] == "date" and kinds["free"] == "int"
    assert constraint["size"] == ". >= 0 and . <= 12"
    assert constraint["age"] == ". >= 18"
    assert constraint["free"] is None
    assert relevant["job_other"] == "/data/basics/job = 'other'"
    assert relevant["since"] == "( /data/basics/size > 2 and /data/basics/size <= 10)"
    assert relevant["mood_low"] == "/data/basics/mood < 3"
    assert relevant["channels_other"] == "selected( /data/basics/channels , 'other')"
    assert relevant["note_it"] == ("(( /data/basics/job = 'unpaid' or /data/basics/job = 'other') "
                                   "or not( /data/basics/ok != ''))")
    assert relevant["reasons_r5"] == "selected( /data/once/reasons , 'r5')"
    assert relevant["no_radio"] == "true()"  # a list is never "one of" codes (the engine agrees)
    assert relevant["unknown_size"] == "/data/basics/size = ''"
    # An item hidden by its own condition counts as unanswered (effective_answers).
    assert relevant["quote"] == ("( /data/basics/job = 'other' and "
                                 "/data/basics/job_other = concat('it', \"'\", 's \"odd\"'))")
    assert relevant["channels_first"] == "count-selected( /data/basics/channels ) > 1"
    assert relevant["once"] == "/data/consent = 'agree' and /data/first_follow_up = 'yes'"
    assert nodes["/data/once/reasons_ranks/reasons_1"]["required"] == "true()"
    assert "required" not in nodes["/data/once/reasons_ranks/reasons_2"]
    texts = translations(root)["English (en)"]
    assert texts["/data/basics/job:hint"] == "Your main job."
    assert texts["/data/basics/ok:hint:guidance"] == "Read slowly."
    assert texts["/data/basics/size:jr:constraintMsg"] == "Please give a number from 0 to 12."
    scale_labels = [v for k, v in texts.items() if k.startswith("mood-")]
    assert scale_labels[0] == "0 – Bad" and scale_labels[-1] == "10 – Good" and len(scale_labels) == 11


def test_every_item_type_codebook(every_type):
    rows = codebook_rows(every_type)
    items = {r["item"]: r for r in rows if not r["option"]}
    assert items["job"]["weight"] == "3" and items["mood"]["weight"] == "0.5" and items["size"]["weight"] == ""
    assert items["since"]["condition"] == "size > 2 and size <= 10"
    assert items["note_it"]["condition"] == "job in (unpaid, other) or not (ok answered)"
    assert items["unknown_size"]["condition"] == "size not answered"
    assert items["age"]["min"] == "18" and items["age"]["max"] == ""
    mood = [r["score"] for r in rows if r["item"] == "mood" and r["option"]]
    assert mood[0] == "1" and mood[-1] == "0" and mood[5] == "0.5"  # reversed scale
    assert [r["option"] for r in rows if r["item"] == "ok"] == ["", "yes", "no", "dont_know", "prefer_not_to_say"]


def test_relevant_follows_the_engine_for_lists(every_type):
    def expression(spec):
        return relevant_expression(every_type, parse_condition(spec))

    assert expression({"item": "channels", "equals": "radio"}) == "false()"
    assert expression({"item": "channels", "in": ["radio"]}) == "false()"
    assert expression({"item": "job", "gt": 1}) == "false()"
    assert expression({"item": "size", "equals": 3}) == "${size} = 3"
    assert expression({"item": "size", "in": [1, 2.5]}) == "(${size} = 1 or ${size} = 2.5)"
    assert expression({"item": "size", "equals": "3"}) == "false()"
    assert expression({"not": {"item": "job", "equals": "other"}}) == "not(${job} = 'other')"


def test_a_broken_xlsform_does_not_convert(every_type, tmp_path):
    """The conversion check has teeth: a relevant naming an unknown field is an error."""
    path = tmp_path / "every.xlsx"
    write_xlsform(every_type, path)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["survey"]
    column = [c.value for c in sheet[1]].index("relevant") + 1
    row = next(r[0].row for r in sheet.iter_rows(min_row=2) if r[1].value == "job_other")
    sheet.cell(row=row, column=column, value="${no_such_item} = 'x'")
    workbook.save(path)
    with pytest.raises(PyXFormError):
        convert(xlsform=str(path))


def test_name_clashes_and_unusable_codes_are_refused():
    spec = every_type_spec()
    spec["modules"][0]["items"].append({"code": "consent", "type": "text", "text": "Clash?"})
    with pytest.raises(ExportError, match="'consent'"):
        xlsform_sheets(build_definition(spec))
    spec = every_type_spec()
    spec["modules"][0]["items"].append({"code": "channels_first", "type": "text", "text": "Clash?"})
    with pytest.raises(ExportError, match="channels_first"):
        xlsform_sheets(build_definition(spec))
    spec = every_type_spec()
    spec["modules"][0]["items"][9]["options"][1]["code"] = "t v"
    with pytest.raises(ExportError, match="space"):
        xlsform_sheets(build_definition(spec))
    spec = every_type_spec()
    spec["modules"][1]["code"] = "job_x"
    spec["modules"][0]["items"][1]["code"] = "job_x"
    spec["modules"][0]["items"][-1]["when"] = {"item": "job_x", "equals": "x"}
    with pytest.raises(ExportError, match="job_x"):
        xlsform_sheets(build_definition(spec))


def test_labels_starting_with_equals_stay_text(tmp_path):
    spec = copy.deepcopy(every_type_spec())
    spec["modules"][0]["items"][1]["text"] = "=1+1 is a formula in Excel"
    path = tmp_path / "f.xlsx"
    write_xlsform(build_definition(spec), path)
    sheet = openpyxl.load_workbook(path)["survey"]
    labels = [r[2].value for r in sheet.iter_rows(min_row=2) if r[1].value == "job_other"]
    assert labels == ["=1+1 is a formula in Excel"]
    assert [r[2].data_type for r in sheet.iter_rows(min_row=2) if r[1].value == "job_other"] == ["s"]


# -- the commands -----------------------------------------------------------------------------

def test_export_commands_write_the_files(tmp_path, standard):
    runner = CliRunner()
    result = runner.invoke(export_command, ["codebook", "-o", str(tmp_path / "cb.csv")])
    assert result.exit_code == 0, result.output
    rows = read_codebook((tmp_path / "cb.csv").read_bytes())
    assert len([r for r in rows if not r["option"]]) == len(standard.items)
    result = runner.invoke(export_command, ["xlsform", "-o", str(tmp_path / "form.xlsx"), "--version", "1"])
    assert result.exit_code == 0, result.output
    assert "standard version 1" in result.output
    assert "housing_situation" in convert(xlsform=str(tmp_path / "form.xlsx")).xform


@pytest.mark.parametrize("args, message", [
    (["codebook", "-o", "{tmp}/missing/cb.csv"], "cannot write {tmp}/missing/cb.csv: No such file or directory"),
    (["codebook", "-o", "{tmp}"], "cannot write {tmp}: it is a directory"),
    (["xlsform", "-o", "{tmp}/file.txt/form.xlsx"], "cannot write {tmp}/file.txt/form.xlsx: Not a directory"),
    (["xlsform", "-o", "{tmp}/form.xls"], "must end in .xlsx"),
    (["codebook", "-o", "{tmp}/cb.csv", "--version", "99"], "there is no standard questionnaire version 99 (known: 1, 2)"),
])
def test_export_commands_fail_cleanly(tmp_path, args, message):
    (tmp_path / "file.txt").write_text("a file, not a directory")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(export_command, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    assert result.output.startswith("Error: ")
    assert message.replace("{tmp}", str(tmp_path)) in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cb.csv").exists() and not (tmp_path / "form.xls").exists()


def test_export_group_runs_under_the_flask_cli(tmp_path):
    from tests.conftest import build_app

    app = build_app(f"sqlite:///{tmp_path / 'monitor.sqlite'}", tmp_path / "instance")
    if "export" not in app.cli.commands:
        app.cli.add_command(export_command)
    result = app.test_cli_runner().invoke(args=["export", "codebook", "-o", str(tmp_path / "cb.csv")])
    assert result.exit_code == 0, result.output
    assert read_codebook((tmp_path / "cb.csv").read_bytes())[0]["item"] == "housing_situation"


# -- exclusive options, reporting groups, key indicators -----------------------------------------

def reporting_spec() -> dict:
    spec = every_type_spec()
    items = spec["modules"][0]["items"]
    channels = next(i for i in items if i["code"] == "channels")
    channels["options"] = [{"code": "radio", "label": "Radio", "group": "media"},
                           {"code": "tv", "label": "TV", "group": "media"},
                           {"code": "other", "label": "Other", "group": "elsewhere"},
                           {"code": "none", "label": "None of these", "group": "elsewhere", "exclusive": True}]
    channels["dont_know"] = True
    spec["groups"] = {"media": {"label": "Media"}, "elsewhere": {"label": "Elsewhere"}}
    spec["indicators"] = {
        "has_paid_job": {"label": "Has a paid job", "when": {"item": "job", "equals": "yes_paid"}},
        "ok_and_small": {"label": "OK and small", "when": {"all": [{"item": "ok", "equals": "yes"},
                                                                   {"item": "size", "lte": 3}]}},
        "without_radio": {"label": "No radio", "when": {"not": {"item": "channels", "includes": "radio"}}},
        "other_job_given": {"label": "Other job given", "when": {"item": "job_other", "answered": True}},
    }
    return spec


@pytest.fixture(scope="module")
def reporting():
    return build_definition(reporting_spec())


def test_exclusive_options_get_a_constraint(reporting, tmp_path):
    _xform, root = to_xform(reporting, tmp_path / "reporting.xlsx")
    channels = binds(root)["/data/basics/channels"]
    assert squeeze(channels["constraint"]) == (
        "count-selected(.) <= 1 or not(selected(., 'dont_know') or selected(., 'none'))")
    texts = translations(root)
    assert texts["English (en)"]["/data/basics/channels:jr:constraintMsg"] == (
        "One of the answers you chose can only be chosen on its own. Choose it alone, or untick it.")
    for language in TRANSLATED:
        assert texts[xlsform_language(language)]["/data/basics/channels:jr:constraintMsg"] == (
            translator(language)("One of the answers you chose can only be chosen on its own. "
                                 "Choose it alone, or untick it.").replace("\xa0", " "))
    # without exclusive options, no constraint
    assert "constraint" not in binds(to_xform(build_definition(every_type_spec()), tmp_path / "e.xlsx")[1])[
        "/data/basics/channels"]


def test_groups_are_a_column_of_the_choices_and_a_list_of_their_own(reporting, tmp_path):
    sheets = xlsform_sheets(reporting)
    header, rows = sheets["choices"]
    assert header[-1] == "group"
    by_name = {(r[0], r[1]): r for r in rows}
    assert by_name[("channels", "radio")][-1] == "media" and by_name[("channels", "none")][-1] == "elsewhere"
    assert by_name[("channels", "dont_know")][-1] is None and by_name[("job", "yes_paid")][-1] is None
    assert by_name[("groups", "media")][2] == "Media"  # the label, English column first
    xform, _root = to_xform(reporting, tmp_path / "reporting.xlsx")
    assert "<name>radio</name><group>media</group>" in xform
    assert "group" not in xlsform_sheets(build_definition(every_type_spec()))["choices"][0]


def test_indicators_are_calculates_with_three_values(reporting, tmp_path):
    _xform, root = to_xform(reporting, tmp_path / "reporting.xlsx")
    nodes = binds(root)
    calculate = {path.rsplit("/", 1)[1]: squeeze(b.get("calculate")) for path, b in nodes.items() if b.get("calculate")}
    assert calculate["has_paid_job"] == (
        "if(( /data/basics/job != '' and /data/basics/job = 'yes_paid'), 1, "
        "if(( /data/basics/job != '' and not( /data/basics/job = 'yes_paid')), 0, ''))")
    # all: holds when both hold, fails when one fails; "I do not know" is no answer
    known_ok = "/data/basics/ok != '' and /data/basics/ok != 'dont_know' and /data/basics/ok != 'prefer_not_to_say'"
    known_size = "/data/basics/size != ''"
    assert calculate["ok_and_small"] == (
        f"if((( {known_ok} and /data/basics/ok = 'yes') and ( {known_size} and /data/basics/size <= 3)), 1, "
        f"if((( {known_ok} and not( /data/basics/ok = 'yes')) or ( {known_size} and not( /data/basics/size <= 3))), 0, ''))")
    known_channels = "/data/basics/channels != '' and not(selected( /data/basics/channels , 'dont_know'))"
    assert calculate["without_radio"] == (
        f"if(( {known_channels} and not(selected( /data/basics/channels , 'radio'))), 1, "
        f"if(( {known_channels} and selected( /data/basics/channels , 'radio')), 0, ''))")
    # an item with a condition of its own counts only while it is shown
    assert calculate["other_job_given"] == (
        "if((( /data/basics/job = 'other') and /data/basics/job_other != ''), 1, "
        "if(not(( /data/basics/job = 'other') and /data/basics/job_other != ''), 0, ''))")
    assert "/data/has_paid_job" in nodes  # after the modules, outside their groups


def test_indicator_names_clash_like_any_other(reporting):
    spec = reporting_spec()
    spec["indicators"]["intro"] = {"label": "Intro", "when": {"item": "size", "gt": 1}}
    with pytest.raises(ExportError, match="'intro'"):
        xlsform_sheets(build_definition(spec))


def test_codebook_shows_exclusive_groups_and_indicators(reporting):
    rows = codebook_rows(reporting)
    assert CODEBOOK_COLUMNS[7:9] == ["exclusive", "group"] and "indicators" in CODEBOOK_COLUMNS
    options = {(r["item"], r["option"]): r for r in rows if r["item"] and r["option"]}
    assert options[("channels", "none")]["exclusive"] == "yes" and options[("channels", "none")]["group"] == "elsewhere"
    assert options[("channels", "dont_know")]["exclusive"] == "yes" and options[("channels", "dont_know")]["group"] == ""
    assert options[("channels", "radio")]["exclusive"] == "" and options[("channels", "radio")]["group"] == "media"
    items = {r["item"]: r for r in rows if r["item"] and not r["option"]}
    assert items["job"]["indicators"] == "has_paid_job"  # the items a condition names
    assert items["job_other"]["indicators"] == "other_job_given"
    assert items["ok"]["indicators"] == "ok_and_small" and items["size"]["indicators"] == "ok_and_small"
    assert items["mood"]["indicators"] == ""
    extra = [r for r in rows if not r["item"]]
    assert [(r["type"], r["option"]) for r in extra] == [
        ("group", "media"), ("group", "elsewhere"), ("indicator", "has_paid_job"), ("indicator", "ok_and_small"),
        ("indicator", "without_radio"), ("indicator", "other_job_given")]
    assert extra[0]["label::en"] == "Media" and extra[0]["answer"] == "options of channels"
    assert extra[3]["condition"] == "ok = yes and size <= 3" and extra[3]["label::en"] == "OK and small"
    assert all(r["module"] == "" for r in extra)


class _Node(str):
    """An XForm node's value in a tiny XPath 1.0 evaluator: a string that compares with
    numbers as a number ('' is NaN, so every comparison with a number is false)."""

    def _number(self):
        try:
            return float(self)
        except ValueError:
            return float("nan")

    def __eq__(self, other):
        return self._number() == other if isinstance(other, (int, float)) else str.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def __lt__(self, other):
        return self._number() < other

    def __le__(self, other):
        return self._number() <= other

    def __gt__(self, other):
        return self._number() > other

    def __ge__(self, other):
        return self._number() >= other


def evaluate_xpath(expression: str, values: dict[str, str]):
    """Evaluate the XPath this module writes (refs, = != < <= > >=, and/or/not, selected,
    count-selected, if, true(), false()) by turning it into Python."""
    python = re.sub(r"\$\{(\w+)\}", r"V['\1']", expression)
    python = re.sub(r"(?<![!<>=])=(?!=)", "==", python)
    python = python.replace("count-selected(", "count_selected(").replace("true()", "True").replace("false()", "False")
    python = re.sub(r"\bif\(", "if_(", python)
    functions = {
        "V": {k: _Node(v) for k, v in values.items()},
        "selected": lambda value, code: code in str(value).split(),
        "count_selected": lambda value: len(str(value).split()),
        "if_": lambda test, yes, no: yes if test else no,
    }
    return eval(python, functions)  # noqa: S307 -- expressions built by the code under test


def xform_values(questionnaire, answers) -> dict[str, str]:
    """What an XForm holds: '' for an item not shown or not answered, lists space-separated."""
    effective = questionnaire.effective_answers(answers)
    shown = {i.code for i in questionnaire.visible_items(answers)}
    values = {}
    for item in questionnaire.items:
        value = effective.get(item.code) if item.code in shown else None
        values[item.code] = "" if value is None else " ".join(value) if isinstance(value, list) else str(value)
    return values


def test_indicator_calculates_agree_with_the_engine(reporting):
    import itertools

    calculations = {ind.code: "if({}, 1, if({}, 0, ''))".format(*indicator_expressions(reporting, ind.when))
                    for ind in reporting.indicators}
    as_xform = {True: 1, False: 0, None: ""}
    for job, job_other, ok, size, channels in itertools.product(
            ["yes_paid", "unpaid", "other", None], ["a farm", None],
            ["yes", "no", "dont_know", "prefer_not_to_say", None], [1, 5, None],
            [["radio"], ["tv", "other"], ["dont_know"], ["none"], None]):
        answers = {k: v for k, v in {"job": job, "job_other": job_other, "ok": ok, "size": size,
                                     "channels": channels}.items() if v is not None}
        engine = reporting.indicator_values(answers)
        values = xform_values(reporting, answers)
        for code, calculation in calculations.items():
            assert evaluate_xpath(calculation, values) == as_xform[engine[code]], (code, answers)


def test_the_evaluator_has_teeth():
    assert evaluate_xpath("${a} = 'x' and not(${b} <= 3)", {"a": "x", "b": "4"}) is True
    assert evaluate_xpath("${b} <= 3", {"b": ""}) is False and evaluate_xpath("${b} > 3", {"b": ""}) is False
    assert evaluate_xpath("if(selected(${c}, 'y'), 1, 0)", {"c": "x y"}) == 1
    assert evaluate_xpath("count-selected(${c}) <= 1 or not(selected(${c}, 'none'))", {"c": "none x"}) is False
