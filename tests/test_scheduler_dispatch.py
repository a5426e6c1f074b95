"""Dispatch (scheduler/dispatch.py) on both databases, with explicit moments and the console
backend (and the fake Twilio for Twilio's error codes): invitations and reminders, quiet hours,
the weekly cap, phone tasks, refusals closing as 2.11, window closing as 2.20, failed messages
counted as attempts up to the maximum, unusable numbers, the event trail, and the outbox's
guarantees (never twice, crash-safe, two dispatchers at once)."""
from __future__ import annotations

import re
import threading
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select, update

from monitor.extensions import db
from monitor.followups.links import token_hash
from monitor.followups.operations import mark_contacted, opt_out
from monitor.models import ContactAttempt, ContactSettings, FollowUp, FollowUpEvent, SmsMessage, SurveyLink, Wave
from monitor.returnees import operations
from monitor.sms.backends import ConsoleBackend, SendResult
from monitor.sms.texts import invitation_text
from scheduler.dispatch import decide, dispatch
from scheduler.planning import plan
from surveys.translation import LANGUAGES
from tests.conftest import make_returnee
from tests.fake_twilio import FakeTwilio
from tests.scheduler_helpers import count, events, follow_up_of, messages

UTC = timezone.utc
# make_returnee's default return date is 2026-09-01: the one-month window is 1 to 31 October 2026.
PLAN_DAY = date(2026, 10, 1)
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)  # noon in Tbilisi (UTC+4)
WINDOW_END = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def sent(monkeypatch):
    """The ids of the messages the (console) backend was asked to send, in order."""
    calls, lock = [], threading.Lock()
    original = ConsoleBackend.send

    def send(self, message_id, to, body):
        with lock:
            calls.append(message_id)
        return original(self, message_id, to, body)

    monkeypatch.setattr(ConsoleBackend, "send", send)
    return calls


def case(orgs, code="GE-C-001", partner="caritas", local="caritas-ge", **values):
    returnee = make_returnee(orgs[partner], code, orgs[local] if local else None, **values)
    db.session.commit()
    return returnee


def planned_case(orgs, code="GE-C-001", **values):
    returnee = case(orgs, code, **values)
    plan(PLAN_DAY)
    return returnee


def kinds_and_times(returnee) -> list[tuple[str, int, datetime]]:
    db.session.expire_all()
    return [(m.kind, m.sequence, m.created_at) for m in messages(SmsMessage.returnee_id == returnee.id)]


# -- the invitation -----------------------------------------------------------------------------

def test_an_invitation_is_queued_and_sent_with_a_personal_link(app, orgs, sent, browser_for):
    # Dates from today: the link must still be open when the test opens it.
    today = datetime.now(UTC).date()
    orgs["caritas-ge"].sender_name = "Caritas Tbilisi"
    returnee = case(orgs, return_date=today - timedelta(days=30), language="en")
    plan(today)
    now = datetime.combine(today, time(8, 0), tzinfo=UTC)

    report = dispatch(now)
    assert report.counts == {"invite": 1, "sent": 1}

    [message] = messages()
    assert (message.kind, message.sequence, message.status, message.backend) == ("invitation", 0, "sent", "console")
    assert (message.created_at, message.claimed_at, message.sent_at) == (now, now, now)
    assert message.provider_id == f"console-{message.id}" and message.to == "+995555123456"
    assert sent == [message.id]

    body = message.body
    assert body.startswith("Caritas Tbilisi: ")  # the local partner the returnee knows
    assert "Nino" not in body and "Beridze" not in body
    assert "return" not in body.lower() and "migra" not in body.lower()
    base = app.config["PUBLIC_BASE_URL"]
    match = re.search(re.escape(base) + r"/s/([A-Za-z0-9_-]+)$", body)
    assert match, body
    token = match.group(1)
    link = db.session.scalar(select(SurveyLink).where(SurveyLink.token_hash == token_hash(token)))
    assert (link.returnee_id, link.wave) == (returnee.id, "m1")
    assert link.expires_at == datetime.combine(today + timedelta(days=31), time(0), tzinfo=UTC)
    assert token not in str(link.token_hash)
    assert browser_for().get(f"/s/{token}").status_code == 200
    assert browser_for().get("/s/" + "x" * len(token)).status_code == 404

    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.invited_at) == ("invited", now)
    assert follow_up.next_action_at == now + 3 * DAY  # the first reminder
    assert events(follow_up) == [("invite", "planned", "invited", "scheduler")]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_no_message_text_speaks_of_return_or_migration(language):
    for reminder in (False, True):
        body = invitation_text(language, "Caritas", "https://example.org/s/TOKEN", reminder=reminder).lower()
        assert body.startswith("caritas") and body.endswith("https://example.org/s/token")
        for word in ("return", "migra", "retour", "terug", "belg", "asyl"):
            assert word not in body, (language, body)


