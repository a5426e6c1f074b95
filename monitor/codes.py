"""The programme's code lists: stored as codes, shown through Babel."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from surveys.translation import LANGUAGE_NAMES

ROLES = {
    "admin": _l("Programme administrator"),
    "analyst": _l("Analyst"),
    "partner": _l("Partner staff"),
}

# What each permission of monitor/access.py lets a role do (the data-protection page lists them).
PERMISSIONS = {
    "organisations.manage": _l("Manage organisations, the follow-up plan and the outbox"),
    "users.manage": _l("Manage staff accounts"),
    "audit.read": _l("Read the audit log"),
    "returnees.import": _l("Import returnees"),
    "returnees.read": _l("See cases by code (pseudonymous)"),
    "returnees.edit": _l("Change a case, record consent, interview"),
    "returnees.contact": _l("See names and phone numbers (each view logged)"),
    "returnees.erase": _l("Erase a case's identity"),
    "dataprotection.read": _l("Read this page"),
    "worklist.use": _l("Use the work list: call, read returnees' texts, needs attention"),
    "exports.responses": _l("Export the pseudonymous responses"),
    "exports.text": _l("... with the free-text answers"),
    "reports.read": _l("See the dashboard's figures"),
}

ORGANISATION_KINDS = {
    "reintegration": _l("Reintegration partner"),
    "local": _l("Local partner"),
}

CHANNELS = {
    "sms": _l("SMS link"),
    "phone": _l("Phone call"),
    "none": _l("No contact"),
}

# The channels a returnee can consent to being contacted by.
CONSENT_CHANNELS = ("sms", "phone")

CONSENT_METHODS = {
    "written": _l("Signed form"),
    "verbal": _l("Verbal, noted by staff"),
    "web": _l("On the questionnaire page"),
    "import": _l("Imported from the case file"),
    # STOP and START: how the returnee's word reached us.
    "sms": _l("Text message from the returnee"),
    "link": _l("Opt-out on the questionnaire page"),
    "carrier": _l("Reported by the carrier (Twilio)"),
}

# The kinds of consent event (a case's consent history).
CONSENT_EVENTS = {
    "given": _l("Consent given"),
    "refused": _l("Consent refused"),
    "withdrawn": _l("Consent withdrawn"),
    "stop": _l("STOP: no contact by any channel"),
    "start": _l("START: contact allowed again"),
}

SEXES = {
    "f": _l("Female"),
    "m": _l("Male"),
    "x": _l("Other or not stated"),
}

VULNERABILITIES = {
    "medical": _l("Medical"),
    "family_with_children": _l("Family with children"),
    "trafficking_victim": _l("Victim of trafficking"),
    "unaccompanied_minor": _l("Unaccompanied minor"),
    "other": _l("Other vulnerability"),
}

SUPPORT_PACKAGES = {
    "return_only": _l("Return only"),
    "reintegration": _l("Reintegration support"),
    "reintegration_vulnerable": _l("Reintegration support, vulnerable person"),
    "medical": _l("Medical reintegration support"),
}

FOLLOW_UP_STATES = {
    "planned": _l("Planned"),
    "invited": _l("Invited by SMS"),
    "reminded": _l("Reminded"),
    "phone_task": _l("To phone"),
    "closed": _l("Closed"),
}

RESPONSE_MODES = {
    "sms-web": _l("SMS link"),
    "phone": _l("Phone interview"),
    "visit": _l("Home visit"),
    "import": _l("Imported"),
}

# AAPOR final dispositions (scheduler/dispositions.py holds the codes and the rules).
DISPOSITIONS = {
    "1.1": _l("Complete"),
    "1.2": _l("Partial"),
    "2.11": _l("Refusal"),
    "2.112": _l("Implicit refusal"),
    "2.12": _l("Break-off"),
    "2.20": _l("Non-contact"),
    "2.21": _l("Contacted, not completed"),
    "2.31": _l("Deceased"),
    "2.32": _l("Physically or mentally unable"),
    "2.33": _l("Language barrier"),
    "2.36": _l("Other"),
    "2.361": _l("Living abroad again"),
    "3.90": _l("Unknown eligibility"),
    "4.10": _l("Not eligible"),
}

# What came of a call or visit, as staff record it (scheduler/dispositions.py ATTEMPT_OUTCOMES
# says what each does). "Completed" and "partial" are not here: they come from the interview.
CALL_OUTCOMES = {
    "no_answer": _l("No answer"),
    "busy": _l("Busy"),
    "switched_off": _l("Switched off"),
    "wrong_number": _l("Wrong number"),
    "call_back": _l("Call back at a given time"),
    "refused": _l("Refused"),
    "language_barrier": _l("Language barrier"),
    "too_ill": _l("Too ill to answer"),
    "deceased": _l("Deceased"),
    "living_abroad": _l("Living abroad again"),
    "absent": _l("Visited at home, not there"),
}

# The work list's statuses: of its follow-ups, then its open needs-attention items.
WORKLIST_STATUSES = {
    "call_back_due": _l("Call back now"),
    "to_call": _l("To call"),
    "closing_soon": _l("Window closing"),
    "later": _l("Later"),
    "needs_attention": _l("Needs attention"),
}

# What staff did about a red flag (a needs-attention item): an item closes only with one.
ATTENTION_ACTIONS = {
    "called_back": _l("Called back"),
    "referred": _l("Referred to a service"),
    "visited": _l("Visited"),
    "support_adjusted": _l("Support adjusted"),
    "nothing_needed": _l("Nothing needed"),
}
# Items of flags resolved before actions were recorded (migration 0009): shown, never chosen.
# ... and items still open when their case was erased (nobody can reach the returnee any more).
ATTENTION_ACTION_LABELS = {**ATTENTION_ACTIONS, "resolved_earlier": _l("Resolved (before actions were recorded)"),
                           "case_erased": _l("Closed: the case was erased")}

# Text messages in the outbox: what each is, and where it stands (Twilio's statuses and ours).
SMS_KINDS = {
    "invitation": _l("Invitation"),
    "reminder": _l("Reminder"),
}

SMS_STATUSES = {
    "queued": _l("Waiting to be sent"),
    "sending": _l("Being sent"),
    "accepted": _l("Accepted by the provider"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "read": _l("Read"),
    "undelivered": _l("Not delivered"),
    "failed": _l("Failed"),
    "unknown": _l("Unknown: the sending was interrupted"),
    "cancelled": _l("Cancelled"),
}

# The audit log: what was done (the stored action), to what (the table), and the details' keys.
AUDIT_ACTIONS = {
    "login": _l("Logged in"),
    "login.failed": _l("Login failed"),
    "login.refused": _l("Login refused: waiting after failed logins"),
    "logout": _l("Logged out"),
    "user.create": _l("User created"),
    "user.edit": _l("User changed"),
    "user.unlock": _l("Account unlocked"),
    "user.password": _l("Password changed"),
    "organisation.create": _l("Organisation created"),
    "organisation.edit": _l("Organisation changed"),
    "plan.edit": _l("Follow-up plan changed"),
    "plan.wave.add": _l("Wave added"),
    "outbox.view": _l("Outbox viewed"),
    "returnee.import": _l("Returnees imported"),
    "returnee.edit": _l("Case changed"),
    "returnee.contact.view": _l("Contact details viewed"),
    "returnee.consent.give": _l("Consent recorded"),
    "returnee.consent.withdraw": _l("Consent withdrawn"),
    "returnee.do_not_contact.set": _l("Marked do-not-contact"),
    "returnee.do_not_contact.clear": _l("Do-not-contact removed"),
    "returnee.sms.stop": _l("Replied STOP: no more texts"),
    "returnee.sms.start": _l("Replied START: texts allowed again"),
    "returnee.erase": _l("Case erased (identity removed)"),
    "returnee.purge": _l("Identity purged: retention period over"),
    "response.save": _l("Interview saved"),
    "response.complete": _l("Response completed"),
    "response.import": _l("Responses imported"),
    "response.rescore": _l("Responses scored again"),
    "encryption.rotate": _l("Personal data re-encrypted under a new key"),
    "scoring.activate": _l("Scoring version activated"),
    "inbound.handled": _l("Text marked handled"),
    "attention.close": _l("Needs-attention item closed"),
    "response.correct": _l("Response corrected"),
    "worklist.export": _l("Work list exported for offline work"),
    "export.responses": _l("Responses exported (pseudonymous)"),
    "demo.load": _l("Demo data loaded"),
    "api_token.create": _l("API token made"),
    "api_token.revoke": _l("API token revoked"),
    "api_token.use": _l("API token used (first use of the day)"),
}

AUDIT_OBJECTS = {
    "returnees": _l("Returnee"),
    "users": _l("User"),
    "organisations": _l("Organisation"),
    "responses": _l("Response"),
    "follow_ups": _l("Follow-up"),
    "sms_messages": _l("Text message"),
    "inbound_messages": _l("Text from a returnee"),
    "api_tokens": _l("API token"),
}

AUDIT_DETAILS = {
    "code": _l("Code"),
    "fields": _l("Fields"),
    "role": _l("Role"),
    "reason": _l("Reason"),
    "failures": _l("Failed attempts"),
    "locked": _l("Locked"),
    "wait_seconds": _l("Wait (seconds)"),
    "wave": _l("Wave"),
    "waves": _l("Waves"),
    "page": _l("Page"),
    "mode": _l("Mode"),
    "disposition": _l("Disposition"),
    "channels": _l("Channels"),
    "method": _l("Method"),
    "via": _l("Via"),
    "case": _l("Case"),
    "message": _l("Message"),
    "returnees": _l("Returnees"),
    "version": _l("Version"),
    "responses": _l("Responses"),
    "changed": _l("Changed"),
    "file": _l("File"),
    "sha256": _l("File fingerprint (SHA-256)"),
    "rows": _l("Rows"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "unchanged": _l("Unchanged"),
    "rejected": _l("Rejected"),
    "questionnaire": _l("Questionnaire"),
    "flag": _l("Red flag"),
    "action": _l("What was done"),
    "note": _l("Note written"),
    "revision": _l("Revision"),
    "language": _l("Language of the interview"),
    "cases": _l("Cases"),
    "contact": _l("With names and phone numbers"),
    "format": _l("File format"),
    "skipped": _l("Skipped (imported before)"),
    "with_text": _l("With free-text answers"),
    "labels": _l("Language of the labels"),
    "organisation": _l("Organisation"),
    "with_answers": _l("Answers deleted too"),
    "months": _l("Retention (months)"),
    "messages": _l("Text messages emptied"),
    "texts": _l("Texts from the returnee emptied"),
    "notes": _l("Notes removed"),
    "free_text": _l("Free-text answers removed"),
    "key": _l("Key fingerprint"),
    "reencrypted": _l("Values re-encrypted"),
    "indexes": _l("Lookup hashes recomputed"),
    "unreadable": _l("Values no key reads"),
}

# Who did it, when it was not a person's account.
ACTORS = {
    "cli": _l("Command line"),
    "scheduler": _l("Scheduler"),
    "system": _l("System"),
    "demo": _l("Demo data"),
    "returnee": _l("The returnee"),
}

LOGIN_FAILURES = {
    "unknown": _l("unknown e-mail address"),
    "password": _l("wrong password"),
    "locked": _l("account locked"),
    "waiting": _l("waiting after failed logins"),
}

# The names of the fields an edit changed (a case's, a user's), as the audit log lists them.
FIELDS = {
    "destination_country": _l("Destination country"),
    "partner_id": _l("Reintegration partner"),
    "local_partner_id": _l("Local partner"),
    "return_date": _l("Return date"),
    "sex": _l("Sex"),
    "birth_year": _l("Birth year"),
    "adults": _l("Adults in the household"),
    "children": _l("Children in the household"),
    "support_package": _l("Support package"),
    "language": _l("Preferred language"),
    "preferred_channel": _l("Preferred channel"),
    "name": _l("Name"),
    "phone": _l("Phone number"),
    "vulnerabilities": _l("Vulnerabilities"),
    "email": _l("E-mail"),
    "role": _l("Role"),
    "organisation": _l("Organisation"),
    "active": _l("Active"),
    "locale": _l("Interface language"),
    "password": _l("Password"),
}

VIA = {
    "sms": _l("a text message"),
    "worklist": _l("the work list"),
}

SCORE_DIMENSIONS = {
    "economic": _l("Economic"),
    "social": _l("Social"),
    "psychosocial": _l("Psychosocial"),
    "composite": _l("Composite"),
}

# Returnee languages, each named in itself (defined with the questionnaire's translations).
RETURNEE_LANGUAGES = LANGUAGE_NAMES


def normalise_language(value: str) -> str | None:
    """'PT-br', 'pt_BR' -> 'pt_BR'; None when it is not a returnee language."""
    cleaned = value.strip().replace("-", "_")
    for code in RETURNEE_LANGUAGES:
        if code.lower() == cleaned.lower():
            return code
    return None
