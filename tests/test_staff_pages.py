"""Staff pages that read well: every page a role can reach, crawled from its home page with
demo-like data, shows no stored code where a label belongs (phone_task, sms_invite,
returnee.contact.view, a wave code standing alone), no ISO or all-digit date, and right-to-left
text in an element that has a direction; dates and numbers follow the staff language; Arabic
pages are right to left. Both databases.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from monitor import audit, codes
from monitor.extensions import cipher, db
from monitor.models import InboundMessage, SmsMessage
from monitor.models.types import utcnow
from tests.conftest import make_follow_up, make_returnee

ROOT = Path(__file__).resolve().parents[1]

# -- reading a page as a person sees it ----------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_HIDDEN = {"script", "style", "head"}
_RTL_LETTERS = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


class Text(HTMLParser):
    """The visible text nodes of a page, each with what encloses it: whether an ancestor (below
    <html>) gives a direction, whether it is inside <code> (an identifier shown as one); and the
    page's links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.nodes: list[tuple[str, bool, bool]] = []  # (text, has a direction, in <code>)
        self.links: list[str] = []
        self.root: dict = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root = attrs
            return
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("title", "aria-label"):  # not placeholder: a date input's format hint
            if attrs.get(name):
                self._add(attrs[name], extra=(tag, attrs))
        if tag not in _VOID:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if data.strip() and not any(tag in _HIDDEN for tag, _a in self.stack):
            self._add(data)

    def _add(self, text, extra=None):
        chain = self.stack + ([extra] if extra else [])
        self.nodes.append((" ".join(text.split()), any("dir" in a for _t, a in chain),
                           any(t == "code" for t, _a in chain)))


def read(html: str) -> Text:
    parser = Text()
    parser.feed(html)
    return parser


# -- what must not show ----------------------------------------------------------------------------

def _stored_codes() -> tuple[set[str], set[str]]:
    """(codes with _ . or - that must appear nowhere in the text, plain codes that must not stand
    alone as a text node)."""
    lists = [codes.CALL_OUTCOMES, codes.FOLLOW_UP_STATES, codes.WORKLIST_STATUSES, codes.SMS_KINDS,
             codes.SMS_STATUSES, codes.AUDIT_ACTIONS, codes.AUDIT_OBJECTS, codes.ROLES, codes.CHANNELS,
             codes.RESPONSE_MODES, codes.CONSENT_METHODS, codes.DISPOSITIONS, codes.SUPPORT_PACKAGES,
             codes.VULNERABILITIES, codes.ORGANISATION_KINDS, codes.SCORE_DIMENSIONS, codes.FIELDS, codes.SEXES]
    found = {code for mapping in lists for code in mapping}
    found |= {"sms_invite", "sms_reminder", "to_phone", "no_shelter", "feels_unsafe", "m1", "m6", "m12", "stop"}
    compound = {code for code in found if re.search(r"[a-z][._-][a-z]", code)}
    return compound, found - compound


COMPOUND, PLAIN = _stored_codes()
_COMPOUND = re.compile(r"(?<![\w.@/-])(" + "|".join(sorted(map(re.escape, COMPOUND), key=len, reverse=True))
                       + r")(?![\w@/-]|\.\w)")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_DIGIT_DATE = re.compile(r"(?<![\d+])\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")


def problems_of(html: str, rtl_page: bool) -> list[str]:
    page = read(html)
    found = []
    for text, has_direction, in_code in page.nodes:
        if _ISO_DATE.search(text) or _DIGIT_DATE.search(text):
            found.append(f"a date in digits: {text!r}")
        hit = _COMPOUND.search(text)
        if hit and not in_code:  # <code>: an identifier shown as one (a CSV column, a wave code)
            found.append(f"the stored code {hit.group(1)!r} in {text!r}")
        if text in PLAIN and not in_code:
            found.append(f"the stored code {text!r} standing alone")
        if not rtl_page and _RTL_LETTERS.search(text) and not has_direction:
            found.append(f"right-to-left text without a direction: {text!r}")
    return found


def test_the_checks_catch_what_they_look_for():
    bad = ('<html dir="ltr"><body><td>phone_task</td><td>m1</td><td>2026-12-02</td><td>12/2/26</td>'
           '<td>returnee.contact.view</td><td>Reminder: sms_reminder</td><td>محمد</td></body></html>')
    assert len(problems_of(bad, rtl_page=False)) == 7
    good = ('<html dir="ltr"><body><td>To phone</td><td>One-month check <code>m1</code></td><td>2 Dec 2026</td>'
            '<td>staff@caritas-ge.example</td><td dir="auto">محمد</td><td>GE-C-001 0,89 14:05</td>'
            '<a href="/returnees/?status=phone_task">open</a></body></html>')
    assert problems_of(good, rtl_page=False) == []