def test_nothing_before_the_window_opens(orgs, sent):
    returnee = planned_case(orgs)
    assert dispatch(datetime(2026, 9, 30, 12, 0, tzinfo=UTC)).lines() == ["nothing to do"]
    assert messages() == [] and sent == []
    assert follow_up_of(returnee).state == "planned"


# -- quiet hours --------------------------------------------------------------------------------

def test_quiet_hours_are_kept_in_each_destination_country(orgs, sent):
    made = {country: case(orgs, f"{country}-1", local=None, destination_country=country)
            for country in ("GE", "IQ", "AF", "SN")}
    plan(PLAN_DAY)
    evening = datetime(2026, 10, 1, 17, 0, tzinfo=UTC)  # 21:00 Tbilisi, 20:00 Baghdad, 21:30 Kabul, 17:00 Dakar
    dispatch(evening)
    assert {c: follow_up_of(r).state for c, r in made.items()} == {
        "GE": "planned", "IQ": "planned", "AF": "planned", "SN": "invited"}
    # Each waits for 09:00 where the returnee lives.
    assert {c: follow_up_of(r).next_action_at for c, r in made.items() if c != "SN"} == {
        "GE": datetime(2026, 10, 2, 5, 0, tzinfo=UTC), "IQ": datetime(2026, 10, 2, 6, 0, tzinfo=UTC),
        "AF": datetime(2026, 10, 2, 4, 30, tzinfo=UTC)}

    for moment, now_invited in [(datetime(2026, 10, 2, 4, 29, tzinfo=UTC), set()),
                                (datetime(2026, 10, 2, 4, 30, tzinfo=UTC), {"AF"}),
                                (datetime(2026, 10, 2, 5, 0, tzinfo=UTC), {"GE"}),
                                (datetime(2026, 10, 2, 5, 59, tzinfo=UTC), set()),
                                (datetime(2026, 10, 2, 6, 0, tzinfo=UTC), {"IQ"})]:
        before = {c for c, r in made.items() if follow_up_of(r).state == "invited"}
        dispatch(moment)
        after = {c for c, r in made.items() if follow_up_of(r).state == "invited"}
        assert after - before == now_invited, moment
    sent_at = {c: messages(SmsMessage.returnee_id == r.id)[0].sent_at for c, r in made.items()}
    assert sent_at == {"SN": evening, "AF": datetime(2026, 10, 2, 4, 30, tzinfo=UTC),
                       "GE": datetime(2026, 10, 2, 5, 0, tzinfo=UTC), "IQ": datetime(2026, 10, 2, 6, 0, tzinfo=UTC)}
    assert len(sent) == 4


def test_a_night_on_the_last_day_of_the_window_sends_nothing(orgs, sent):
    returnee = planned_case(orgs)
    dispatch(datetime(2026, 10, 31, 17, 0, tzinfo=UTC))  # 21:00 in Tbilisi on the last day
    follow_up = follow_up_of(returnee)
    assert follow_up.state == "planned" and follow_up.next_action_at == WINDOW_END
    dispatch(WINDOW_END)
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.20")
    assert messages() == [] and sent == []


# -- reminders, the weekly cap, the phone task --------------------------------------------------

def test_reminders_then_the_phone_task_then_the_window_closes(orgs, sent):
    returnee = planned_case(orgs)
    dispatch(T0)
    for moment in (T0 + 3 * DAY - timedelta(hours=1), T0 + 3 * DAY, T0 + 7 * DAY - timedelta(minutes=1), T0 + 7 * DAY,
                   T0 + 10 * DAY, T0 + 14 * DAY - timedelta(minutes=1)):
        dispatch(moment, actor="cli" if moment == T0 + 3 * DAY else "scheduler")
    assert kinds_and_times(returnee) == [("invitation", 0, T0), ("reminder", 1, T0 + 3 * DAY),
                                         ("reminder", 2, T0 + 7 * DAY)]
    reminder = messages(SmsMessage.kind == "reminder")[0]
    assert reminder.body.startswith("Caritas: ") and "/s/" in reminder.body
    assert follow_up_of(returnee).state == "reminded"

    report = dispatch(T0 + 14 * DAY)
    assert report.counts == {"to_phone": 1}
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.reminders_sent) == ("phone_task", 2)
    assert follow_up.next_action_at == WINDOW_END

    dispatch(T0 + 20 * DAY)
    dispatch(WINDOW_END - timedelta(seconds=1))
    assert follow_up_of(returnee).state == "phone_task"
    dispatch(WINDOW_END)
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.closed_at, follow_up.next_action_at) == (
        "closed", "2.20", WINDOW_END, None)
    assert len(messages()) == 3 and len(sent) == 3

    assert events(follow_up) == [
        ("invite", "planned", "invited", "scheduler"),
        ("remind", "invited", "reminded", "cli"),
        ("remind", "reminded", "reminded", "scheduler"),
        ("to_phone", "reminded", "phone_task", "scheduler"),
        ("close", "phone_task", "closed", "scheduler"),
    ]
    trail = db.session.scalars(select(FollowUpEvent).order_by(FollowUpEvent.id)).all()
    assert [e.at for e in trail] == [T0, T0 + 3 * DAY, T0 + 7 * DAY, T0 + 14 * DAY, WINDOW_END]
    assert [e.detail for e in trail] == [None, "reminder 1", "reminder 2", None, "window_closed: 2.20"]


