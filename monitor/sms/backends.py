"""SMS backends behind one interface. `console` keeps messages in the outbox (the admin page
Outbox shows them) and logs that one was sent, never its text or number."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from urllib.parse import urlsplit

from flask import current_app
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger("monitor.sms")


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_id: str | None = None
    error_code: str | None = None


class ConsoleBackend:
    name = "console"

    def send(self, message_id: int, to: str, body: str) -> SendResult:
        log.info("console SMS: message %s queued in the outbox (%s characters)", message_id, len(body))
        return SendResult(True, provider_id=f"console-{message_id}")


class _BaseUrlHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending to TWILIO_API_BASE_URL instead of Twilio's hosts (a
    regional edge, a proxy, or the tests' local fake Twilio)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        return super().request(method, self.base_url + parts.path + (f"?{parts.query}" if parts.query else ""),
                               *args, **kwargs)


class TwilioBackend:
    """The real Twilio Python SDK. Every message carries a status callback URL; an error is
    returned with Twilio's code (21610: the number replied STOP to Twilio; 21211, 21614: the
    number cannot receive SMS), for the dispatcher to act on."""

    name = "twilio"

    def __init__(self, config):
        base_url = config.get("TWILIO_API_BASE_URL")
        http_client = _BaseUrlHttpClient(base_url, timeout=15) if base_url else TwilioHttpClient(timeout=15)
        self.client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=http_client)
        self.sender = ({"messaging_service_sid": config["TWILIO_MESSAGING_SERVICE_SID"]}
                       if config.get("TWILIO_MESSAGING_SERVICE_SID") else {"from_": config["TWILIO_FROM"]})
        self.status_callback = f"{config['PUBLIC_BASE_URL']}/sms/twilio/status"

    def send(self, message_id: int, to: str, body: str) -> SendResult:
        try:
            sent = self.client.messages.create(to=to, body=body, status_callback=self.status_callback, **self.sender)
        except TwilioRestException as error:
            log.warning("Twilio refused message %s: error %s", message_id, error.code)
            return SendResult(False, error_code=str(error.code or error.status))
        except TwilioException as error:  # connection problems and the like
            log.warning("Twilio unreachable for message %s: %s", message_id, type(error).__name__)
            return SendResult(False, error_code="unreachable")
        return SendResult(True, provider_id=sent.sid)


def backend():
    name = current_app.config["SMS_BACKEND"]
    if name == "console":
        return ConsoleBackend()
    return TwilioBackend(current_app.config)
