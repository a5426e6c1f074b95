"""Twilio's webhooks: delivery status callbacks and the texts returnees send back.

Every request must carry a valid X-Twilio-Signature, computed over the public URL (built from
PUBLIC_BASE_URL, so it holds behind a proxy); anything else gets 403. These two routes alone are
exempt from CSRF: the signature is their protection.
"""
from __future__ import annotations

from functools import wraps
from xml.sax.saxutils import escape

from flask import Blueprint, abort, current_app, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from monitor.extensions import cipher, csrf, db
from monitor.followups.operations import opt_in, opt_out, record_sms_failure, retrying_stale
from monitor.models import InboundMessage, Returnee, SmsMessage
from monitor.models.types import utcnow
from monitor.returnees.parsing import InvalidValue, parse_phone
from monitor.sms.texts import keyword, reply_text
from monitor.web_input import without_control_characters

bp = Blueprint("sms", __name__, url_prefix="/sms")

# Twilio's message statuses in the order they can follow each other; a callback never moves a
# message back (callbacks arrive duplicated and out of order).
_RANK = {"queued": 0, "accepted": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3,
         "read": 4}


def signed(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        token = current_app.config.get("TWILIO_AUTH_TOKEN")
        signature = request.headers.get("X-Twilio-Signature", "")
        url = current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")
        if not token or not signature or not RequestValidator(token).validate(url, request.form.to_dict(), signature):
            abort(403)
        return view(*args, **kwargs)
    return csrf.exempt(wrapped)


def _field(name: str, length: int) -> str:
    """A webhook field as stored: control characters stripped (never refused: a STOP must not be
    lost), cut to its column, so the duplicate check compares what is stored."""
    return without_control_characters(request.form.get(name, ""))[:length]


@bp.route("/twilio/status", methods=["POST"])
@signed
def status():
    sid, new = _field("MessageSid", 64), _field("MessageStatus", 20)

    def apply():
        message = db.session.scalar(select(SmsMessage).where(SmsMessage.provider_id == sid)) if sid else None
        if message is not None and new in _RANK and _RANK[new] > _RANK.get(message.status, -1):
            message.status = new
            if _field("ErrorCode", 16):
                message.error_code = _field("ErrorCode", 16)
            if new in ("failed", "undelivered"):  # a delivery failure is an attempt of its follow-up
                record_sms_failure(message, message.error_code, actor="twilio")
            db.session.commit()

    retrying_stale(apply)
    return "", 204


def _twiml(text: str | None):
    body = f"<Message>{escape(text)}</Message>" if text else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>', 200, {"Content-Type": "text/xml"}


@bp.route("/twilio/inbound", methods=["POST"])
@signed
def inbound():
    sid, body = _field("MessageSid", 64), _field("Body", 1600)
    try:
        sender = parse_phone(_field("From", 40), None)
    except InvalidValue:
        sender = None
    if not sid or not sender:
        return _twiml(None)
    lookup = cipher.lookup_hash(sender)
    kind = keyword(body)

    def handle():  # again, from the start, if a follow-up moved meanwhile: a STOP is never lost
        if db.session.scalar(select(InboundMessage.id).where(InboundMessage.provider_id == sid)):
            return None
        returnees = db.session.scalars(select(Returnee).where(Returnee.phone_lookup.in_(cipher.lookup_hashes(sender)))
                                       .order_by(Returnee.id)).all()
        now = utcnow()
        db.session.add(InboundMessage(provider_id=sid, returnee_id=returnees[0].id if returnees else None,
                                      from_lookup=lookup, body=body, kind=kind, received_at=now))
        for returnee in returnees:
            if kind == "stop":  # no contact by any channel any more: open follow-ups close as refusals
                opt_out(returnee, actor="returnee", via="sms", at=now)
            elif kind == "start":
                opt_in(returnee, actor="returnee", at=now)
        db.session.commit()
        return returnees

    returnees = retrying_stale(handle)
    if returnees is None:
        return _twiml(None)  # Twilio retried: already handled
    if not returnees:
        return _twiml(None)
    returnee = returnees[0]
    partner = returnee.local_partner or returnee.partner
    # The partner's own number, in the returnee's country, before the reintegration partner's.
    _name, phone, _email = partner.public_contact
    return _twiml(reply_text(kind, returnee.language, partner.signature,
                             phone or partner.reintegration_partner.contact_phone))