def test_the_configured_phone_delay_is_used(orgs):
    settings = db.session.get(ContactSettings, 1)
    settings.reminder_days, settings.phone_after_days = "", 5
    db.session.commit()
    returnee = planned_case(orgs)
    dispatch(T0)
    assert follow_up_of(returnee).next_action_at == T0 + 5 * DAY
    dispatch(T0 + 5 * DAY - timedelta(minutes=1))
    assert follow_up_of(returnee).state == "invited"
    dispatch(T0 + 5 * DAY)
    assert follow_up_of(returnee).state == "phone_task"
    assert [kind for kind, _, _ in kinds_and_times(returnee)] == ["invitation"]


def test_no_more_than_the_weekly_cap(orgs, sent):
    settings = db.session.get(ContactSettings, 1)
    settings.reminder_days = "1,2,3"  # more reminders than two messages a week allow
    db.session.commit()
    returnee = planned_case(orgs)
    for day in range(15):
        dispatch(T0 + day * DAY)
        if day == 2:  # the second reminder is due, but two messages went out in the last seven days
            follow_up = follow_up_of(returnee)
            assert (follow_up.state, follow_up.reminders_sent) == ("reminded", 1)
            assert follow_up.next_action_at == T0 + 3 * DAY
    times = [created for _, _, created in kinds_and_times(returnee)]
    # The invitation leaves the 7-day window on day 7, the first reminder on day 8.
    assert times == [T0, T0 + DAY, T0 + 7 * DAY, T0 + 8 * DAY]
    for moment in times:
        assert sum(moment - 7 * DAY < other <= moment for other in times) <= 2
    assert follow_up_of(returnee).state == "phone_task"  # after 14 days
    assert len(sent) == 4


def test_the_cap_counts_queued_and_uncertain_messages_not_failed_ones(orgs):
    settings = db.session.get(ContactSettings, 1)
    settings.reminder_days = "1"
    db.session.commit()
    returnee = planned_case(orgs)
    decide(T0)  # queued, never sent (a crash)
    db.session.execute(update(SmsMessage).values(status="unknown"))
    extra = SmsMessage(follow_up_id=None, returnee_id=returnee.id, kind="other", to="+995555123456", body="x",
                       status="sent", created_at=T0)
    db.session.add(extra)
    db.session.commit()
    dispatch(T0 + DAY)
    assert follow_up_of(returnee).reminders_sent == 0  # two in the last week: capped
    extra.status = "failed"
    db.session.commit()
    dispatch(T0 + 2 * DAY)
    assert follow_up_of(returnee).reminders_sent == 1


def test_the_cap_holds_across_a_returnees_follow_ups_in_one_run(orgs, sent):
    # An extra wave configured to overlap the one-month check: both follow-ups are due together.
    db.session.add(Wave(code="m1b", due_days=31, opens_days_before=0, closes_days_after=30, sampled=False,
                        fraction=1.0, min_per_stratum=0, active=True))
    db.session.get(ContactSettings, 1).max_messages_per_week = 1
    db.session.commit()
    returnee = case(orgs)
    plan(date(2026, 10, 2))
    assert count(FollowUp, FollowUp.returnee_id == returnee.id) == 2
    dispatch(T0 + DAY)
    assert len(messages()) == 1 and len(sent) == 1
    states = sorted(f.state for f in db.session.scalars(select(FollowUp)))
    assert states == ["invited", "planned"]


def test_phone_only_returnees_go_straight_to_the_phone_list(orgs, sent):
    phone_only = case(orgs, "PHONE", preferred_channel="phone")
    no_sms_consent = case(orgs, "NO-SMS")
    operations.give_consent(no_sms_consent, ["phone"], "verbal")
    db.session.commit()
    plan(PLAN_DAY)
    dispatch(datetime(2026, 10, 1, 22, 0, tzinfo=UTC))  # at night: a phone task is not a message
    for returnee in (phone_only, no_sms_consent):
        follow_up = follow_up_of(returnee)
        assert follow_up.state == "phone_task" and follow_up.next_action_at == WINDOW_END
        assert events(follow_up) == [("to_phone", "planned", "phone_task", "scheduler")]
    assert messages() == [] and sent == []


# -- never contact someone who may not be contacted ---------------------------------------------

def refuse(returnee, how: str) -> None:
    if how == "withdrawal":
        operations.withdraw_consent(returnee, "verbal", actor="test")
    elif how == "do-not-contact":
        operations.set_do_not_contact(returnee, True, actor="test")
    else:
        opt_out(returnee, actor="test", via="sms")


