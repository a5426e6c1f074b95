"""Property-based robustness: whatever a file, a phone, an interviewer or Twilio sends, the answer
is a clear one (a line-numbered report, a 4xx page, a 2xx/3xx), never a 500 or a traceback, and
nothing is half-written: an import writes all of its rows or none, a page stores only answers
that are valid for their question, a STOP is never lost.

Hypothesis draws the inputs (the "suite" profile in tests/conftest.py: derandomised, a fixed
number of examples); the examples of one test share its database, so each example makes the
cases it needs under codes of its own. Examples that once failed are kept with @example.
"""
from __future__ import annotations

import csv
import io
import itertools
import re

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import FollowUp, InboundMessage, Response, Returnee
from monitor.responses.operations import stored_answers
from surveys import registry
from tests.conftest import link_for, make_follow_up, make_returnee

_serial = itertools.count(1)

# Text as people and programs send it: any Unicode (surrogates excluded: they cannot be encoded),
# control characters, right-to-left marks, digits from other scripts, very long runs.
# Control characters are refused as a whole (a 400): they come in now and then, not in every draw.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=40)
HUGE_NUMBERS = st.integers(min_value=-10 ** 40, max_value=10 ** 40).map(str)
CELL = st.one_of(ANY_TEXT, HUGE_NUMBERS, st.sampled_from(["", " ", "\u200f", "٣", "1e309", "NaN", "-0", "０", "a\x00b",
                                                         "\r\n", "9" * 5000]))


def _fingerprint(*tables: str) -> dict:
    """Every row of `tables`, to tell that nothing was written."""
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {name: sorted(map(repr, conn.execute(db.metadata.tables[name].select()).all())) for name in tables}


# -- the returnee CSV import ---------------------------------------------------------------------

RETURNEE_COLUMNS = ("code", "destination_country", "partner", "return_date", "language", "channel", "phone", "consent")
RETURNEE_OPTIONAL = ("local_partner", "sex", "birth_year", "adults", "children", "vulnerabilities", "support", "name")
# Values that fit together (a Georgian number for Georgia, Caritas Georgia under Caritas).
GOOD = {"destination_country": ["GE", "GEO", "Georgia", "ge"], "partner": ["caritas", "Caritas "],
        "return_date": ["2026-09-01", "2024-02-29"], "language": ["ka", "ru", "en", "KA"],
        "channel": ["sms", "phone"], "phone": ["555 12 34 56", "+995555123456", "+995 555 12-34-57"],
        "consent": ["yes", "sms;phone", "sms"], "local_partner": ["", "caritas-ge"],
        "sex": ["", "f", "m"], "birth_year": ["", "1990"], "adults": ["", "2"], "children": ["", "0", "3"],
        "vulnerabilities": ["", "medical"], "support": [""], "name": ["", "Nino Beridze", "Нино", "نينو"]}
# Near misses: what a person gets almost right.
NEAR = {"destination_country": ["XX", "Geórgia", "AM"], "partner": ["caritas-ge", "unicef", "", "iom"],
        "return_date": ["2026-02-29", "1989-12-31", "01/09/2026", "2026-9-1"], "language": ["klingon", ""],
        "channel": ["fax", ""], "phone": ["12", "+37477123456", ""], "consent": ["maybe", "sms;fax", "no"],
        "local_partner": ["iom-ge", "nobody"], "sex": ["x"], "birth_year": ["2101", "nineteen"],
        "adults": ["51", "-1"], "children": ["2.5"], "vulnerabilities": ["medical;unknown"], "support": ["gold"]}