# -- demo-like data -----------------------------------------------------------------------------

@pytest.fixture
def caseload(users, orgs, returnees):
    """What a programme looks like after a few weeks: phone tasks (one with a call-back), an
    interview completed with scores and a red flag, a refusal, texts in the outbox in every status,
    a text from a returnee in Arabic, consent changes, and an audit log of real actions."""
    from monitor.followups.operations import complete_response, record_attempt
    from monitor.responses import operations as responses

    arabic = make_returnee(orgs["caritas"], "IQ-C-001", orgs["caritas-ge"], destination_country="IQ",
                           language="ar", phone="+9647701234567", name="محمد الحسن")
    farsi = make_returnee(orgs["caritas"], "AF-C-001", orgs["caritas-ge"], destination_country="AF", language="fa",
                          name="احمد رحیمی", phone="+93701234567")
    db.session.flush()
    soon = date.today() + timedelta(days=20)
    tasks = {key: make_follow_up(r, "m1", state="phone_task", closes=soon) for key, r in returnees.items()}
    tasks["arabic"] = make_follow_up(arabic, "m1", state="phone_task", closes=soon)
    record_attempt(tasks["arabic"], "call_back", channel="phone", actor="test",
                   callback_at=utcnow() + timedelta(days=1))
    record_attempt(tasks["caritas-am"], "refused", channel="phone", actor="test")
    follow_up = make_follow_up(farsi, "m1", state="phone_task", closes=soon)
    response = responses.start_response(follow_up, "phone")
    questionnaire = responses.questionnaire_of(response)
    responses.save_answers(response, [questionnaire.item(c) for c in ("food_cut", "income_covers_needs",
                                                                      "housing_situation")],
                           {"food_cut": "often", "income_covers_needs": "never", "housing_situation": "shelter"})
    complete_response(response, actor="test")
    make_follow_up(returnees["caritas-ge"], "m6", state="planned")
    for number, (kind, status) in enumerate([("invitation", status) for status in codes.SMS_STATUSES]
                                            + [("reminder", "sent")]):
        db.session.add(SmsMessage(follow_up_id=tasks["caritas-ge"].id, returnee_id=returnees["caritas-ge"].id,
                                  kind=kind, sequence=number, to="+995555123456", status=status,
                                  body="Caritas: how are you doing? http://127.0.0.1:5000/r/x"))
    db.session.add(InboundMessage(provider_id="SM1", returnee_id=arabic.id, kind="other", body="اتصل بي من فضلك",
                                  from_lookup=cipher.lookup_hash("+9647701234567")))
    audit.record("response.import", actor="cli", details={
        "file": "m6.csv", "sha256": "ab" * 32, "questionnaire": "standard", "rows": 3, "created": 3, "updated": 0,
        "unchanged": 0, "rejected": 0})
    db.session.commit()
    return {"arabic": arabic, "farsi": farsi, "response": response}


def _act(users, browser_for, caseload):
    """Real actions through the pages, so that the audit log holds what staff do."""
    admin = browser_for(users["admin"])
    assert browser_for().login("admin@example.org", "wrong password").status_code == 200  # a failed login
    local = browser_for(users["caritas-ge"])
    assert local.post("/returnees/IQ-C-001/contact").status_code in (200, 302)
    assert local.post("/returnees/GE-C-001/do-not-contact", {"value": "1"}).status_code == 302
    admin.post(f"/admin/users/{users['analyst'].id}/unlock")
    return admin


# -- the crawl ------------------------------------------------------------------------------------

_SKIP = re.compile(r"^/(static|r|sms)/|^/logout")


def crawl(browser, start="/", locale="en", limit=60) -> dict[str, str]:
    """GET every staff page reachable by links from `start` (query strings included, one page
    of each path per query shape), in `locale`."""
    seen: dict[str, str] = {}
    shapes: set[tuple[str, tuple[str, ...]]] = set()
    queue = [start]
    while queue and len(seen) < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc or _SKIP.search(parts.path) or url in seen:
            continue
        shape = (re.sub(r"\d+", "N", parts.path), tuple(sorted(re.findall(r"(\w+)=", parts.query))))
        if shape in shapes:
            continue
        shapes.add(shape)
        response = browser.get(url, headers={"Accept-Language": locale}, follow_redirects=True)
        assert response.status_code in (200, 403, 404), f"{url}: {response.status_code}"
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        html = response.get_data(as_text=True)
        seen[url] = html
        queue += [urljoin(url, link.split("#")[0]) for link in read(html).links if not link.startswith(("tel:", "#"))]
    return seen


