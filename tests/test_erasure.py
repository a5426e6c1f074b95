"""Erasure (monitor/returnees/erasure.py): a case's identity leaves every table, its outcomes stay,
and nobody contacts it again; the retention job purges exactly the cases past the limit. Both
databases (the fixtures are parametrised)."""
from __future__ import annotations

import html
import json
import re
import urllib.parse
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from monitor.extensions import cipher, db
from monitor.followups.operations import complete_response, opt_in, opt_out
from monitor.models import (
    AttentionItem, AuditEntry, ConsentEvent, ContactAttempt, FollowUp, InboundMessage, Response, ResponseAnswer,
    ResponseRevision, Returnee, SmsMessage, SurveyLink,
)
from monitor.models.types import EncryptedText, utcnow
from monitor.responses.operations import start_response
from monitor.returnees import operations
from monitor.returnees.erasure import erase_returnee, last_wave_days, months_before, purge_expired
from monitor.returnees.importing import import_returnees
from tests.conftest import link_for, make_follow_up, make_returnee
from tests.test_double_tap import _at_once, _logged_in
from tests.test_organisations_cli import invoke

NAME, PHONE = "Tamar Zedginidze", "+995599000111"
OTHER_NAME, OTHER_PHONE = "Giorgi Kapanadze", "+995599000222"