@st.composite
def returnee_files(draw) -> bytes:
    """A returnee CSV: mostly what the return desk writes, with some cells, rows, quotes,
    separators or bytes anything at all."""
    columns = list(RETURNEE_COLUMNS) + draw(st.lists(st.sampled_from(RETURNEE_OPTIONAL), unique=True, max_size=3))
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    if draw(st.integers(0, 9)) == 0:  # a header gone wrong: a column missing, unknown or twice
        columns = draw(st.lists(st.one_of(st.sampled_from(columns), ANY_TEXT), min_size=1, max_size=10))
    rows = []
    count = draw(st.integers(0, 4) if draw(st.integers(0, 9)) == 0 else st.integers(1, 3))
    # drawn, not counted, so that a failing file replays as it was; a code of an earlier example
    # makes the row an update
    numbers = draw(st.lists(st.integers(0, 99999), min_size=count, max_size=count, unique=True))
    all_clean = draw(st.integers(0, 2)) == 0  # a file the return desk got right, now and then
    for number in numbers:
        clean = all_clean or draw(st.booleans())
        code = f"GE-P-{number:05d}"
        if not clean and draw(st.integers(0, 3)) == 0:
            code = draw(st.one_of(ANY_TEXT, st.just(f"GE-P-{numbers[0]:05d}")))
        row = []
        for column in columns:
            spoilt = 0 if clean else draw(st.integers(0, 9))
            if column == "code":
                row.append(code)
            elif spoilt == 1:
                row.append(draw(CELL))
            elif spoilt == 2 and column in NEAR:
                row.append(draw(st.sampled_from(NEAR[column])))
            else:
                row.append(draw(st.sampled_from(GOOD.get(column, [""]))))
        rows.append(row)
    separator = draw(st.sampled_from([",", ";", "\t"]))
    if draw(st.booleans()):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=separator, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
        writer.writerow(columns)
        writer.writerows(rows)
        text = out.getvalue()
    else:  # joined by hand: quotes and separators inside cells break the table
        text = "\n".join(separator.join(map(str, line)) for line in [columns, *rows]) + "\n"
    data = draw(st.sampled_from([b"", "\ufeff".encode()])) + text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(max_size=200)) + data  # not UTF-8, or not a table at all
    return data


def _import_returnees(app, data: bytes):
    """The import as an operator runs it (`monitor import-returnees`), the file on stdin."""
    return app.test_cli_runner().invoke(args=["import-returnees", "-"], input=data)


RETURNEE_TABLES = ("returnees", "consent_events", "returnee_vulnerabilities", "audit_entries")


@given(data=returnee_files())
@example(data=b"code,destination_country,partner,return_date,language,channel,phone,consent\n"
              b"GE-X-1,GE,caritas,2026-09-01,ka,sms,555 12 34 56,yes\n"
              b"GE-X-2,GE,caritas,2026-09-01,ka,sms,555 12 34 56,\"yes\n")
@example(data=b",\n")  # separators and blanks only: was a StopIteration out of the import (a 500 on the page)
@example(data=b" ; ;\r\n\r\n\t\n")
@example(data="code,destination_country,partner,return_date,language,channel,phone,consent\n"
              "GE-X-3,GE,caritas,٢٠٢٦-٠٩-٠١,ka,sms,555 12 34 56,yes\n".encode())
def test_a_returnee_file_is_written_whole_or_reported_by_line(app, orgs, data):
    before = _fingerprint(*RETURNEE_TABLES)
    result = _import_returnees(app, data)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    output = result.output
    assert "Traceback" not in output
    lines = data.count(b"\n") + data.count(b"\r") + 1
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        assert re.search(r"\d+ rows read: \d+ created", result.output), output
        assert "error:" not in output
        db.session.expire_all()
        # each row's case is there, once
        rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""),
                                          delimiter=_separator(data)) if any(cell.strip() for cell in row)]
        at = [name.strip().lower() for name in rows[0]].index("code")
        codes = {row[at].strip() for row in rows[1:]}
        assert codes and db.session.scalar(select(func.count()).select_from(Returnee)
                                           .where(Returnee.code.in_(codes))) == len(codes)
    else:
        assert result.exit_code == 1, output
        errors = re.findall(r"^error: (?:line (\d+)|file)", output, re.M)
        assert errors, output
        assert all(not line or 1 <= int(line) <= lines for line in errors), (errors, lines)
        assert _fingerprint(*RETURNEE_TABLES) == before  # nothing half-written


def _separator(data: bytes) -> str:
    first = data.decode("utf-8-sig").lstrip("\r\n").splitlines()[0]
    return max((",", ";", "\t"), key=first.count)


# -- the response CSV import ---------------------------------------------------------------------

RESPONSE_TABLES = ("responses", "response_answers", "response_flags", "response_scores", "follow_ups",
                   "follow_up_events", "audit_entries")