REASON = {"withdrawal": "withdrew", "do-not-contact": "do_not_contact", "STOP": "stop"}


@pytest.mark.parametrize("how", ["withdrawal", "do-not-contact", "STOP"])
def test_a_refusal_after_planning_closes_as_refusal_and_sends_nothing(orgs, sent, how):
    returnee = planned_case(orgs)
    assert follow_up_of(returnee).state == "planned"
    refuse(returnee, how)
    db.session.commit()
    # The operation closes every open follow-up of the returnee at once, by every channel.
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.next_action_at) == ("closed", "2.11", None)
    assert events(follow_up) == [("close", "planned", "closed", "test")]
    assert follow_up.events[-1].detail.startswith(f"{REASON[how]}: 2.11")

    report = dispatch(T0)
    assert report.lines() == ["nothing to do"]
    for later in (T0 + 3 * DAY, T0 + 14 * DAY, WINDOW_END):
        dispatch(later)
    assert messages() == [] and sent == [] and count(SurveyLink) == 0
    assert follow_up_of(returnee).disposition == "2.11"


@pytest.mark.parametrize("how", ["withdrawal", "do-not-contact", "STOP"])
def test_a_refusal_written_without_closing_is_closed_by_the_dispatcher(orgs, sent, how):
    # A refusal that reached the row without the operation (an older process, a bulk update):
    # the dispatcher closes the follow-up as a refusal before anything is sent.
    returnee = planned_case(orgs)
    values = {"withdrawal": {"consent_withdrawn_at": T0 - DAY}, "do-not-contact": {"do_not_contact": True},
              "STOP": {"opted_out_at": T0 - DAY}}[how]
    db.session.execute(update(type(returnee)).where(type(returnee).id == returnee.id).values(**values))
    db.session.commit()

    report = dispatch(T0)
    assert report.counts == {"close": 1}
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.closed_at, follow_up.next_action_at) == (
        "closed", "2.11", T0, None)
    assert events(follow_up) == [("close", "planned", "closed", "scheduler")]
    assert follow_up.events[-1].detail == f"{REASON[how]}: 2.11"
    assert messages() == [] and sent == [] and count(SurveyLink) == 0
    assert count(FollowUpEvent, FollowUpEvent.to_state == "phone_task") == 0


def test_consent_refused_after_planning_is_never_contacted(orgs, sent):
    returnee = planned_case(orgs)
    operations.give_consent(returnee, [], "verbal")  # asked again: consent refused
    db.session.commit()
    for moment in (T0, T0 + 3 * DAY, T0 + 14 * DAY, WINDOW_END):
        dispatch(moment)
    assert messages() == [] and sent == [] and count(SurveyLink) == 0
    assert count(FollowUpEvent, FollowUpEvent.to_state.in_(("invited", "phone_task"))) == 0
    assert follow_up_of(returnee).state == "closed"


def test_consent_refused_after_planning_closes_as_refusal(orgs, sent):
    returnee = planned_case(orgs)
    operations.give_consent(returnee, [], "verbal")  # asked again: consent refused
    db.session.commit()
    dispatch(T0)
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.11")


def test_a_withdrawal_after_the_invitation_stops_the_reminders(orgs, sent):
    returnee = planned_case(orgs)
    dispatch(T0)
    operations.set_do_not_contact(returnee, True, actor="test")
    db.session.commit()
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.11")
    assert events(follow_up)[-1] == ("close", "invited", "closed", "test")
    dispatch(T0 + 3 * DAY)
    dispatch(T0 + 14 * DAY)
    assert [kind for kind, _, _ in kinds_and_times(returnee)] == ["invitation"] and len(sent) == 1
    assert follow_up_of(returnee).disposition == "2.11"


def test_a_window_that_closes_unused_closes_the_follow_up(orgs, sent):
    returnee = planned_case(orgs)
    report = dispatch(WINDOW_END + 5 * DAY)  # the dispatcher was down for the whole window
    assert report.counts == {"close": 1}
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.closed_at) == ("closed", "2.20", WINDOW_END + 5 * DAY)
    assert events(follow_up) == [("close", "planned", "closed", "scheduler")]
    assert follow_up.events[-1].detail == "window_closed: 2.20"
    assert messages() == [] and sent == []


def test_a_window_that_closes_after_contact_closes_as_contacted_not_completed(orgs, sent):
    returnee = planned_case(orgs)
    dispatch(T0)
    follow_up = follow_up_of(returnee)
    mark_contacted(follow_up, T0 + DAY)  # a consent answer on the link, nothing answered since
    db.session.commit()
    dispatch(WINDOW_END)
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.contacted_at) == ("closed", "2.21", T0 + DAY)
    assert follow_up.events[-1].detail == "window_closed: 2.21"


# -- failed messages are attempts -------------------------------------------------------------

