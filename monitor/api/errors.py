"""API errors as JSON, never a page: `{"code": 400, "status": "Bad Request", "message": "...",
"errors": {...}}` (flask-smorest's error shape, which the OpenAPI document describes)."""
from __future__ import annotations

from http import HTTPStatus

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


def is_api_request() -> bool:
    return has_request_context() and request.path.startswith("/api/")


def _default_message(status: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Log in, or send an API token: Authorization: Bearer <token>."),
        403: _("Your account does not give access to this."),
        404: _("There is no such address in the API."),
        405: _("This address answers GET requests only."),
        429: _("Too many requests in a short time: wait a minute and try again."),
    }
    return messages.get(status, _("Something went wrong. The error has been logged."))


def json_error(status: int, message: str | None = None, errors=None, headers=None):
    payload = {"code": status, "status": HTTPStatus(status).phrase, "message": message or _default_message(status)}
    if errors:
        payload["errors"] = errors
    response = current_app.json.response(payload)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException):
    """An abort (flask-smorest's, with a message or the parameters' errors) or a routing error."""
    data = getattr(error, "data", None) or {}
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    errors = data.get("errors") or data.get("messages")
    message = data.get("message")
    if message is None and errors:
        message = _("The parameters are not valid: see errors.")
    return json_error(error.code or 500, message, errors, headers)