CONTRACT_GOOD = {"wave": ["m1", "m6", "m99", ""], "mode": ["phone", "visit", "sms-web", "paper", "fax"],
                 "date": ["2026-10-01", "2026-13-01", "2030-01-01", "01/10/2026"],
                 "disposition": ["1.1", "1.2", "2.11", "2.12", "complete", "refused", "9.9", ""],
                 "housing_situation": ["rented", "own", "palace", ""], "household_size": ["4", "0", "31", "4.5"],
                 "income_sources": ["work;remittances", "work;none", "work;work", ""],
                 "decision_factors": ["no_work;family_at_home;homesickness", "no_work;no_work", "a;b;c;d"],
                 "physical_health": ["3", "6", ""], "business_start_date": ["2026-10-01", "1989-01-01", "tomorrow"]}


@st.composite
def response_files(draw, codes) -> bytes:
    """A response CSV in the contract's shape, or an ODK Central / KoboToolbox export of the
    offline form, with cells anything at all."""
    kind = draw(st.sampled_from(["contract", "central", "kobo"]))
    if kind == "contract":
        items = draw(st.lists(st.sampled_from(sorted(k for k in CONTRACT_GOOD if k not in
                                                     ("wave", "mode", "date", "disposition"))),
                              unique=True, max_size=5))
        columns = ["code", "wave", "mode", "date", "disposition", *items]
        good = {**CONTRACT_GOOD, "code": codes + ["XX-404"]}
    elif kind == "central":
        columns = ["SubmissionDate", "end", "case", "mode", "language", "consent", "housing-housing_situation",
                   "income-income_sources", "social-household_size", "meta-instanceID", "KEY", "ReviewState"]
        good = {"SubmissionDate": ["2026-11-20T09:12:33.000Z", "yesterday"], "end": ["2026-11-20T11:42:10.512+04:00", ""],
                "case": [f"{c}/m1" for c in codes] + ["nobody/m1", "/", ""], "mode": ["phone", "visit"],
                "language": ["ka", "xx"], "consent": ["agree", "decline", ""],
                "housing-housing_situation": ["rented", "castle"], "income-income_sources": ["work remittances", "x"],
                "social-household_size": ["4", "-1"], "meta-instanceID": ["uuid:1", ""],
                "KEY": ["uuid:a", "uuid:b", ""], "ReviewState": ["", "rejected", "approved"]}
    else:
        columns = ["end", "case", "mode", "language", "consent", "housing/housing_situation",
                   "income/income_sources", "income/income_sources/work", "_uuid", "_submission_time"]
        good = {"end": ["2026-11-20T11:42:10.512+04:00", "", "2026-02-30T00:00:00"],
                "case": [f"{c}/m1" for c in codes] + ["nobody/m1"], "mode": ["phone", "visit"],
                "language": ["hy", ""], "consent": ["agree", "decline"], "housing/housing_situation": ["family"],
                "income/income_sources": ["work", "work none"], "income/income_sources/work": ["1", "0"],
                "_uuid": ["k1", "k2", ""], "_submission_time": ["2026-11-20T09:00:00", ""]}
    rows = []
    for _ in range(draw(st.integers(0, 3))):
        clean = draw(st.booleans())
        rows.append([draw(CELL) if not clean and draw(st.integers(0, 4)) == 0
                     else draw(st.sampled_from(good.get(c, [""])[:1 if clean else None])) for c in columns])
    out = io.StringIO()
    csv.writer(out, delimiter=";" if kind == "kobo" else ",").writerows([columns, *rows])
    data = out.getvalue().encode()
    if draw(st.integers(0, 9)) == 0:
        data = data.replace(b'"', b"", 1) + draw(st.binary(max_size=20))
    return data


def _phone_tasks(orgs) -> list[str]:
    """Two cases of their own with an open phone task for m1: the codes."""
    made = []
    for _ in range(2):
        returnee = make_returnee(orgs["caritas"], f"GE-Q-{next(_serial):05d}", orgs["caritas-ge"])
        make_follow_up(returnee, "m1", state="phone_task")
        made.append(returnee.code)
    db.session.commit()
    return made