@pytest.fixture
def failing(monkeypatch):
    """The backend refuses every message (with the given error code) while `failing` holds
    numbers, or refuses all when it holds "*"; the ids it was asked to send, in order."""
    refused, calls = set(), []

    def send(self, message_id, to, body):
        calls.append(message_id)
        if "*" in refused or to in refused:
            return SendResult(False, error_code="30008")  # Twilio: unknown delivery error
        return SendResult(True, provider_id=f"console-{message_id}")

    monkeypatch.setattr(ConsoleBackend, "send", send)
    return refused, calls


def test_a_delivery_failure_counts_as_an_attempt(orgs, failing):
    refused, calls = failing
    refused.add("*")
    returnee = planned_case(orgs)
    report = dispatch(T0)
    assert report.counts == {"invite": 1, "failed": 1}
    [message] = messages()
    assert (message.status, message.error_code, message.sent_at) == ("failed", "30008", None)
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.attempts, follow_up.contacted_at) == ("invited", 1, None)
    assert events(follow_up)[-1][:3] == ("attempt", "invited", "invited")
    assert follow_up.events[-1].detail == "sms_failed"
    [attempt] = db.session.scalars(select(ContactAttempt)).all()
    assert (attempt.follow_up_id, attempt.channel, attempt.outcome, attempt.at) == (
        follow_up.id, "sms", "sms_failed", T0)
    # The number is not marked unusable by an ordinary failure, nor the returnee opted out.
    db.session.refresh(returnee)
    assert returnee.phone_unusable_at is None and returnee.opted_out_at is None
    assert calls == [message.id]


@pytest.mark.parametrize("contacted, disposition", [(False, "2.20"), (True, "2.21")])
def test_the_maximum_of_failed_messages_closes_the_follow_up(orgs, failing, contacted, disposition):
    refused, calls = failing
    refused.add("*")
    settings = db.session.get(ContactSettings, 1)
    settings.reminder_days, settings.max_attempts, settings.max_messages_per_week = "1,2,3", 3, 10
    db.session.commit()
    returnee = planned_case(orgs)
    dispatch(T0)  # the invitation fails: attempt 1
    if contacted:
        mark_contacted(follow_up_of(returnee), T0 + timedelta(hours=1))  # answered the consent page, then silence
        db.session.commit()
    dispatch(T0 + DAY)  # the first reminder fails: attempt 2
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.attempts, follow_up.reminders_sent) == ("reminded", 2, 1)
    dispatch(T0 + 2 * DAY)  # the second fails: attempt 3, the maximum
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.attempts) == ("reminded", 3)
    assert follow_up.next_action_at == T0 + 2 * DAY  # the dispatcher looks again at once

    report = dispatch(T0 + 3 * DAY)  # the third reminder is due, but the maximum closes it
    assert report.counts == {"close": 1}
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.closed_at, follow_up.next_action_at) == (
        "closed", disposition, T0 + 3 * DAY, None)
    assert follow_up.events[-1].detail == f"max_attempts: {disposition}"
    assert [e[0] for e in events(follow_up)] == ["invite", "attempt", "remind", "attempt", "remind", "attempt", "close"]
    assert [m.status for m in messages()] == ["failed"] * 3 and len(calls) == 3
    assert count(ContactAttempt) == 3
    for later in (T0 + 7 * DAY, T0 + 14 * DAY, WINDOW_END):
        dispatch(later)
    assert len(calls) == 3 and follow_up_of(returnee).disposition == disposition


def test_failed_messages_do_not_count_against_the_weekly_cap(orgs, failing):
    refused, calls = failing
    refused.add("*")
    settings = db.session.get(ContactSettings, 1)
    settings.reminder_days, settings.max_messages_per_week = "1,2", 1
    db.session.commit()
    returnee = planned_case(orgs)
    for day in range(3):
        dispatch(T0 + day * DAY)
    assert follow_up_of(returnee).reminders_sent == 2 and len(calls) == 3


# -- an unusable number (Twilio 21211) ---------------------------------------------------------

ACCOUNT, TOKEN = "AC" + "1" * 32, "twilio-test-token"
OLD_NUMBER, NEW_NUMBER = "+995555123456", "+995555654321"


@pytest.fixture
def twilio(app, monkeypatch):
    with FakeTwilio() as fake:
        for key, value in {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
                           "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32, "TWILIO_FROM": "",
                           "TWILIO_API_BASE_URL": fake.url}.items():
            monkeypatch.setitem(app.config, key, value)
        yield fake


def later_waves():
    """Two more census waves, two and three months on (windows 31 October and 30 November)."""
    for code, days in (("m2", 60), ("m3", 90)):
        db.session.add(Wave(code=code, due_days=days, opens_days_before=0, closes_days_after=20, sampled=False,
                            fraction=1.0, min_per_stratum=0, active=True))
    db.session.commit()


