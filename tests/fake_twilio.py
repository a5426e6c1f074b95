"""A small fake of Twilio's REST API on 127.0.0.1, for the real Twilio SDK to talk HTTP to
(through TWILIO_API_BASE_URL). It records what it receives and answers like Twilio, with
Twilio's error payloads for the numbers it is told to refuse."""
from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")

ERRORS = {
    21610: "Attempt to send to unsubscribed recipient",
    21211: "The 'To' number is not a valid phone number.",
    21614: "'To' number is not a valid mobile number",
}


class FakeTwilio:
    def __init__(self):
        self.requests: list[dict] = []
        self.refuse: dict[str, int] = {}  # To number -> Twilio error code
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                match = _MESSAGES.match(self.path)
                with fake.lock:
                    fake.requests.append({"path": self.path, "form": form,
                                          "authorization": self.headers.get("Authorization", "")})
                if not match:
                    return self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                code = fake.refuse.get(form.get("To", ""))
                if code:
                    return self._answer(400, {"code": code, "message": ERRORS[code], "status": 400,
                                              "more_info": f"https://www.twilio.com/docs/errors/{code}"})
                sid = "SM" + secrets.token_hex(16)
                self._answer(201, {"sid": sid, "account_sid": match["account"], "to": form.get("To"),
                                   "body": form.get("Body"), "status": "accepted" if form.get("MessagingServiceSid")
                                   else "queued", "messaging_service_sid": form.get("MessagingServiceSid"),
                                   "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
                                   "uri": f"/2010-04-01/Accounts/{match['account']}/Messages/{sid}.json"})

            def _answer(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def messages(self) -> list[dict]:
        return [r["form"] for r in self.requests if r["path"].endswith("/Messages.json")]