def stored_text() -> list[tuple[str, str, str]]:
    """Every value of every string, text, JSON and binary column of every table, as the app reads
    it (encrypted columns decrypted): (table, column, value)."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns
                   if isinstance(c.type, (EncryptedText, sa.String, sa.JSON, sa.LargeBinary))]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row):
                if value is None:
                    continue
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                elif not isinstance(value, str):
                    value = json.dumps(value, ensure_ascii=False)
                found.append((table.name, column.name, value))
    return found


def traces(*values: str) -> set[tuple[str, str]]:
    """(table, column) of every stored value holding one of `values`."""
    return {(table, column) for table, column, value in stored_text() if any(v in value for v in values)}


def identity_of(name: str, phone: str) -> tuple[str, ...]:
    return name, name.split()[-1], phone, phone.lstrip("+"), phone[4:], cipher.lookup_hash(phone)


def a_case_with_identity_everywhere(orgs, users, code="GE-E-001", name=NAME, phone=PHONE) -> Returnee:
    """A case whose name and number are in every place the platform can keep them: the case, a
    consent note, a free-text answer, a correction, call and needs-attention notes, the outbox,
    texts received (linked to the case and not), a personal link."""
    returnee = make_returnee(orgs["caritas"], code, orgs["caritas-ge"], name=name, phone=phone)
    db.session.flush()
    operations.give_consent(returnee, ["sms", "phone"], "verbal", user=users["caritas-ge"],
                            note=f"{name} agreed, on {phone}")
    m1 = make_follow_up(returnee, "m1", state="invited")
    response = start_response(m1, "phone", interviewer=users["caritas-ge"])
    db.session.flush()
    db.session.add_all([ResponseAnswer(response_id=response.id, item="housing_situation", code="rented"),
                        ResponseAnswer(response_id=response.id, item="housing_other",
                                       text=f"lives with {name}'s uncle, call {phone}")])
    db.session.flush()
    db.session.expire(response, ["answer_rows"])
    complete_response(response, user=users["caritas-ge"])
    db.session.add_all([
        ResponseRevision(response_id=response.id, number=1, mode="phone", language="ka",
                         answers={"housing_situation": "owned", "housing_other": f"{name}'s house"},
                         reason=f"{name} called back on {phone}", corrected_by_id=users["caritas-ge"].id),
        AttentionItem(response_id=response.id, flag="no_shelter", note=f"called {phone}"),
        ContactAttempt(follow_up_id=m1.id, channel="phone", outcome="no_answer", note=f"{name}'s brother answered"),
        SmsMessage(follow_up_id=m1.id, returnee_id=returnee.id, kind="invitation", to=phone,
                   body=f"Hello {name}: https://monitor.example.org/s/abc", status="sent"),
    ])
    m6 = make_follow_up(returnee, "m6", state="invited")
    db.session.add(SmsMessage(follow_up_id=m6.id, returnee_id=returnee.id, kind="invitation", to=phone,
                              body=f"Hello {name}", status="queued"))
    lookup = cipher.lookup_hash(phone)
    db.session.add_all([
        InboundMessage(provider_id=f"SM-{code}-1", returnee_id=returnee.id, from_lookup=lookup,
                       body=f"This is {name}, my number is {phone}", kind="other"),
        InboundMessage(provider_id=f"SM-{code}-2", returnee_id=None, from_lookup=lookup, body="call me", kind="other"),
    ])
    link_for(returnee, "m6")
    db.session.commit()
    return returnee


EVERY_PLACE = {
    ("returnees", "name"), ("returnees", "phone"), ("returnees", "phone_lookup"),
    ("consent_events", "note"), ("response_answers", "text"), ("response_revisions", "answers"),
    ("response_revisions", "reason"), ("attention_items", "note"), ("contact_attempts", "note"),
    ("sms_messages", "to"), ("sms_messages", "body"), ("inbound_messages", "body"),
    ("inbound_messages", "from_lookup"),
}


def test_erasure_leaves_no_trace_of_the_identity_and_keeps_the_outcome(app, orgs, users):
    returnee = a_case_with_identity_everywhere(orgs, users)
    a_case_with_identity_everywhere(orgs, users, "GE-E-002", OTHER_NAME, OTHER_PHONE)
    assert traces(*identity_of(NAME, PHONE)) == EVERY_PLACE  # the search finds them all before
    links = db.session.scalar(select(func.count()).select_from(SurveyLink).where(SurveyLink.returnee_id == returnee.id))
    assert links == 1

    done = erase_returnee(returnee, reason="request of the returnee under the GDPR", actor="cli")
    db.session.commit()
    db.session.expire_all()

    assert done.erased and (done.messages, done.texts, done.notes, done.free_text) == (2, 2, 3, 1)
    assert traces(*identity_of(NAME, PHONE)) == set()
    assert traces(*identity_of(OTHER_NAME, OTHER_PHONE)) == EVERY_PLACE  # the other case is untouched
    assert db.session.scalar(select(func.count()).select_from(SurveyLink).where(SurveyLink.returnee_id == returnee.id)) == 0

    returnee = db.session.get(Returnee, returnee.id)
    assert returnee.erased_at is not None and returnee.refusal == "erased"
    assert (returnee.code, returnee.destination_country, returnee.return_date) == ("GE-E-001", "GE", date(2026, 9, 1))
    outcomes = dict(db.session.execute(select(FollowUp.wave, FollowUp.disposition)
                                       .where(FollowUp.returnee_id == returnee.id)).all())
    assert outcomes == {"m1": "1.1", "m6": "2.11"}  # the interview's outcome stays; the open wave ends as a refusal
    response = db.session.scalar(select(Response).where(Response.returnee_id == returnee.id))
    assert response.answers == {"housing_situation": "rented"}  # coded answers stay without --with-answers
    item = db.session.scalar(select(AttentionItem).where(AttentionItem.response_id == response.id))  # nobody can reach the returnee to act on it any more
    assert (item.action, item.closed_at is not None, item.note) == ("case_erased", True, None)
    assert db.session.scalar(select(SmsMessage.status).where(SmsMessage.status != "sent",
                                                             SmsMessage.returnee_id == returnee.id)) == "cancelled"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "returnee.erase"))
    assert (entry.object_id, entry.actor, entry.details["reason"], entry.details["with_answers"]) == \
        ("GE-E-001", "cli", "request of the returnee under the GDPR", False)

    # Again: nothing more to do, nothing more in the audit log.
    assert not erase_returnee(returnee, reason="again", actor="cli").erased
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "returnee.erase")) == 1


def test_erasure_with_answers_deletes_them_and_keeps_every_outcome(app, orgs, users):
    returnee = a_case_with_identity_everywhere(orgs, users)
    erase_returnee(returnee, reason="request", with_answers=True, user=users["admin"])
    db.session.commit()
    db.session.expire_all()
    assert traces(*identity_of(NAME, PHONE)) == set()
    for model in (Response, ResponseAnswer, ResponseRevision, AttentionItem):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
    outcomes = dict(db.session.execute(select(FollowUp.wave, FollowUp.disposition)).all())
    assert outcomes == {"m1": "1.1", "m6": "2.11"}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "returnee.erase"))
    assert (entry.actor, entry.details["with_answers"], entry.details["responses"]) == ("admin@example.org", True, 1)


def test_a_shared_phone_stays_with_the_other_case(app, orgs, users):
    """A family sharing one phone: the texts of the erased case go, the number stays the other's."""
    erased = make_returnee(orgs["caritas"], "GE-E-001", orgs["caritas-ge"], name=NAME, phone=PHONE)
    sibling = make_returnee(orgs["caritas"], "GE-E-002", orgs["caritas-ge"], name=OTHER_NAME, phone=PHONE)
    db.session.flush()
    lookup = cipher.lookup_hash(PHONE)
    db.session.add_all([
        InboundMessage(provider_id="SM1", returnee_id=erased.id, from_lookup=lookup, body="mine", kind="other"),
        InboundMessage(provider_id="SM2", returnee_id=sibling.id, from_lookup=lookup, body="theirs", kind="other")])
    db.session.commit()
    erase_returnee(erased, reason="request", actor="cli")
    db.session.commit()
    texts = {row.provider_id: (row.body, row.read_at is not None)
             for row in db.session.execute(select(InboundMessage.provider_id, InboundMessage.body, InboundMessage.read_at))}
    assert texts == {"SM1": ("", True), "SM2": ("theirs", False)}
    assert db.session.get(Returnee, sibling.id).phone == PHONE