def test_twilio_21211_marks_the_number_unusable_until_it_is_changed(app, orgs, twilio):
    later_waves()
    twilio.refuse[OLD_NUMBER] = 21211
    returnee = planned_case(orgs)
    report = dispatch(T0)
    assert report.counts.get("failed") == 1 and any("unusable" in what for what in report.counts)
    assert [m["To"] for m in twilio.messages()] == [OLD_NUMBER]
    db.session.expire_all()
    assert returnee.phone_unusable_at == T0
    assert not returnee.may_contact("sms") and not returnee.may_contact("phone")
    assert returnee.may_contact("phone", without_number=True)
    [message] = messages()
    assert (message.status, message.error_code) == ("failed", "21211")
    follow_up = follow_up_of(returnee)
    assert (follow_up.attempts, follow_up.events[-1].detail) == (1, "unusable_number")
    assert db.session.scalar(select(ContactAttempt.outcome)) == "unusable_number"
    # No reminder to a number that does not work: a task for the partner (find a number, visit).
    dispatch(T0 + 3 * DAY)
    assert follow_up_of(returnee).state == "phone_task"
    assert len(twilio.messages()) == 1

    # The next wave: nothing is sent to the unusable number.
    m2_opens = datetime(2026, 10, 31, 8, 0, tzinfo=UTC)
    plan(m2_opens.date())
    dispatch(m2_opens)
    m2 = follow_up_of(returnee, "m2")
    assert m2.state == "phone_task" and events(m2) == [("to_phone", "planned", "phone_task", "scheduler")]
    assert len(twilio.messages()) == 1 and count(SmsMessage) == 1

    # The number is changed: tried again from the next wave.
    changed = operations.update_case(returnee, {"phone": NEW_NUMBER}, actor="test")
    db.session.commit()
    assert changed == ["phone"] and returnee.phone_unusable_at is None and returnee.may_contact("sms")
    m3_opens = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    plan(m3_opens.date())
    report = dispatch(m3_opens)
    assert report.counts.get("sent") == 1
    assert [m["To"] for m in twilio.messages()] == [OLD_NUMBER, NEW_NUMBER]
    assert follow_up_of(returnee, "m3").state == "invited"
    assert messages(SmsMessage.status == "sent")[0].to == NEW_NUMBER


def test_an_unusable_number_without_phone_consent_closes_as_unknown_eligibility(app, orgs, twilio):
    twilio.refuse[OLD_NUMBER] = 21614  # not a mobile number: the same for the follow-up
    returnee = case(orgs)
    operations.give_consent(returnee, ["sms"], "written")
    db.session.commit()
    plan(PLAN_DAY)
    dispatch(T0)
    # Nobody to reach: no phone task without consent for calls; the window closes it.
    dispatch(T0 + 3 * DAY)
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.next_action_at) == ("invited", WINDOW_END)
    assert len(twilio.messages()) == 1
    dispatch(WINDOW_END)
    follow_up = follow_up_of(returnee)
    # Never contacted, the number known not to work: AAPOR's unknown eligibility.
    assert (follow_up.state, follow_up.disposition) == ("closed", "3.90")
    assert follow_up.events[-1].detail == "window_closed: 3.90"


def test_twilio_21610_is_a_stop_that_closes_as_refusal(app, orgs, twilio):
    twilio.refuse[OLD_NUMBER] = 21610
    returnee = planned_case(orgs)
    report = dispatch(T0)
    assert any("opted out" in what for what in report.counts)
    db.session.expire_all()
    assert returnee.opted_out_at == T0 and returnee.refusal == "stop"
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.attempts) == ("closed", "2.11", 1)
    assert follow_up.events[-1].detail.startswith("stop: 2.11")
    dispatch(T0 + 3 * DAY)
    assert len(twilio.messages()) == 1


# -- the outbox: never twice --------------------------------------------------------------------

def test_the_same_dispatch_twice_sends_nothing_twice(orgs, sent):
    made = [case(orgs, f"GE-C-{i}") for i in range(3)]
    plan(PLAN_DAY)
    first = dispatch(T0)
    second = dispatch(T0)
    assert first.counts == {"invite": 3, "sent": 3}
    assert "invite" not in second.counts and "sent" not in second.counts
    assert count(SmsMessage) == 3 and len(sent) == 3 and len(set(sent)) == 3
    for returnee in made:
        assert [e[0] for e in events(follow_up_of(returnee))] == ["invite"]


def test_a_crash_between_recording_and_sending(orgs, sent):
    made = [case(orgs, f"GE-C-{i}") for i in range(3)]
    plan(PLAN_DAY)
    decide(T0)  # ... and the process dies before send_queued
    queued = messages()
    assert [m.status for m in queued] == ["queued"] * 3 and sent == []
    assert all(follow_up_of(r).state == "invited" for r in made)

    report = dispatch(T0 + timedelta(minutes=1))
    assert report.counts.get("sent") == 3 and "invite" not in report.counts
    dispatch(T0 + timedelta(minutes=2))
    db.session.expire_all()
    assert sorted(sent) == sorted(m.id for m in queued)  # each exactly once
    assert [m.status for m in messages()] == ["sent"] * 3 and count(SmsMessage) == 3


