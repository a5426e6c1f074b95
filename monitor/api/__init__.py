"""/api/v1/: the dashboard's reports as JSON for other systems, with the filters and numbers of
`monitor report`, described by an OpenAPI document that flask-smorest writes from the code
(/api/v1/openapi.json). A request acts for the logged-in user or for the user of its API token
(`Authorization: Bearer <token>`, made on the account page); errors are JSON."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

API_PREFIX = "/api/v1"


class _Api(Api):
    def _register_error_handlers(self):
        """The app's own error handler answers: JSON under /api/ (monitor.api.errors), a page
        elsewhere; flask-smorest's would answer every page of the app in JSON."""


def init_api(app: Flask) -> Api:
    from monitor.api.blueprint import bp

    app.config.update({
        "API_TITLE": "Return monitor",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": API_PREFIX,
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {"description": (
                "The figures of the sustainability dashboard (`monitor report`): caseload, response, attrition, "
                "modes, outcomes, how they heard, decision factors, trends. Log in (the session cookie) or send "
                "a personal API token made on the account page: `Authorization: Bearer <token>`. A request acts "
                "with its user's role and organisation: partner staff see their organisation's figures.")},
            "security": [{"bearerToken": []}, {"session": []}],
        },
    })
    api = _Api(app)
    api.spec.components.security_scheme("bearerToken", {
        "type": "http", "scheme": "bearer", "description": "A personal API token, made on the account page."})
    api.spec.components.security_scheme("session", {
        "type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"],
        "description": "The login session of the staff pages."})
    api.register_blueprint(bp)
    return api
