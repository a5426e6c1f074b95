"""Schemathesis against the API's own OpenAPI document (/api/v1/openapi.json): requests drawn
from the document for every operation, sent with an administrator's API token, on both
databases. No answer is a server error, and every answer is what the document says it is.

Time-bounded: a few examples per operation (the "suite" profile of tests/conftest.py,
derandomised), over a small caseload; requests that fit the document and requests that do not
(those must be refused with the documented 400, never a 500).
"""
from __future__ import annotations

import itertools

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from monitor.auth.tokens import create_token
from monitor.extensions import db


@pytest.fixture
def api_schema(app, users):
    from tests.reports_helpers import add_case

    for partner, country, disposition, wave in (("caritas", "GE", "1.1", "m1"), ("caritas", "GE", "2.11", "m1"),
                                                ("iom", "AM", "1.1", "m6"), ("iom", "AM", "1.2", "m1")):
        add_case(partner, country, disposition, wave=wave, sex="f")
    app.config["API_TEST_TOKEN"] = create_token(users["admin"], "schemathesis")
    db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_the_api_answers_as_its_document_says(app, api_schema):
    # schemathesis' pytest integration does not follow pytest 9: each operation's strategy is
    # run here with Hypothesis directly.
    # identity: the app compresses for a client that accepts it, and the WSGI transport of
    # schemathesis would read brotli as the body.
    headers = {"Authorization": f"Bearer {app.config['API_TEST_TOKEN']}", "Accept-Encoding": "identity"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9  # the index and the eight reports

    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
        @settings(max_examples=5)
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers_as_documented(case):
            with app.app_context():  # each request in an app context of its own, as in a server
                case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        answers_as_documented()
