"""Error pages: in the user's language (the returnee's on `/s/...`, in the returnee layout, never
the staff page), for every status the app answers with, and never a stack trace."""
from __future__ import annotations

import pytest
from markupsafe import escape
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import ServiceUnavailable

from monitor.extensions import db
from tests.conftest import link_for, make_returnee

SECRET_DETAIL = "Nino Beridze +995555123456 in a failing statement"


def _boom():
    raise RuntimeError(SECRET_DETAIL)


def _stale():
    raise StaleDataError(SECRET_DETAIL)


def _unavailable():
    raise ServiceUnavailable()


def _get(app, path, language="en", **kwargs):
    with app.app_context():
        return app.test_client().get(path, headers={"Accept-Language": language}, **kwargs)


def _clean(page: str) -> None:
    assert "Traceback" not in page and SECRET_DETAIL not in page and "RuntimeError" not in page


STAFF = {  # status: (how to provoke it, the title in English, in French)
    400: ("/returnees?q=%00", "Bad request", "Requête incorrecte"),
    404: ("/no-such-page", "Not found", "Introuvable"),
    405: ("/logout", "Method not allowed", "Méthode non autorisée"),
    409: ("boom:_stale", "Changed meanwhile", "Modifié entre-temps"),
    500: ("boom:_boom", "Something went wrong", "Une erreur s'est produite"),
    503: ("boom:_unavailable", "Temporarily unavailable", "Momentanément indisponible"),
}


@pytest.mark.parametrize("status", sorted(STAFF))
@pytest.mark.parametrize("language", ["en", "fr"])
def test_staff_error_pages_in_the_staff_language(app, monkeypatch, status, language):
    path, english, french = STAFF[status]
    if path.startswith("boom:"):
        monkeypatch.setitem(app.view_functions, "main.home", globals()[path[5:]])
        path = "/"
    response = _get(app, path, language)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert str(escape(english if language == "en" else french)) in page
    assert f'<html lang="{language}"' in page and "staff.css" in page and "respond.css" not in page
    _clean(page)


@pytest.mark.parametrize("language, forbidden, too_many", [("ru", "Доступ запрещён", "Слишком много попыток"),
                                                        ("nl", "Niet toegestaan", "Te veel pogingen")])
def test_staff_forbidden_and_rate_limited_pages_are_translated(app, users, browser_for, monkeypatch, language,
                                                               forbidden, too_many):
    partner = users["caritas"]
    partner.locale = language  # the account's language, whatever the browser asks for
    db.session.commit()
    page = browser_for(partner).get("/admin/users", headers={"Accept-Language": "en"})
    assert page.status_code == 403 and forbidden in page.get_data(as_text=True)
    _clean(page.get_data(as_text=True))

    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    browser = browser_for()
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    statuses = [browser.post("/login", {"email": "x@example.org", "password": "wrong"}).status_code for _ in range(2)]
    assert statuses[-1] == 429
    page = browser.post("/login", {"email": "x@example.org", "password": "wrong"}).get_data(as_text=True)
    assert too_many in page and "staff.css" in page and f'<html lang="{language}"' in page


@pytest.mark.parametrize("language, title", [("fr", "Fichier trop volumineux"), ("ar", "الملف كبير جدًا")])
def test_staff_upload_too_large_is_translated(app, monkeypatch, language, title):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    with app.app_context():
        response = app.test_client().post("/login", data={"email": "x" * 500}, headers={"Accept-Language": language})
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and f'<html lang="{language}"' in page and title in page


# -- the returnee's pages ----------------------------------------------------------------------

RETURNEE_TEXTS = {  # kind: Georgian, Ukrainian
    "not_found": ("ეს გვერდი არ არსებობს", "Такої сторінки немає"),
    "not_sent": ("გვერდის გაგზავნა ვერ მოხერხდა", "Не вдалося надіслати сторінку"),
    "too_many": ("ძალიან ბევრი მცდელობა", "Забагато спроб"),
    "failed": ("რაღაც შეცდომა მოხდა", "Щось пішло не так"),
}


@pytest.fixture
def links(app, orgs):
    """A link for a Georgian-speaking returnee and one for a Ukrainian-speaking one."""
    made = {}
    for language in ("ka", "uk"):
        returnee = make_returnee(orgs["caritas"], f"GE-E-{language}", orgs["caritas-ge"], language=language)
        made[language] = link_for(returnee)
    db.session.commit()
    return made


def _returnee_page(response, status, kind, language):
    page = response.get_data(as_text=True)
    assert response.status_code == status, page
    assert RETURNEE_TEXTS[kind][("ka", "uk").index(language)] in page
    assert f'<html lang="{language}"' in page
    assert "respond.css" in page and "staff.css" not in page and "Return monitor" not in page
    _clean(page)


@pytest.mark.parametrize("language", ["ka", "uk"])
def test_returnee_error_pages_in_the_returnees_language(app, links, monkeypatch, language):
    token = links[language]
    # The browser asks for French: the returnee's own language wins on their link.
    _returnee_page(_get(app, f"/s/{token}/a/b", "fr"), 404, "not_found", language)
    _returnee_page(_get(app, f"/s/{token}?lang=%00", "fr"), 400, "not_sent", language)
    with app.app_context():
        response = app.test_client().put(f"/s/{token}/consent", headers={"Accept-Language": "fr"})
    _returnee_page(response, 405, "not_sent", language)
    with app.app_context():  # a form sent without its CSRF token (expired page)
        response = app.test_client().post(f"/s/{token}/consent", data={"choice": "agree"},
                                          headers={"Accept-Language": "fr"})
    _returnee_page(response, 400, "not_sent", language)

    monkeypatch.setitem(app.view_functions, "respond.module", lambda token, module: _boom())
    _returnee_page(_get(app, f"/s/{token}/m1", "fr"), 500, "failed", language)
    monkeypatch.setitem(app.view_functions, "respond.module", lambda token, module: _unavailable())
    _returnee_page(_get(app, f"/s/{token}/m1", "fr"), 503, "failed", language)

    monkeypatch.setitem(app.config, "SURVEY_LINK_RATE_LIMIT", "1 per minute")
    _get(app, f"/s/{token}")
    _returnee_page(_get(app, f"/s/{token}", "fr"), 429, "too_many", language)


def test_returnee_error_after_the_page_chose_a_language(app, links, monkeypatch):
    """An error in the middle of a page speaks the language the returnee picked on it."""
    token = links["ka"]
    with app.app_context():
        client = app.test_client()
        assert client.get(f"/s/{token}?lang=uk").status_code == 200
        monkeypatch.setitem(app.view_functions, "respond.module", lambda token, module: _boom())
        _returnee_page(client.get(f"/s/{token}/m1"), 500, "failed", "uk")


def test_an_unknown_link_answers_in_the_browsers_language(app):
    page = _get(app, "/s/not-a-link/a/b", "fr").get_data(as_text=True)
    assert str(escape("Cette page n'existe pas")) in page and "respond.css" in page and "staff.css" not in page
    page = _get(app, "/s/not-a-link/a/b", "uk").get_data(as_text=True)
    assert "Такої сторінки немає" in page
