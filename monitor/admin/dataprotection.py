"""What the platform stores about a returnee, where, who can see it, how long it is kept and what
erasure does to it: the data-protection page's inventory (the README's section "Data
protection" says the same, and a test checks that every encrypted or hashed column is in here)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

RETAINED = _l("Until %(months)s months after the case's last wave closes, then purged automatically; or until "
              "erased on request")
KEPT = _l("Kept: pseudonymous, needed for the figures")
ENCRYPTED = _l("Encrypted")
ENCRYPTED_AND_HASHED = _l("Encrypted; the number also as a keyed hash, to find a case by it")
NOT_ENCRYPTED = _l("Not encrypted (no identity)")


@dataclass(frozen=True)
class Stored:
    what: str
    columns: tuple[str, ...]  # table.column
    protection: str  # how it is protected at rest
    who: str
    kept: str
    on_erasure: str


INVENTORY = (
    Stored(_l("Name and phone number"), ("returnees.name", "returnees.phone", "returnees.phone_lookup"),
           ENCRYPTED_AND_HASHED,
           _l("Administrators; partner staff and coordinators of the case's organisation, on request, each view in the audit log. "
              "Never analysts"), RETAINED, _l("Removed")),
    Stored(_l("Text messages sent (number, text with the personal link)"), ("sms_messages.to", "sms_messages.body"),
           ENCRYPTED,
           _l("Administrators (the outbox page, each view in the audit log)"), RETAINED, _l("Emptied")),
    Stored(_l("Texts from the returnee, and a keyed hash of the sender's number"),
           ("inbound_messages.body", "inbound_messages.from_lookup"), ENCRYPTED_AND_HASHED,
           _l("Administrators; partner staff and coordinators of the case's organisation (the work list)"), RETAINED, _l("Emptied")),
    Stored(_l("A returnee file uploaded on the web, while it is imported (names, numbers)"),
           ("import_jobs.filename", "import_jobs.payload"), ENCRYPTED,
           _l("Nobody reads it: the import reads it once, in the background"),
           _l("Until the import ends: then the file is cleared"), _l("Not concerned: cleared within minutes")),
    Stored(_l("Personal links to the questionnaire"), ("survey_links.token_hash",), _l("Only a hash"),
           _l("Nobody: only a hash is stored, the link is in the text message"), RETAINED, _l("Deleted")),
    Stored(_l("Notes written by staff: call attempts, needs attention, consent, reasons of corrections"),
           ("contact_attempts.note", "attention_items.note", "consent_events.note", "response_revisions.reason"),
           _l("Needs-attention notes encrypted; the others not"),
           _l("Administrators; partner staff and coordinators of the case's organisation"), RETAINED, _l("Removed")),
    Stored(_l("Free-text answers"), ("response_answers.text", "response_revisions.answers"), _l("Not encrypted"),
           _l("Administrators; partner staff and coordinators of the case's organisation; never analysts (nor in their exports)"),
           RETAINED, _l("Removed")),
    Stored(_l("Coded answers, scores and red flags"),
           ("response_answers.code", "response_answers.number", "response_scores", "response_flags"), NOT_ENCRYPTED,
           _l("Everyone with an account, by case code only; partner staff their organisation's cases"), KEPT,
           _l("Kept; deleted with the answers when asked")),
    Stored(_l("The case: code, country, partners, return date, sex, birth year, household, vulnerabilities, "
              "support"), ("returnees.code", "returnee_vulnerabilities"), NOT_ENCRYPTED,
           _l("Everyone with an account, by case code only; partner staff their organisation's cases"), KEPT, _l("Kept")),
    Stored(_l("Consent history, follow-ups and their outcomes (AAPOR)"), ("consent_events", "follow_ups"), NOT_ENCRYPTED,
           _l("Everyone with an account, by case code only; partner staff their organisation's cases"), KEPT,
           _l("Kept: the figures do not change")),
    Stored(_l("The audit log: who did what to which case, when (field names and counts, never the data)"),
           ("audit_entries",), NOT_ENCRYPTED, _l("Administrators"), _l("Kept"), _l("Kept; the erasure is recorded in it")),
)


def listed_columns() -> set[str]:
    return {column for row in INVENTORY for column in row.columns}