def test_a_crash_after_the_claim_is_never_sent_again(orgs, sent):
    old, recent = case(orgs, "OLD"), case(orgs, "RECENT")
    plan(PLAN_DAY)
    decide(T0)
    now = T0 + timedelta(minutes=30)
    # Claimed (sending) by a dispatcher that died before it marked them: one long ago, one just now.
    db.session.execute(update(SmsMessage).where(SmsMessage.returnee_id == old.id)
                       .values(status="sending", claimed_at=T0, backend="console"))
    db.session.execute(update(SmsMessage).where(SmsMessage.returnee_id == recent.id)
                       .values(status="sending", claimed_at=now - timedelta(minutes=5), backend="console"))
    db.session.commit()

    report = dispatch(now)
    assert report.counts.get("uncertain messages marked unknown") == 1 and "sent" not in report.counts
    db.session.expire_all()
    assert {m.returnee_id: m.status for m in messages()} == {old.id: "unknown", recent.id: "sending"}
    assert sent == []

    dispatch(now + timedelta(minutes=10))  # the recent claim is now old too
    dispatch(now + timedelta(hours=1))
    db.session.expire_all()
    assert {m.returnee_id: m.status for m in messages()} == {old.id: "unknown", recent.id: "unknown"}
    assert sent == [] and count(SmsMessage) == 2
    assert [e[0] for e in events(follow_up_of(old))] == ["invite"]


@pytest.mark.parametrize("how", ["withdrawal", "do-not-contact", "STOP", "STOP written on the row"])
def test_a_message_queued_before_a_withdrawal_is_not_sent_after_a_crash(orgs, sent, how):
    returnee = planned_case(orgs)
    decide(T0)  # queued; the process dies before sending
    if how == "STOP written on the row":
        returnee.opted_out_at = T0 + timedelta(minutes=5)
    else:
        refuse(returnee, how)
    db.session.commit()
    report = dispatch(T0 + timedelta(hours=1))
    assert sent == [] and "sent" not in report.counts
    # A refusal recorded through the operations cancels the queued message at once; one written
    # straight on the row is caught by the dispatcher's check before sending.
    assert report.counts.get("cancelled (no longer allowed)") == (1 if how == "STOP written on the row" else None)
    db.session.expire_all()
    assert [m.status for m in messages()] == ["cancelled"]
    follow_up = follow_up_of(returnee)
    # STOP holds across channels: closed as a refusal, not moved to the phone list.
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.11")
    assert "to_phone" not in [e[0] for e in events(follow_up)]
    dispatch(T0 + DAY)
    assert sent == []


def test_a_message_queued_before_a_crash_waits_for_the_morning(orgs, sent):
    returnee = planned_case(orgs)
    decide(T0)  # queued at noon in Tbilisi; the dispatcher comes back at 23:00 local
    report = dispatch(datetime(2026, 10, 1, 19, 0, tzinfo=UTC))
    assert sent == [] and "sent" not in report.counts
    assert [m.status for m in messages()] == ["queued"]
    dispatch(datetime(2026, 10, 2, 4, 59, tzinfo=UTC))
    assert sent == []
    morning = datetime(2026, 10, 2, 5, 0, tzinfo=UTC)
    dispatch(morning)
    db.session.expire_all()
    [message] = messages()
    assert (message.status, message.sent_at) == ("sent", morning) and sent == [message.id]
    assert follow_up_of(returnee).state == "invited"


def test_a_cancelled_message_does_not_count_against_the_weekly_cap(orgs):
    settings = db.session.get(ContactSettings, 1)
    settings.reminder_days = "1"
    settings.max_messages_per_week = 1
    db.session.commit()
    returnee = planned_case(orgs)
    dispatch(T0)
    db.session.execute(update(SmsMessage).values(status="cancelled"))
    db.session.commit()
    dispatch(T0 + DAY)
    assert follow_up_of(returnee).reminders_sent == 1


def test_a_follow_up_moved_by_someone_else_meanwhile_is_left_to_them(app, orgs, sent, monkeypatch):
    if app.config["DB_BACKEND"] == "postgresql":
        pytest.skip("on PostgreSQL the row lock (FOR UPDATE) keeps others out while decide works")
    returnee = planned_case(orgs)
    follow_up_id = follow_up_of(returnee).id
    db.session.commit()
    import scheduler.dispatch as dispatch_module

    original, moved = dispatch_module.next_action, []

    def next_action_while_another_writes(view, rules, now):
        if not moved:  # another process (a second dispatcher, a staff form) changes the row first
            with db.engine.begin() as conn:
                conn.execute(update(FollowUp).where(FollowUp.id == follow_up_id)
                             .values(version=FollowUp.version + 1, state="phone_task"))
            moved.append(True)
        return original(view, rules, now)

    monkeypatch.setattr(dispatch_module, "next_action", next_action_while_another_writes)
    report = dispatch(T0)  # must not raise: the other writer's change stands
    assert report.counts.get("skipped (moved by another dispatcher)") == 1
    assert messages() == [] and sent == [] and count(SurveyLink) == 0
    db.session.expire_all()
    follow_up = follow_up_of(returnee)
    # The second pass of the same run saw the other writer's state and only set its next look.
    assert (follow_up.state, follow_up.next_action_at) == ("phone_task", WINDOW_END)
    assert events(follow_up) == []


