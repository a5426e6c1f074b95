"""The disposition table (scheduler/dispositions.py), row by row, and the README's copy of it.
Pure: no app, no database."""
from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.dispositions import (
    ATTEMPT_OUTCOMES, CONDITIONS, DISPOSITIONS, LEGACY_NAMES, REASONS, RULES, STAFF_REASONS, Facts, UnknownReason,
    carries_answers, category, final_disposition, is_scored, markdown_table, recorded,
)

NOTHING = Facts()
CONTACTED = Facts(contacted=True)
PARTIAL = Facts(contacted=True, started=True, partial_reached=True)
BREAK_OFF = Facts(contacted=True, started=True, partial_reached=False)
UNUSABLE = Facts(number_unusable=True)
UNUSABLE_BUT_CONTACTED = Facts(contacted=True, number_unusable=True)

# (reason, facts, expected code): every row of the table, and the facts that reach it.
CASES = [
    ("completed", PARTIAL, "1.1"),
    ("completed", NOTHING, "1.1"),
    ("window_closed", PARTIAL, "1.2"),
    ("window_closed", BREAK_OFF, "2.12"),
    ("window_closed", CONTACTED, "2.21"),
    ("window_closed", UNUSABLE, "3.90"),
    ("window_closed", UNUSABLE_BUT_CONTACTED, "2.21"),
    ("window_closed", NOTHING, "2.20"),
    ("max_attempts", PARTIAL, "1.2"),
    ("max_attempts", BREAK_OFF, "2.12"),
    ("max_attempts", CONTACTED, "2.21"),
    ("max_attempts", UNUSABLE, "3.90"),
    ("max_attempts", NOTHING, "2.20"),
    ("declined_link", CONTACTED, "2.11"),
    ("declined_link", PARTIAL, "1.2"),
    ("declined_link", BREAK_OFF, "2.12"),
    ("refused", CONTACTED, "2.11"),
    ("refused", PARTIAL, "1.2"),
    ("refused", BREAK_OFF, "2.12"),
    ("stop", NOTHING, "2.11"),
    ("stop", PARTIAL, "1.2"),
    ("stop", BREAK_OFF, "2.12"),
    ("withdrew", NOTHING, "2.11"),
    ("withdrew", BREAK_OFF, "2.12"),
    ("withdrew", PARTIAL, "1.2"),
    ("do_not_contact", NOTHING, "2.11"),
    ("do_not_contact", PARTIAL, "1.2"),
    ("do_not_contact", BREAK_OFF, "2.12"),
    ("erased", NOTHING, "2.11"),
    ("erased", PARTIAL, "1.2"),
    ("erased", BREAK_OFF, "2.12"),
    ("cancelled_on_request", CONTACTED, "2.112"),
    ("deceased", NOTHING, "2.31"),
    ("unable", CONTACTED, "2.32"),
    ("language_barrier", CONTACTED, "2.33"),
    ("other", NOTHING, "2.36"),
    ("living_abroad", NOTHING, "2.361"),
    ("not_eligible", NOTHING, "4.10"),
]


@pytest.mark.parametrize("reason, facts, code", CASES)
def test_each_row(reason, facts, code):
    assert final_disposition(reason, facts) == code


def test_every_rule_is_reached_by_a_case():
    reached = set()
    for reason, facts, _code in CASES:
        rule = next(r for r in RULES if r.reason == reason and CONDITIONS[r.condition][1](facts))
        reached.add(rule)
    assert reached == set(RULES)


def test_every_reason_ends_whatever_the_facts():
    for reason in REASONS:
        for facts in (NOTHING, CONTACTED, PARTIAL, BREAK_OFF, UNUSABLE):
            assert final_disposition(reason, facts) in DISPOSITIONS


def test_an_unknown_reason_is_refused():
    with pytest.raises(UnknownReason, match="no disposition rule"):
        final_disposition("vanished")


def test_every_code_is_aapor_coded_and_categorised():
    assert set(DISPOSITIONS) == {"1.1", "1.2", "2.11", "2.112", "2.12", "2.20", "2.21", "2.31", "2.32", "2.33",
                                 "2.36", "2.361", "3.90", "4.10"}
    categories = {code: category(code) for code in DISPOSITIONS}
    assert categories == {"1.1": "I", "1.2": "P", "2.11": "R", "2.112": "R", "2.12": "R", "2.20": "NC",
                          "2.21": "NC", "2.31": "O", "2.32": "O", "2.33": "O", "2.36": "O", "2.361": "O",
                          "3.90": "U", "4.10": "NE"}
    for code, disposition in DISPOSITIONS.items():
        assert code.startswith({"I": "1.", "P": "1.", "R": "2.1", "NC": "2.2", "O": "2.3", "U": "3.",
                                "NE": "4."}[disposition.category])
    assert category(None) is None and category("9.9") is None


@pytest.mark.parametrize("name, code", sorted(LEGACY_NAMES.items()))
def test_legacy_names_map_to_codes(name, code):
    assert recorded(name) == code
    assert recorded(name.upper().replace("-", "_")) == code


def test_recorded_codes_pass_and_nonsense_is_refused():
    for code in DISPOSITIONS:
        assert recorded(f" {code} ") == code
    with pytest.raises(UnknownReason, match="use an AAPOR code"):
        recorded("finished")


def test_answers_and_scores_by_code():
    assert [c for c in DISPOSITIONS if carries_answers(c)] == ["1.1", "1.2", "2.12"]
    assert [c for c in DISPOSITIONS if is_scored(c)] == ["1.1", "1.2"]


def test_attempt_outcomes_close_only_with_known_reasons():
    for outcome, rule in ATTEMPT_OUTCOMES.items():
        assert rule.closes is None or rule.closes in REASONS, outcome
    assert ATTEMPT_OUTCOMES["wrong_number"].number_unusable and not ATTEMPT_OUTCOMES["wrong_number"].contact
    assert ATTEMPT_OUTCOMES["call_back"].contact and ATTEMPT_OUTCOMES["call_back"].closes is None
    assert ATTEMPT_OUTCOMES["replied_stop"].closes == "stop" == ATTEMPT_OUTCOMES["opted_out"].closes
    assert set(STAFF_REASONS) <= set(REASONS)


def test_the_readme_table_is_the_table():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme
