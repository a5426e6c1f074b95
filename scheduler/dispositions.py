"""Final dispositions of a follow-up, coded by AAPOR's Standard Definitions, in one table.

Every follow-up ends with exactly one code, written by `final_disposition` from `RULES` (or, for
imported and staff-recorded outcomes, checked by `recorded`). The README's table "Outcomes and
dispositions" is generated from `RULES` (`markdown_table`) and a test keeps the two equal.

    final_disposition("window_closed", Facts(contacted=True))   # -> "2.21"

Plain Python: the dispatcher, the web forms, the import and the dashboard all read this module.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Disposition:
    code: str
    category: str  # AAPOR's groups: I complete, P partial, R refusal, NC non-contact, O other,
    #                U unknown eligibility, NE not eligible (left out of every denominator)
    label: str


DISPOSITIONS: dict[str, Disposition] = {d.code: d for d in (
    Disposition("1.1", "I", "Complete"),
    Disposition("1.2", "P", "Partial"),
    Disposition("2.11", "R", "Refusal"),
    Disposition("2.112", "R", "Implicit refusal"),
    Disposition("2.12", "R", "Break-off"),
    Disposition("2.20", "NC", "Non-contact"),
    Disposition("2.21", "NC", "Contacted, not completed"),
    Disposition("2.31", "O", "Deceased"),
    Disposition("2.32", "O", "Physically or mentally unable"),
    Disposition("2.33", "O", "Language barrier"),
    Disposition("2.36", "O", "Other"),
    Disposition("2.361", "O", "Living abroad again"),
    Disposition("3.90", "U", "Unknown eligibility"),
    Disposition("4.10", "NE", "Not eligible"),
)}

# The old disposition names (before AAPOR codes), still accepted by `monitor import-responses`.
LEGACY_NAMES = {"complete": "1.1", "partial": "1.2", "refusal": "2.11", "cancelled": "2.112",
                "non-contact": "2.20", "other": "2.36", "unknown-eligibility": "3.90", "not-eligible": "4.10"}


@dataclass(frozen=True)
class Facts:
    """What is known of a follow-up when it ends."""

    contacted: bool = False  # a consent answer on the link or an answered call; never a link merely opened
    started: bool = False  # a response with at least one saved answer
    partial_reached: bool = False  # ... enough of it answered to count as partial (the questionnaire's rule)
    number_unusable: bool = False  # the returnee's number is known not to work, and no other contact


# Conditions a rule can put on the facts, checked in the order of the rules.
CONDITIONS = {
    "always": ("", lambda f: True),
    "partial": ("answered up to the partial rule", lambda f: f.started and f.partial_reached),
    "break_off": ("started, stopped before the partial rule", lambda f: f.started and not f.partial_reached),
    "contacted": ("contacted, nothing answered", lambda f: f.contacted),
    "number_unusable": ("never contacted, number unusable", lambda f: not f.contacted and f.number_unusable),
}


@dataclass(frozen=True)
class Rule:
    reason: str  # why the follow-up ends
    condition: str  # a key of CONDITIONS
    code: str
    meaning: str


def _answers_first(reason: str, meaning: str, code: str) -> tuple[Rule, ...]:
    """A reason after which saved answers still count: partial or break-off before the reason's code."""
    return (Rule(reason, "partial", "1.2", meaning), Rule(reason, "break_off", "2.12", meaning),
            Rule(reason, "always", code, meaning))


RULES: tuple[Rule, ...] = (
    Rule("completed", "always", "1.1", "the questionnaire saved as complete (link or interview)"),
    # The window closed, or the maximum number of attempts was reached, without a complete answer.
    *(rule for reason, meaning in (("window_closed", "the window closed"),
                                   ("max_attempts", "the maximum number of attempts was reached"))
      for rule in (Rule(reason, "partial", "1.2", meaning), Rule(reason, "break_off", "2.12", meaning),
                   Rule(reason, "contacted", "2.21", meaning), Rule(reason, "number_unusable", "3.90", meaning),
                   Rule(reason, "always", "2.20", meaning))),
    *_answers_first("declined_link", "declined on the link's consent page", "2.11"),
    *_answers_first("refused", "refused on the phone or at a visit", "2.11"),
    *_answers_first("stop", "replied STOP, opted out on the link, or the carrier reported an opt-out (Twilio 21610)",
                    "2.11"),
    *_answers_first("withdrew", "withdrew consent", "2.11"),
    *_answers_first("do_not_contact", "asked not to be contacted (do-not-contact)", "2.11"),
    *_answers_first("erased", "the case's identity was erased (`monitor erase`, the admin's button)", "2.11"),
    Rule("cancelled_on_request", "always", "2.112", "cancelled by staff at the returnee's request"),
    Rule("deceased", "always", "2.31", "deceased after selection (staff reason)"),
    Rule("unable", "always", "2.32", "physically or mentally unable (staff reason)"),
    Rule("language_barrier", "always", "2.33", "language barrier (staff reason)"),
    Rule("other", "always", "2.36", "other (staff reason)"),
    Rule("living_abroad", "always", "2.361", "re-migrated, living abroad again (staff reason)"),
    Rule("not_eligible", "always", "4.10", "should never have been in the frame: recorded in error, not a "
                                           "programme returnee (staff reason)"),
)

REASONS = tuple(dict.fromkeys(rule.reason for rule in RULES))
# Reasons a member of staff gives when closing a follow-up by hand (each needs a note).
STAFF_REASONS = ("cancelled_on_request", "deceased", "unable", "language_barrier", "other", "living_abroad",
                 "not_eligible")


class UnknownReason(ValueError):
    pass


def final_disposition(reason: str, facts: Facts = Facts()) -> str:
    """The AAPOR code a follow-up ends with, for `reason` and what is known of it."""
    for rule in RULES:
        if rule.reason == reason and CONDITIONS[rule.condition][1](facts):
            return rule.code
    raise UnknownReason(f"no disposition rule for {reason!r} (reasons: {', '.join(REASONS)})")


def recorded(value: str) -> str:
    """A disposition given as data (an import): an AAPOR code, or one of the legacy names."""
    cleaned = value.strip().lower().replace("_", "-").replace(" ", "-")
    if cleaned in DISPOSITIONS:
        return cleaned
    if cleaned in LEGACY_NAMES:
        return LEGACY_NAMES[cleaned]
    raise UnknownReason(f"{value.strip()[:20]!r} is not a disposition: use an AAPOR code "
                        f"({', '.join(DISPOSITIONS)}) or {', '.join(LEGACY_NAMES)}")


def category(code: str | None) -> str | None:
    return DISPOSITIONS[code].category if code in DISPOSITIONS else None


def carries_answers(code: str) -> bool:
    """Responses closed with these codes keep their answers (and raise red flags from them)."""
    return code in ("1.1", "1.2", "2.12")


def is_scored(code: str | None) -> bool:
    """Scores are computed for complete and partial responses only."""
    return code in ("1.1", "1.2")


# -- contact attempts -----------------------------------------------------------------------

@dataclass(frozen=True)
class AttemptOutcome:
    """What one call, visit or failed message means for the follow-up."""

    contact: bool  # the returnee was reached
    closes: str | None = None  # the reason it ends the follow-up with, if it does
    number_unusable: bool = False  # the number does not work: not used again until it is changed


ATTEMPT_OUTCOMES: dict[str, AttemptOutcome] = {
    "no_answer": AttemptOutcome(False),
    "busy": AttemptOutcome(False),
    "switched_off": AttemptOutcome(False),
    "absent": AttemptOutcome(False),  # visited at home, not there
    "wrong_number": AttemptOutcome(False, number_unusable=True),
    "call_back": AttemptOutcome(True),
    "refused": AttemptOutcome(True, "refused"),
    "language_barrier": AttemptOutcome(True, "language_barrier"),
    "too_ill": AttemptOutcome(True, "unable"),
    "deceased": AttemptOutcome(False, "deceased"),
    "living_abroad": AttemptOutcome(False, "living_abroad"),
    # Messages: a delivery failure counts as an attempt; some say something about the number.
    "sms_failed": AttemptOutcome(False),
    "unusable_number": AttemptOutcome(False, number_unusable=True),  # Twilio 21211, 21614
    "opted_out": AttemptOutcome(False, "stop"),  # Twilio 21610
    "replied_stop": AttemptOutcome(False, "stop"),
}


def markdown_table() -> str:
    """The README's table of RULES."""
    lines = ["| the follow-up ends because | and | code | AAPOR disposition |", "| --- | --- | --- | --- |"]
    for rule in RULES:
        lines.append(f"| {rule.meaning} (`{rule.reason}`) | {CONDITIONS[rule.condition][0]} | {rule.code} | "
                     f"{DISPOSITIONS[rule.code].label} ({DISPOSITIONS[rule.code].category}) |")
    return "\n".join(lines)
