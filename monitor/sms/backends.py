"""SMS backends behind one interface. `console` keeps messages in the outbox (the admin page
Outbox shows them) and logs that one was sent, never its text or number."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

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


def backend():
    name = current_app.config["SMS_BACKEND"]
    if name == "console":
        return ConsoleBackend()
    raise RuntimeError(f"SMS backend {name!r} is not available yet")