def test_an_erased_case_is_never_contacted_again(app, orgs, users, browser_for):
    from scheduler.dispatch import dispatch
    from scheduler.planning import plan

    today = date.today()
    returnee = make_returnee(orgs["caritas"], "GE-E-001", orgs["caritas-ge"], name=NAME, phone=PHONE,
                             return_date=today - timedelta(days=35), preferred_channel="phone")
    make_follow_up(returnee, "m1", state="phone_task", channel="phone")
    db.session.commit()
    staff = browser_for(users["caritas-ge"])
    assert "GE-E-001" in staff.get("/worklist/").get_data(as_text=True)

    erase_returnee(returnee, reason="request", actor="cli")
    db.session.commit()
    # The phone work list: the open task ended with the erasure.
    assert "GE-E-001" not in staff.get("/worklist/").get_data(as_text=True)
    # Planning: no new follow-up (the m1 census and the sampled waves alike).
    db.session.execute(sa.delete(FollowUp))
    db.session.commit()
    plan(today)
    plan(today + timedelta(days=200))
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0
    # Follow-ups that appear anyway (an import, a race): an invitation, a reminder and a phone
    # task are each closed by the dispatcher as a refusal, and no message is written.
    invited_at = utcnow() - timedelta(days=10)
    for wave, state, channel in (("m1", "planned", "sms"), ("m6", "invited", "sms"), ("m12", "planned", "phone")):
        follow_up = make_follow_up(returnee, wave, state=state, channel=channel, opens=today - timedelta(days=12))
        if state == "invited":
            follow_up.invited_at = invited_at
    db.session.commit()
    dispatch(datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=9))
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SmsMessage)) == 0
    assert set(db.session.scalars(select(FollowUp.disposition))) == {"2.11"}
    assert "GE-E-001" not in staff.get("/worklist/").get_data(as_text=True)
    # Nobody gives it consent again, edits it or interviews it.
    assert staff.post("/returnees/GE-E-001/consent", {"consent-channels": ["sms"], "consent-method": "verbal"}
                      ).status_code == 302
    assert staff.get("/returnees/GE-E-001/edit").status_code == 302
    assert staff.get("/interviews/GE-E-001/m1").status_code == 302
    assert staff.get("/interviews/GE-E-001/m1/correct").status_code == 302
    db.session.expire_all()
    assert len(db.session.get(Returnee, returnee.id).consent_events) == 1
    page = staff.get("/returnees/GE-E-001").get_data(as_text=True)
    assert "Erased" in page and "Record consent" not in page and "Show contact details" not in page
    make_returnee(orgs["caritas"], "GE-E-002", orgs["caritas-ge"])
    db.session.commit()
    listing = staff.get("/returnees/?status=erased").get_data(as_text=True)
    assert "GE-E-001" in listing and "GE-E-002" not in listing


def test_an_import_does_not_bring_an_erased_identity_back(app, orgs):
    returnee = make_returnee(orgs["caritas"], "GE-E-001", orgs["caritas-ge"], name=NAME, phone=PHONE)
    db.session.commit()
    erase_returnee(returnee, reason="request", actor="cli")
    db.session.commit()
    csv = ("code,destination_country,partner,local_partner,return_date,language,channel,phone,consent,name\n"
           f"GE-E-001,GE,caritas,caritas-ge,2026-09-01,ka,sms,{PHONE},yes,{NAME}\n")
    report = import_returnees(csv.encode(), actor="test", filename="r.csv", skip_invalid=True)
    assert [error.message for error in report.errors][0].startswith("case GE-E-001 was erased on")
    db.session.expire_all()
    assert traces(*identity_of(NAME, PHONE)) == set()