@given(data=st.data())
def test_a_response_file_or_an_odk_export_is_written_whole_or_reported_by_line(app, orgs, data):
    body = data.draw(response_files(_phone_tasks(orgs)))
    before = _fingerprint(*RESPONSE_TABLES)
    result = app.test_cli_runner().invoke(args=["import-responses", "-"], input=body)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        assert "rows read:" in result.output, result.output
    else:
        assert result.exit_code == 1 and re.search(r"^error: (line \d+|file)", result.output, re.M), result.output
        assert _fingerprint(*RESPONSE_TABLES) == before  # nothing half-written


# -- the returnee's questionnaire pages ----------------------------------------------------------

def _is_valid(item, value) -> bool:
    from surveys.items import AnswerError

    try:
        return item.normalise(value) == value
    except AnswerError:
        return False


def _form_values(module, draw):
    """Fields a phone (or someone forging the request) sends for a page: the module's items with
    their option codes or anything, ranks and "came first" fields, unknown names."""
    fields = []
    names = [item.code for item in module.items]
    for item in module.items:
        if draw(st.integers(0, 3)) == 0:
            continue
        codes = sorted(item.option_codes()) or ["1", "4", "30", "2026-01-01", "some words"]
        names += [f"{item.code}__first", f"{item.code}__1", f"{item.code}__2", f"{item.code}__3"]
        for name in (item.code, *draw(st.lists(st.sampled_from(names), max_size=2))):
            for _ in range(draw(st.integers(1, 3))):
                fields.append((name, draw(st.sampled_from(codes)) if draw(st.integers(0, 3)) else draw(CELL)))
    fields += draw(st.lists(st.tuples(st.one_of(st.sampled_from(names), ANY_TEXT), CELL), max_size=3))
    shown = draw(st.one_of(st.just(names[:len(module.items)]), st.lists(st.one_of(st.sampled_from(names), ANY_TEXT),
                                                                         max_size=len(module.items) + 2)))
    fields += [("shown", code) for code in shown]
    fields.append(("action", draw(st.sampled_from(["next", "back", "", "finish", "\u202enext"]))))
    return fields


@given(data=st.data())
@example(data=None)  # household_size with 5000 nines and a NUL, the first attack round's (test_hostile_input)
def test_a_questionnaire_page_answers_clearly_and_stores_only_valid_answers(app, orgs, data):
    from werkzeug.datastructures import MultiDict

    from tests.test_respond import TOKEN_FIELD

    from monitor.extensions import limiter

    limiter.reset()  # addresses that are no page count against the link-guessing limit: not tested here
    questionnaire = registry.current()
    returnee = make_returnee(orgs["caritas"], f"GE-S-{next(_serial):05d}", orgs["caritas-ge"], language="en")
    token = link_for(returnee)
    db.session.commit()
    client = app.test_client()
    with app.app_context():
        page = client.get(f"/s/{token}")
        csrf = TOKEN_FIELD.search(page.get_data(as_text=True)).group(1)
        assert client.post(f"/s/{token}/consent", data={"csrf_token": csrf, "choice": "agree"}).status_code == 302
    modules = questionnaire.modules_for(True)
    if data is None:
        pages = [("social", [("shown", "household_size"), ("household_size", "9" * 5000), ("action", "next")])]
    else:  # one to three pages, in any order, now and then at an address that is no page
        pages = []
        for _ in range(data.draw(st.integers(1, 3))):
            module = data.draw(st.sampled_from(modules))
            path = data.draw(st.sampled_from([module.code] * 5 + ["consent", "opt-out-x", "%E2%80%AE", "housing/x"]))
            pages.append((path, _form_values(module, data.draw)))
    for path, fields in pages:
        with app.app_context():
            response = client.post(f"/s/{token}/{path}", data=MultiDict([("csrf_token", csrf), *fields]))
        assert response.status_code in (200, 302, 400, 404, 405, 422), (response.status_code, path, fields)
        event(f"status {response.status_code}")
    db.session.expire_all()
    stored = db.session.scalar(select(Response).where(Response.returnee_id == returnee.id))
    event(f"answers stored: {bool(stored_answers(stored))}")
    posted = {path for path, _fields in pages}
    for code, value in stored_answers(stored).items():
        item = questionnaire.item(code)
        assert item.module in posted and _is_valid(item, value), (code, value)
    if stored.completed_at is not None:  # complete only with every required answer
        assert not questionnaire.missing_required(stored_answers(stored), True)


