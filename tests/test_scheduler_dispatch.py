"""Dispatch (scheduler/dispatch.py) on both databases, with explicit moments and the console
backend: invitations and reminders, quiet hours, the weekly cap, phone tasks, cancellation,
window closing, the event trail, and the outbox's guarantees (never twice, crash-safe, two
dispatchers at once)."""
from __future__ import annotations

import re
import threading
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select, update

from monitor.extensions import db
from monitor.models import ContactSettings, FollowUp, FollowUpEvent, SmsMessage, SurveyLink, Wave
from monitor.respond.links import token_hash
from monitor.returnees import operations
from monitor.sms.backends import ConsoleBackend
from monitor.sms.texts import invitation_text
from scheduler.dispatch import decide, dispatch
from scheduler.planning import plan
from surveys.translation import LANGUAGES
from tests.conftest import make_returnee
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
    assert (follow_up.state, follow_up.disposition) == ("closed", "non-contact")
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
        "closed", "non-contact", WINDOW_END, None)
    assert len(messages()) == 3 and len(sent) == 3

    assert events(follow_up) == [
        ("invite", "planned", "invited", "scheduler"),
        ("remind", "invited", "reminded", "cli"),
        ("remind", "reminded", "reminded", "scheduler"),
        ("to_phone", "reminded", "phone_task", "scheduler"),
        ("close_window", "phone_task", "closed", "scheduler"),
    ]
    trail = db.session.scalars(select(FollowUpEvent).order_by(FollowUpEvent.id)).all()
    assert [e.at for e in trail] == [T0, T0 + 3 * DAY, T0 + 7 * DAY, T0 + 14 * DAY, WINDOW_END]
    assert [e.detail for e in trail] == [None, "reminder 1", "reminder 2", None, None]


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

@pytest.mark.parametrize("how", ["withdrawal", "do-not-contact", "consent refused"])
def test_a_withdrawal_after_planning_cancels_and_sends_nothing(orgs, sent, how):
    returnee = planned_case(orgs)
    assert follow_up_of(returnee).state == "planned"
    if how == "withdrawal":
        operations.withdraw_consent(returnee, "verbal", actor="test")
    elif how == "do-not-contact":
        operations.set_do_not_contact(returnee, True, actor="test")
    else:
        operations.give_consent(returnee, [], "verbal")
    db.session.commit()

    report = dispatch(T0)
    assert report.counts == {"cancel": 1}
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.closed_at, follow_up.next_action_at) == (
        "closed", "cancelled", T0, None)
    assert events(follow_up) == [("cancel", "planned", "closed", "scheduler")]
    for later in (T0 + 3 * DAY, T0 + 14 * DAY, WINDOW_END):
        dispatch(later)
    assert messages() == [] and sent == [] and count(SurveyLink) == 0


def test_a_withdrawal_after_the_invitation_stops_the_reminders(orgs, sent):
    returnee = planned_case(orgs)
    dispatch(T0)
    operations.set_do_not_contact(returnee, True, actor="test")
    db.session.commit()
    dispatch(T0 + 3 * DAY)
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition) == ("closed", "cancelled")
    assert events(follow_up)[-1] == ("cancel", "invited", "closed", "scheduler")
    assert [kind for kind, _, _ in kinds_and_times(returnee)] == ["invitation"] and len(sent) == 1


def test_a_window_that_closes_unused_closes_the_follow_up(orgs, sent):
    returnee = planned_case(orgs)
    report = dispatch(WINDOW_END + 5 * DAY)  # the dispatcher was down for the whole window
    assert report.counts == {"close_window": 1}
    follow_up = follow_up_of(returnee)
    assert (follow_up.state, follow_up.disposition, follow_up.closed_at) == (
        "closed", "non-contact", WINDOW_END + 5 * DAY)
    assert events(follow_up) == [("close_window", "planned", "closed", "scheduler")]
    assert messages() == [] and sent == []


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


@pytest.mark.parametrize("how, then", [("withdrawal", "closed"), ("do-not-contact", "closed"), ("STOP", "phone_task")])
def test_a_message_queued_before_a_withdrawal_is_not_sent_after_a_crash(orgs, sent, how, then):
    returnee = planned_case(orgs)
    decide(T0)  # queued; the process dies before sending
    if how == "withdrawal":
        operations.withdraw_consent(returnee, "verbal", actor="test")
    elif how == "do-not-contact":
        operations.set_do_not_contact(returnee, True, actor="test")
    else:
        returnee.sms_opted_out_at = T0 + timedelta(minutes=5)
    db.session.commit()
    report = dispatch(T0 + timedelta(hours=1))
    assert sent == [] and "sent" not in report.counts
    assert report.counts.get("cancelled (no longer allowed)") == 1
    db.session.expire_all()
    assert [m.status for m in messages()] == ["cancelled"]
    assert follow_up_of(returnee).state == then
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