def test_the_admin_erases_from_the_case_page_with_a_reason(app, orgs, users, returnees, browser_for):
    admin = browser_for(users["admin"])
    page = admin.get("/returnees/GE-C-001").get_data(as_text=True)
    assert "Erase this case" in page
    assert "Erase this case" not in browser_for(users["caritas-ge"]).get("/returnees/GE-C-001").get_data(as_text=True)
    # Without a reason, or without the code typed: nothing happens, and the page says why.
    for form in ({"erase-confirm_code": "GE-C-001"}, {"erase-reason": "request", "erase-confirm_code": "GE-C-002"}):
        answer = admin.post("/returnees/GE-C-001/erase", form, follow_redirects=True)
        assert answer.status_code == 200
        assert "State the reason" in answer.get_data(as_text=True) or "Type the case" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(Returnee.erased_at).where(Returnee.code == "GE-C-001")) is None
    answer = admin.post("/returnees/GE-C-001/erase", {"erase-reason": "request under the GDPR",
                                                      "erase-confirm_code": "ge-c-001", "erase-with_answers": "y"},
                        follow_redirects=True)
    assert "identity was erased" in answer.get_data(as_text=True)
    db.session.expire_all()
    erased = db.session.scalar(select(Returnee).where(Returnee.code == "GE-C-001"))
    assert erased.erased_at is not None and erased.name is None and erased.phone is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "returnee.erase"))
    assert (entry.user_id, entry.details["reason"], entry.details["with_answers"]) == \
        (users["admin"].id, "request under the GDPR", True)
    # A partner cannot erase, not even their own case.
    assert browser_for(users["caritas-ge"]).post("/returnees/GE-C-002/erase", {
        "erase-reason": "x", "erase-confirm_code": "GE-C-002"}).status_code == 403


def test_erase_pressed_several_times_at_once_erases_once(app, users, returnees, server):
    opener = _logged_in(server, users["admin"].email)
    page = opener.open(f"{server}/returnees/GE-C-001").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": csrf, "erase-reason": "request", "erase-confirm_code": "GE-C-001"}).encode()
    statuses = _at_once(opener, f"{server}/returnees/GE-C-001/erase", body)
    assert sorted(statuses) == [302] * 6, sorted(statuses)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "returnee.erase")) == 1
    assert db.session.scalar(select(Returnee.erased_at).where(Returnee.code == "GE-C-001")) is not None


def test_monitor_erase(app, orgs, users):
    returnee = a_case_with_identity_everywhere(orgs, users)
    result = invoke(app, "erase", "GE-E-001")
    assert result.exit_code != 0 and "--reason" in result.output  # the reason is required
    result = invoke(app, "erase", "NOPE", "--reason", "request", "--yes")
    assert result.exit_code == 1 and "no case 'NOPE'" in result.output
    result = invoke(app, "erase", "GE-E-001", "--reason", "request")  # asks, and "no" changes nothing
    assert result.exit_code == 1 and "Aborted" in result.output
    db.session.expire_all()
    assert db.session.get(Returnee, returnee.id).erased_at is None
    result = invoke(app, "erase", "GE-E-001", "--reason", "request", "--yes")
    assert result.exit_code == 0 and result.output.startswith("erased GE-E-001: 2 text messages"), result.output
    result = invoke(app, "erase", "GE-E-001", "--reason", "request", "--yes", "--with-answers")
    assert result.exit_code == 0 and "1 responses deleted now" in result.output, result.output
    db.session.expire_all()
    assert traces(*identity_of(NAME, PHONE)) == set()
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert db.session.scalar(select(FollowUp.disposition).where(FollowUp.wave == "m1")) == "1.1"


# -- retention ------------------------------------------------------------------------------------

def test_months_before():
    assert months_before(date(2028, 6, 15), 12) == date(2027, 6, 15)
    assert months_before(date(2028, 3, 31), 1) == date(2028, 2, 29)
    assert months_before(date(2028, 1, 10), 13) == date(2026, 12, 10)
    assert months_before(date(2027, 12, 31), 0) == date(2027, 12, 31)


TODAY = date(2028, 6, 15)