# -- the interviewer's form ----------------------------------------------------------------------

@given(data=st.data())
def test_an_interview_answers_clearly_and_stores_only_valid_answers(app, orgs, staff, data):
    from werkzeug.datastructures import MultiDict

    questionnaire = registry.current()
    code = f"GE-I-{next(_serial):05d}"
    returnee = make_returnee(orgs["caritas"], code, orgs["caritas-ge"])
    make_follow_up(returnee, "m1", state="phone_task", channel="phone")
    db.session.commit()
    fields = [("csrf_token", staff.csrf_token())]
    for module in data.draw(st.lists(st.sampled_from(questionnaire.modules), max_size=3, unique_by=lambda m: m.code)):
        fields += [pair for pair in _form_values(module, data.draw) if pair[0] not in ("shown", "action")]
    fields += [("mode", data.draw(st.sampled_from(["phone", "visit", "sms-web"]))),
               ("language", data.draw(st.sampled_from(["ka", "en", "pt_BR", "xx"]))),
               ("action", data.draw(st.sampled_from(["save", "complete", "stopped", "", "delete"])))]
    with app.app_context():
        response = staff.client.post(f"/interviews/{code}/m1", data=MultiDict(fields))
    assert response.status_code in (200, 302, 400, 409, 422), (response.status_code, fields)
    event(f"status {response.status_code}")
    db.session.expire_all()
    stored = db.session.scalar(select(Response).where(Response.returnee_id == returnee.id))
    if stored is not None:
        for item_code, value in stored_answers(stored).items():
            assert _is_valid(questionnaire.item(item_code), value), (item_code, value)
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id))
        event(f"disposition {follow_up.disposition}")
        if follow_up.disposition == "1.1":  # complete only with every required answer
            assert stored.completed_at is not None
            assert not questionnaire.missing_required(stored_answers(stored), True)


@pytest.fixture
def staff(browser_for, users):
    """One logged-in interviewer for all the examples of a test (logging in is rate limited)."""
    return browser_for(users["caritas"])


# -- Twilio's webhooks ---------------------------------------------------------------------------

STOP_WORDS = ["STOP", " stop ", "Stop\u0000", "ＳＴＯＰ", "stop please", "СТОП", "UNSUBSCRIBE", "arrêt", "STOPALL"]


@given(params=st.dictionaries(st.one_of(st.sampled_from(["MessageSid", "From", "Body", "MessageStatus", "ErrorCode",
                                                         "To", "AccountSid", "NumMedia"]), ANY_TEXT),
                              CELL, max_size=6),
       path=st.sampled_from(["/sms/twilio/inbound", "/sms/twilio/status"]),
       stop=st.one_of(st.none(), st.sampled_from(STOP_WORDS)))
def test_a_signed_webhook_never_fails_and_a_stop_is_never_lost(app, orgs, monkeypatch, params, path, stop):
    from monitor.sms.texts import keyword
    from monitor.web_input import without_control_characters
    from tests.test_sms_twilio import PUBLIC, TOKEN, signed_post

    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC)
    serial = next(_serial)
    returnee = make_returnee(orgs["caritas"], f"GE-W-{serial:05d}", orgs["caritas-ge"], phone=f"+99555{serial:07d}")
    db.session.commit()
    if stop is not None:  # a returnee's STOP, whatever else Twilio sends along
        params = {**params, "MessageSid": f"SM{serial:032d}", "From": f"+99555{serial:07d}", "Body": stop}
        path = "/sms/twilio/inbound"
    response = signed_post(app, path, params)
    assert response.status_code in (200, 204), (response.status_code, params)
    event(f"status {response.status_code}")
    if stop is not None and keyword(without_control_characters(stop)) == "stop":
        db.session.expire_all()
        assert db.session.get(Returnee, returnee.id).opted_out_at is not None, stop
        assert db.session.scalar(select(InboundMessage.kind).where(InboundMessage.provider_id == params["MessageSid"])) \
            == "stop"