def test_two_dispatchers_at_once(app, orgs, sent, monkeypatch):
    if app.config["DB_BACKEND"] != "postgresql":
        pytest.skip("SQLite serialises writers: concurrent dispatchers are a PostgreSQL deployment")
    monkeypatch.setattr("scheduler.dispatch.BATCH", 5)  # many small batches: the two interleave
    made = [case(orgs, f"GE-C-{i:03}").id for i in range(60)]
    plan(PLAN_DAY)
    db.session.remove()  # nothing of the test's session in the way

    start, reports, errors = threading.Barrier(2), [], []

    def run():
        try:
            with app.app_context():
                start.wait(timeout=10)
                reports.append(dispatch(T0))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(reports) == 2

    assert count(SmsMessage) == len(made)
    assert len(sent) == len(made) and len(set(sent)) == len(made)
    assert sum(r.counts.get("invite", 0) for r in reports) == len(made)
    assert sum(r.counts.get("sent", 0) for r in reports) == len(made)
    # SKIP LOCKED shares the work out: neither ever moved a follow-up the other had (no stale write).
    assert not any("skipped (moved by another dispatcher)" in r.counts for r in reports)
    for returnee_id in made:
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee_id))
        assert [e[0] for e in events(follow_up)] == ["invite"]
        own = messages(SmsMessage.follow_up_id == follow_up.id)
        assert [(m.kind, m.status) for m in own] == [("invitation", "sent")]


def test_what_waits_for_sending_hours_is_said_on_the_outbox_and_the_plan(orgs, users, browser_for, monkeypatch):
    """A first start at night: every destination is outside its sending hours, the outbox is
    empty, and the outbox and the plan page say what waits and until when, in local time and
    in UTC."""
    from scheduler.dispatch import held_by_sending_hours

    made = {country: case(orgs, f"{country}-1", local=None, destination_country=country)
            for country in ("GE", "AF", "SN")}
    case(orgs, "GE-2", local=None, destination_country="GE")
    case(orgs, "GE-3", local=None, destination_country="GE", preferred_channel="phone")  # called, not texted
    plan(PLAN_DAY)
    evening = datetime(2026, 10, 1, 17, 0, tzinfo=UTC)  # 21:00 Tbilisi, 21:30 Kabul, 17:00 Dakar
    dispatch(evening)
    assert follow_up_of(made["SN"]).state == "invited"  # Dakar was in its sending hours
    # a reminder queued before the night fell in Kabul (a crash, say): held, counted apart
    db.session.add(SmsMessage(follow_up_id=follow_up_of(made["AF"]).id, returnee_id=made["AF"].id, kind="reminder",
                              sequence=1, to=made["AF"].phone, body="x", status="queued", created_at=evening))
    db.session.commit()
    night = datetime(2026, 10, 1, 23, 0, tzinfo=UTC)  # 03:00 Tbilisi, 02:30 Kabul, 23:00 Dakar
    held = held_by_sending_hours(night)
    assert [(h.country, h.invitations, h.reminders, h.opens_at) for h in held] == [
        ("AF", 1, 1, datetime(2026, 10, 2, 4, 30, tzinfo=UTC)), ("GE", 2, 0, datetime(2026, 10, 2, 5, 0, tzinfo=UTC))]
    assert held_by_sending_hours(datetime(2026, 10, 2, 12, 0, tzinfo=UTC)) == []  # daytime everywhere

    import monitor.admin.controllers as admin_pages
    monkeypatch.setattr(admin_pages, "utcnow", lambda: night)
    browser = browser_for(users["admin"])
    for page in (browser.get("/admin/outbox"), browser.get("/admin/plan")):
        text = re.sub(r"\s+", " ", page.get_data(as_text=True))
        assert page.status_code == 200
        assert "2 invitations wait for sending hours in Georgia, from 9:00 AM local time, 5:00 AM UTC." in text
        assert "1 invitation waits for sending hours in Afghanistan, from 9:00 AM local time, 4:30 AM UTC." in text
        assert "1 reminder waits for sending hours in Afghanistan, from 9:00 AM local time, 4:30 AM UTC." in text
        assert "Senegal" not in text.split("Waiting for sending hours")[1].split("</ul>")[0]
