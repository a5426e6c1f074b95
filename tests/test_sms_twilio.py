"""The SMS channel through the real Twilio SDK, talking HTTP to a fake Twilio on 127.0.0.1, and
Twilio's webhooks signed with the SDK's own RequestValidator."""
from __future__ import annotations

import base64
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from monitor.extensions import db
from monitor.models import FollowUp, InboundMessage, SmsMessage
from scheduler.dispatch import dispatch
from scheduler.planning import plan
from tests.conftest import make_returnee
from tests.fake_twilio import FakeTwilio

ACCOUNT, TOKEN, SERVICE = "AC" + "1" * 32, "twilio-test-token", "MG" + "2" * 32
PUBLIC = "https://monitor.example.org"
TODAY = date.today()
NOON_TBILISI = datetime.combine(TODAY, time(8), tzinfo=timezone.utc)


@pytest.fixture
def twilio(app, monkeypatch):
    with FakeTwilio() as fake:
        for key, value in {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
                           "TWILIO_MESSAGING_SERVICE_SID": SERVICE, "TWILIO_FROM": "",
                           "TWILIO_API_BASE_URL": fake.url, "PUBLIC_BASE_URL": PUBLIC}.items():
            monkeypatch.setitem(app.config, key, value)
        yield fake


def due_returnee(orgs, code="GE-T-001", **values):
    returnee = make_returnee(orgs["caritas"], code, orgs["caritas-ge"], return_date=TODAY - timedelta(days=31), **values)
    db.session.commit()
    return returnee


def signed_post(app, path, form, token=TOKEN, signature=None):
    signature = signature or RequestValidator(token).compute_signature(PUBLIC + path, form)
    with app.app_context():
        return app.test_client().post(path, data=form, headers={"X-Twilio-Signature": signature})


def test_invitation_goes_through_the_twilio_sdk(app, orgs, twilio):
    due_returnee(orgs)
    plan(TODAY)
    report = dispatch(NOON_TBILISI)
    assert report.counts["sent"] == 1
    [sent] = twilio.messages()
    assert sent["To"] == "+995555123456" and sent["MessagingServiceSid"] == SERVICE
    assert sent["StatusCallback"] == f"{PUBLIC}/sms/twilio/status"
    assert re.search(rf"{PUBLIC}/s/[\w-]{{22}}$", sent["Body"]) and "Caritas" in sent["Body"]
    authorization = base64.b64decode(twilio.requests[0]["authorization"].split()[1]).decode()
    assert authorization == f"{ACCOUNT}:{TOKEN}"
    message = db.session.scalar(select(SmsMessage))
    assert message.status == "sent" and message.provider_id.startswith("SM") and message.backend == "twilio"


def test_status_callbacks_only_move_forward(app, orgs, twilio):
    due_returnee(orgs)
    plan(TODAY)
    dispatch(NOON_TBILISI)
    sid = db.session.scalar(select(SmsMessage.provider_id))

    def status():
        db.session.expire_all()
        return db.session.scalar(select(SmsMessage.status))

    assert signed_post(app, "/sms/twilio/status", {"MessageSid": sid, "MessageStatus": "delivered"}).status_code == 204
    assert status() == "delivered"
    signed_post(app, "/sms/twilio/status", {"MessageSid": sid, "MessageStatus": "sent"})  # late, out of order
    signed_post(app, "/sms/twilio/status", {"MessageSid": sid, "MessageStatus": "delivered"})  # duplicated
    assert status() == "delivered"
    signed_post(app, "/sms/twilio/status", {"MessageSid": sid, "MessageStatus": "read"})
    assert status() == "read"


def test_unsigned_and_forged_webhooks_are_refused(app, orgs, twilio):
    due_returnee(orgs)
    form = {"MessageSid": "SM" + "3" * 32, "From": "+995555123456", "Body": "STOP"}
    with app.app_context():
        assert app.test_client().post("/sms/twilio/inbound", data=form).status_code == 403
    assert signed_post(app, "/sms/twilio/inbound", form, token="not-the-token").status_code == 403
    assert signed_post(app, "/sms/twilio/inbound", form, signature="Zm9yZ2Vk").status_code == 403
    # Signed for another URL (the signature covers the public address and the path).
    other = RequestValidator(TOKEN).compute_signature(PUBLIC + "/sms/twilio/status", form)
    assert signed_post(app, "/sms/twilio/inbound", form, signature=other).status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.mark.parametrize("word, language", [("STOP", "ka"), ("stop", "en"), ("СТОП", "ru"), ("Unsubscribe", "en"),
                                            ("توقف", "ar"), ("Arrêt", "fr")])