@pytest.mark.parametrize("role", ["admin", "analyst", "caritas", "caritas-ge"])
def test_no_raw_code_or_digit_date_on_any_staff_page(role, users, caseload, browser_for):
    _act(users, browser_for, caseload)
    browser = browser_for(users[role])
    extra = ["/returnees/IQ-C-001", "/returnees/AF-C-001", "/returnees/GE-C-001", "/worklist/?organisation=caritas",
             "/exports/"]
    problems = {}
    for locale in ("en", "fr", "ar"):
        pages = crawl(browser, locale=locale)
        for url in extra:
            response = browser.get(url, headers={"Accept-Language": locale})
            if response.status_code == 200:
                pages[url] = response.get_data(as_text=True)
        assert len(pages) >= 3, f"{role} reached only {list(pages)}"
        for url, html in pages.items():
            assert f'dir="{"rtl" if locale == "ar" else "ltr"}"' in html.split(">", 2)[1], url
            for problem in problems_of(html, rtl_page=locale == "ar"):
                problems.setdefault(f"{locale} {url}", []).append(problem)
    assert not problems, "\n".join(f"{url}:\n  " + "\n  ".join(p) for url, p in problems.items())


def test_every_audit_action_in_the_source_has_a_label():
    """A new audit.record("...") needs its name in codes.AUDIT_ACTIONS (the log shows labels)."""
    actions = set()
    for path in list((ROOT / "monitor").rglob("*.py")) + list((ROOT / "scheduler").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        actions |= set(re.findall(r"audit\.record\(\s*\"([a-z_.]+)\"", source))
        actions |= set(re.findall(r"action=\"([a-z_]+\.[a-z_.]+)\"", source))
        actions |= set(re.findall(r"audit\.record\(\s*\"[a-z_.]+\" if [^\n]* else \"([a-z_.]+)\"", source))
    assert "returnee.contact.view" in actions and "returnee.import" in actions
    assert not actions - set(codes.AUDIT_ACTIONS), f"no label in codes.AUDIT_ACTIONS: {actions - set(codes.AUDIT_ACTIONS)}"


def test_templates_format_dates_and_numbers_through_the_filters():
    """|date, |datetime and |number (monitor/formatting.py), not Flask-Babel's own filters with a
    'short' format (12/2/26), nor %-formatting of numbers (0.89 in French)."""
    offending = []
    for path in (ROOT / "monitor").rglob("*.html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\|\s*(datetimeformat|dateformat|timeformat)\b|\"%[.\d]*f\"\s*\|\s*format|"
                         r"\.isoformat\(|\.strftime\(", line):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offending, "\n".join(offending)


# -- the language's own formats ------------------------------------------------------------------

def test_a_french_page_shows_french_numbers_and_dates_with_the_month_in_words(users, caseload, browser_for):
    from monitor.models import ResponseScore

    score = db.session.scalar(select(ResponseScore).where(ResponseScore.response_id == caseload["response"].id))
    score.economic = 0.8912
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    browser.post("/language", {"locale": "fr", "next": "/"})
    html = browser.get("/returnees/AF-C-001").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in html
    assert "0,89" in html and "0.89" not in html
    returned = caseload["farsi"].return_date
    months = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
    assert f"{returned.day} {months[returned.month - 1]} {returned.year}" in html  # "1 sept. 2026"
    assert not problems_of(html, rtl_page=False)
    worklist = browser.get("/worklist/").get_data(as_text=True)
    assert "heure locale" in worklist  # the call-back, at the returnee's clock


def test_an_arabic_page_is_right_to_left(users, caseload, browser_for):
    browser = browser_for(users["caritas-ge"])
    html = browser.get("/worklist/", headers={"Accept-Language": "ar-IQ,ar;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "قائمة العمل" in html  # "Work list"
    assert "IQ-C-001" in html and problems_of(html, rtl_page=True) == []
    detail = browser.get("/returnees/AF-C-001", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in detail and problems_of(detail, rtl_page=True) == []
    russian = browser.get("/worklist/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="ru" dir="ltr">' in russian and "Список задач" in russian


def test_the_staff_languages_are_offered_in_their_own_names(users, browser_for):
    html = browser_for(users["caritas-ge"]).get("/account").get_data(as_text=True)
    for code, name in (("en", "English"), ("fr", "Français"), ("nl", "Nederlands"), ("ru", "Русский"),
                       ("ar", "العربية")):
        assert re.search(rf'<option value="{code}"[^>]*>{name}</option>', html), name
    browser = browser_for(users["caritas-ge"])
    assert browser.post("/account", {"lang-locale": "ar", "lang-submit": "1"}).status_code in (200, 302)
    assert '<html lang="ar" dir="rtl">' in browser.get("/worklist/").get_data(as_text=True)