def test_retention_purges_exactly_the_cases_past_the_limit(app, orgs):
    cutoff = months_before(TODAY, 12)  # the last wave must have closed before this day
    span = timedelta(days=last_wave_days())
    assert span == timedelta(days=410)  # m12: due 365 days after return, closes 45 days later

    def case(code, last_closed, **values):
        returnee = make_returnee(orgs["caritas"], code, orgs["caritas-ge"], return_date=last_closed - span,
                                 **{"name": f"Name {code}", "phone": f"+99559900{len(cases):04d}", **values})
        cases.append(returnee)
        return returnee

    cases: list[Returnee] = []
    case("PAST", cutoff - timedelta(days=90))
    case("JUST-PAST", cutoff - timedelta(days=1))
    case("ON-THE-DAY", cutoff)  # closed exactly 12 months ago: kept one more day
    case("RECENT", cutoff + timedelta(days=30))
    late = case("LATE-FOLLOW-UP", cutoff - timedelta(days=90))  # a follow-up whose window closed later
    still_open = case("OPEN", cutoff - timedelta(days=90))
    case("NO-IDENTITY", cutoff - timedelta(days=90), consent=False, name=None, phone=None, preferred_channel="none")
    erased = case("ERASED", cutoff - timedelta(days=90))
    db.session.flush()
    make_follow_up(late, "m12", state="closed", opens=cutoff - timedelta(days=10), closes=cutoff + timedelta(days=5))
    make_follow_up(still_open, "m12", state="phone_task", opens=cutoff - timedelta(days=300))
    erase_returnee(erased, reason="request", actor="cli")
    db.session.commit()

    assert purge_expired(TODAY, 12, dry_run=True).codes == ["PAST", "JUST-PAST"]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "returnee.purge")) == 0
    report = purge_expired(TODAY, 12)
    assert report.codes == ["PAST", "JUST-PAST"]
    db.session.expire_all()
    kept = {r.code: (r.name, r.erased_at is not None) for r in db.session.scalars(select(Returnee))}
    assert kept == {"PAST": (None, True), "JUST-PAST": (None, True), "ON-THE-DAY": ("Name ON-THE-DAY", False),
                    "RECENT": ("Name RECENT", False), "LATE-FOLLOW-UP": ("Name LATE-FOLLOW-UP", False),
                    "OPEN": ("Name OPEN", False), "NO-IDENTITY": (None, False), "ERASED": (None, True)}
    purges = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "returnee.purge")
                                .order_by(AuditEntry.id)).all()
    assert [(e.object_id, e.actor, e.details["months"]) for e in purges] == [("PAST", "scheduler", 12),
                                                                            ("JUST-PAST", "scheduler", 12)]
    assert traces("Name PAST", "Name JUST-PAST") == set()
    # The next day, the case whose last wave closed on the cutoff goes too; the rest stay.
    assert purge_expired(TODAY + timedelta(days=1), 12).codes == ["ON-THE-DAY"]
    assert purge_expired(TODAY + timedelta(days=1), 12).codes == []


def test_the_scheduler_and_the_command_line_purge_with_retention_months(app, orgs, monkeypatch):
    from scheduler import runner
    from scheduler.clock import FixedClock

    span = timedelta(days=last_wave_days())
    make_returnee(orgs["caritas"], "OLD", return_date=date(2026, 1, 1) - span)  # last wave closed 1 January 2026
    make_returnee(orgs["caritas"], "YOUNGER", return_date=date(2026, 6, 1) - span, phone=OTHER_PHONE)
    db.session.commit()
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", 6)
    result = invoke(app, "purge-expired", "--today", "2026-11-15", "--dry-run")
    assert result.exit_code == 0 and result.output.splitlines() == [
        "would purge OLD", "1 cases to purge (retention: 6 months after the last wave closed)"], result.output
    monkeypatch.setattr(runner, "_app", app)
    monkeypatch.setattr(runner, "_clock", FixedClock(datetime(2026, 11, 15, 3, 0, tzinfo=timezone.utc)))
    runner.run_retention()
    db.session.expire_all()
    assert {r.code: r.erased_at is not None for r in db.session.scalars(select(Returnee))} == {"OLD": True, "YOUNGER": False}
    result = invoke(app, "purge-expired", "--today", "2026-12-15")
    assert result.exit_code == 0 and result.output.splitlines()[0] == "purged YOUNGER", result.output
    assert invoke(app, "purge-expired", "--today", "not-a-day").exit_code == 2