def test_stop_holds_across_channels(app, orgs, twilio, word, language):
    from surveys.translation import translator
    from monitor.sms.texts import STOP_CONFIRMATION

    returnee = due_returnee(orgs, language=language)
    plan(TODAY)
    reply = signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "4" * 32, "From": "+995555123456",
                                                     "Body": f" {word} "})
    assert reply.status_code == 200 and reply.mimetype == "text/xml"
    expected = translator(language)(STOP_CONFIRMATION, partner="Caritas")
    assert expected.replace("'", "&#x27;") in reply.get_data(as_text=True) or expected in reply.get_data(as_text=True)
    db.session.expire_all()
    db.session.refresh(returnee)
    assert returnee.opted_out_at is not None and not returnee.may_contact("sms") and not returnee.may_contact("phone")
    # The open follow-up closed at once as a refusal: no SMS, no phone task, by any later run.
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.11")
    dispatch(datetime.now(timezone.utc) + timedelta(minutes=1))
    assert twilio.messages() == []
    assert "to_phone" not in [e.transition for e in db.session.scalar(select(FollowUp)).events]


def _waves_after_an_opt_out(app, twilio, returnee, channel="sms"):
    """m1 was refused by an opt-out; m6 is planned and closed 2.11 with no contact by any channel;
    after START, m12 is sent its invitation."""
    m6_opens = returnee.return_date + timedelta(days=182)
    plan(m6_opens)
    dispatch(datetime.combine(m6_opens, time(8), tzinfo=timezone.utc))
    db.session.expire_all()
    m6 = db.session.scalar(select(FollowUp).where(FollowUp.wave == "m6"))
    assert m6.inclusion_probability == 1.0  # in the frame, drawn (a stratum of one)
    assert (m6.state, m6.disposition, m6.contacted_at) == ("closed", "2.11", None)
    assert [e.transition for e in m6.events] == ["close"]  # never invited, never on the phone list
    assert twilio.messages() == [] or all(m["To"] != "+995555123456" for m in twilio.messages()[1:])
    sent_before = len(twilio.messages())
    reply = signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "9" * 32, "From": "+995555123456",
                                                     "Body": "START"})
    assert reply.status_code == 200
    m12_opens = returnee.return_date + timedelta(days=365)
    plan(m12_opens)
    dispatch(datetime.combine(m12_opens, time(8), tzinfo=timezone.utc))
    db.session.expire_all()
    m12 = db.session.scalar(select(FollowUp).where(FollowUp.wave == "m12"))
    if channel == "sms":
        assert m12.state == "invited" and len(twilio.messages()) == sent_before + 1
    else:  # a phone-only returnee is back on the partner's phone list
        assert m12.state == "phone_task" and len(twilio.messages()) == sent_before


@pytest.mark.parametrize("channel", ["sms", "phone"])
def test_stop_by_sms_holds_for_every_channel_and_later_waves_until_start(app, orgs, twilio, channel):
    returnee = due_returnee(orgs, preferred_channel=channel)
    plan(TODAY)
    signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "4" * 32, "From": "+995555123456", "Body": "STOP"})
    dispatch(NOON_TBILISI + timedelta(days=20))  # past the phone task's time
    db.session.expire_all()
    m1 = db.session.scalar(select(FollowUp).where(FollowUp.wave == "m1"))
    assert (m1.state, m1.disposition) == ("closed", "2.11") and twilio.messages() == []
    assert "to_phone" not in [e.transition for e in m1.events]
    _waves_after_an_opt_out(app, twilio, db.session.get(type(returnee), returnee.id), channel)


def test_an_opt_out_reported_by_the_carrier_holds_like_stop(app, orgs, twilio):
    returnee = due_returnee(orgs)
    twilio.refuse["+995555123456"] = 21610
    plan(TODAY)
    dispatch(NOON_TBILISI)
    db.session.expire_all()
    m1 = db.session.scalar(select(FollowUp).where(FollowUp.wave == "m1"))
    assert (m1.state, m1.disposition, m1.attempts) == ("closed", "2.11", 1)
    del twilio.refuse["+995555123456"]
    _waves_after_an_opt_out(app, twilio, db.session.get(type(returnee), returnee.id))


def test_start_help_and_other_texts(app, orgs, twilio):
    returnee = due_returnee(orgs)
    orgs["caritas"].contact_phone = "+3222293611"
    db.session.commit()
    signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "5" * 32, "From": "+995555123456", "Body": "STOP"})
    reply = signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "6" * 32, "From": "+995555123456",
                                                     "Body": "START"})
    db.session.refresh(returnee)
    assert returnee.opted_out_at is None and "<Message>" in reply.get_data(as_text=True)
    reply = signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "7" * 32, "From": "+995555123456",
                                                     "Body": "help"})
    assert "+3222293611" in reply.get_data(as_text=True)
    reply = signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "8" * 32, "From": "+995555123456",
                                                     "Body": "I lost my job, please call me"})
    assert "<Message>" not in reply.get_data(as_text=True)
    # A retried webhook (same MessageSid) is handled once.
    signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "8" * 32, "From": "+995555123456",
                                             "Body": "I lost my job, please call me"})
    db.session.expire_all()
    kinds = db.session.scalars(select(InboundMessage.kind).order_by(InboundMessage.id)).all()
    assert kinds == ["stop", "start", "help", "other"]
    stored = db.session.scalar(select(InboundMessage).where(InboundMessage.kind == "other"))
    assert stored.body == "I lost my job, please call me" and stored.returnee_id == returnee.id
    raw = db.session.execute(db.text("SELECT body FROM inbound_messages WHERE kind = 'other'")).scalar()
    assert "lost my job" not in raw  # encrypted at rest
    # STOP and START are in the case's consent history: when, and that the returnee's text said so.
    events = [(e.kind, e.method, e.recorded_by_id) for e in db.session.get(type(returnee), returnee.id).consent_events]
    assert events == [("given", "written", None), ("stop", "sms", None), ("start", "sms", None)]


@pytest.mark.parametrize("code, outcome, opted_out", [(21610, "opted_out", True), (21211, "unusable_number", False),
                                                      (21614, "unusable_number", False)])
def test_twilio_errors_are_recorded_and_acted_on(app, orgs, twilio, code, outcome, opted_out):
    from monitor.models import ContactAttempt

    returnee = due_returnee(orgs)
    twilio.refuse["+995555123456"] = code
    plan(TODAY)
    report = dispatch(NOON_TBILISI)
    assert report.counts["failed"] == 1
    db.session.expire_all()
    message = db.session.scalar(select(SmsMessage))
    assert (message.status, message.error_code) == ("failed", str(code))
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.attempts == 1
    assert db.session.scalar(select(ContactAttempt.outcome)) == outcome
    returnee = db.session.get(type(returnee), returnee.id)
    assert (returnee.opted_out_at is not None) is opted_out
    assert (returnee.phone_unusable_at is not None) is (not opted_out)
    if opted_out:  # STOP at the carrier: a refusal, no phone task either
        assert (follow_up.state, follow_up.disposition) == ("closed", "2.11")
    else:  # a number that cannot take SMS: the partner phones or finds another number
        dispatch(NOON_TBILISI + timedelta(minutes=1))
        db.session.expire_all()
        assert db.session.scalar(select(FollowUp)).state == "phone_task"
    # Nothing is tried again by SMS.
    dispatch(NOON_TBILISI + timedelta(days=4))
    assert len(twilio.messages()) == 1


def test_a_failed_delivery_reported_by_a_status_callback_counts_as_an_attempt(app, orgs, twilio):
    from monitor.models import ContactAttempt

    due_returnee(orgs)
    plan(TODAY)
    dispatch(NOON_TBILISI)
    sid = db.session.scalar(select(SmsMessage.provider_id))
    form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert signed_post(app, "/sms/twilio/status", form).status_code == 204
    assert signed_post(app, "/sms/twilio/status", form).status_code == 204  # a duplicate counts once
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.attempts == 1 and db.session.scalar(select(ContactAttempt.outcome)) == "sms_failed"


def test_planned_to_sms_to_completed_response_through_the_sdk(app, orgs, twilio):
    """The whole channel: planned, an SMS through the real SDK, its link, a complete response."""
    from tests.test_respond import Phone

    due_returnee(orgs)
    plan(TODAY)
    dispatch(NOON_TBILISI)
    [sent] = twilio.messages()
    token = re.search(r"/s/([\w-]+)$", sent["Body"]).group(1)
    phone = Phone(app, token)
    phone.answer_everything()
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.state, follow_up.disposition) == ("closed", "1.1")
    # The used link thanks and takes no second response.
    page = phone.open().get_data(as_text=True)
    assert 'name="shown"' not in page and 'name="choice"' not in page


def test_link_guessing_is_throttled(app):
    from monitor.extensions import limiter

    limiter.reset()
    client = app.test_client()
    with app.app_context():
        statuses = [client.get(f"/s/guess{n:04d}").status_code for n in range(35)]
    # LINK_GUESS_RATE_LIMIT, 30 failed look-ups a minute per address by default
    assert statuses[:30] == [404] * 30 and statuses[30:] == [429] * 5