def test_retention_months_must_be_a_whole_number_of_at_least_one(tmp_path):
    from monitor.config import ConfigError, load_config

    assert load_config({}, tmp_path)["RETENTION_MONTHS"] == 12
    assert load_config({"RETENTION_MONTHS": "24"}, tmp_path)["RETENTION_MONTHS"] == 24
    for wrong in ("0", "-3", "twelve", "1.5"):
        with pytest.raises(ConfigError, match="RETENTION_MONTHS"):
            load_config({"RETENTION_MONTHS": wrong}, tmp_path)


# -- consent history --------------------------------------------------------------------------------

def test_the_consent_history_shows_every_grant_withdrawal_stop_and_start(app, orgs, users, browser_for):
    from monitor.followups.operations import record_sms_failure

    returnee = make_returnee(orgs["caritas"], "GE-C-001", orgs["caritas-ge"])
    db.session.commit()
    opt_out(returnee, actor="returnee", via="sms")
    opt_in(returnee, actor="returnee")
    opt_out(returnee, actor="returnee", via="link")
    db.session.commit()
    operations.give_consent(returnee, ["phone"], "verbal", user=users["caritas-ge"])
    operations.withdraw_consent(returnee, "verbal", user=users["caritas-ge"])
    db.session.add(SmsMessage(returnee_id=returnee.id, kind="invitation", to=PHONE, body="x", status="sent"))
    db.session.commit()
    operations.give_consent(returnee, ["sms"], "written", user=users["caritas-ge"])
    record_sms_failure(db.session.scalar(select(SmsMessage)), "21610")
    db.session.commit()
    events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert [(e.kind, e.channels, e.method) for e in events] == [
        ("given", "phone sms", "written"), ("stop", "", "sms"), ("start", "", "sms"), ("stop", "", "link"),
        ("given", "phone", "verbal"), ("withdrawn", "phone", "verbal"), ("given", "sms", "written"),
        ("stop", "", "carrier")]
    page = browser_for(users["caritas-ge"]).get("/returnees/GE-C-001").get_data(as_text=True)
    history = page[page.index("Consent history"):]
    for text in ("STOP: no contact by any channel", "START: contact allowed again", "Text message from the returnee",
                 "Opt-out on the questionnaire page", "Reported by the carrier (Twilio)", "Consent withdrawn",
                 "staff@caritas-ge.example", "The returnee", "Verbal, noted by staff"):
        assert text in history, text
    assert history.count("STOP: no contact by any channel") == 3


# -- the data-protection page -----------------------------------------------------------------------

def test_the_data_protection_page_lists_what_is_stored_and_the_erasures(app, orgs, users, browser_for):
    from monitor.admin.dataprotection import listed_columns

    returnee = make_returnee(orgs["caritas"], "GE-C-001", orgs["caritas-ge"])
    make_returnee(orgs["caritas"], "OLD", return_date=date(2020, 1, 1), phone=OTHER_PHONE)
    db.session.commit()
    erase_returnee(returnee, reason="request of the returnee", actor="cli")
    db.session.commit()
    page = html.unescape(browser_for(users["admin"]).get("/admin/data-protection").get_data(as_text=True))
    for text in ("Name and phone number", "returnees.name, returnees.phone, returnees.phone_lookup",
                 "Until 12 months after the case", "12 months after the case's last wave closes (RETENTION_MONTHS)",
                 "Erase a case's identity", "Case erased (identity removed)", "GE-C-001", "request of the returnee"):
        assert text in page, text
    facts = re.sub(r"\s+", " ", page[page.index('id="retention"'):page.index('id="access"')])
    assert "to be purged at the next run</dt><dd>1</dd>" in facts and "Cases erased or purged</dt><dd>1</dd>" in facts
    # Every column that holds identity (encrypted, or a keyed hash) is in the inventory.
    identity = {f"{table.name}.{column.name}" for table in db.metadata.sorted_tables for column in table.columns
                if isinstance(column.type, EncryptedText) or column.name.endswith(("_lookup", "_hash"))}
    identity -= {"users.password_hash", "api_tokens.token_hash"}  # staff's, not returnees'
    assert identity <= listed_columns(), identity - listed_columns()
    assert "survey_links.token_hash" in identity and "attention_items.note" in identity


def test_every_permission_is_named_for_the_data_protection_page():
    from monitor import codes
    from monitor.access import PERMISSIONS

    assert set(PERMISSIONS) == set(codes.PERMISSIONS)
