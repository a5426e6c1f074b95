"""Both gettext domains: the staff interface ("messages": French, Dutch, Russian and Arabic) and what returnees
read ("questionnaire", twelve languages besides English). Every string in the source is
translated, the translations keep their placeholders, the compiled catalogs are current, and a
page renders in the language the browser asks for.

The strings are extracted from the source itself (babel.cfg, the same keywords as
`make translations`), so a new `_("...")` fails here until `make translations` has merged it
and someone has translated it.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
TRANSLATED_LOCALES = ("fr", "nl", "ru", "ar")  # English is the source language: its catalog stays empty
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # -k _l -k lazy_gettext
QUESTIONNAIRE_LOCALES = ("fr", "nl", "ru", "uk", "ka", "hy", "ar", "fa", "ps", "ro", "pl", "pt_BR")
# domain: (extraction config, keywords, translated locales) -- as in `make translations`
DOMAINS = {
    "messages": ("babel.cfg", KEYWORDS, TRANSLATED_LOCALES),
    "questionnaire": ("babel-questionnaire.cfg", {"N_": None, "q_": None, "t": None}, QUESTIONNAIRE_LOCALES),
}

# Python %-format placeholders: %(name)s, %(num)d, %(x)5.2f ... and positional %s; not %%.
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<type>[diouxXeEfFgGcrsa%])")


def placeholders(text: str) -> Counter:
    return Counter((m["name"], m["type"]) for m in _PLACEHOLDER.finditer(text) if m["type"] != "%")


def _key(msgid) -> tuple[str, ...]:
    return (msgid,) if isinstance(msgid, str) else tuple(msgid)


_extracted: dict[str, dict] = {}


def source_messages_of(domain: str) -> dict[tuple[str, ...], str]:
    """{msgid (singular[, plural]): "file:line"} for every marked string of a domain."""
    if domain not in _extracted:
        config, keywords, _locales = DOMAINS[domain]
        with (ROOT / config).open(encoding="utf-8") as f:
            method_map, options_map = parse_mapping_cfg(f, str(ROOT / config))
        found = {}
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(ROOT), method_map, options_map, keywords=keywords, strip_comment_tags=True):
            if message:
                found.setdefault(_key(message), f"{filename}:{lineno}")
        assert len(found) > 50, f"extraction found only {len(found)} strings: is {config} right?"
        _extracted[domain] = found
    return _extracted[domain]


def load_catalog(locale: str, domain: str = "messages"):
    path = TRANSLATIONS / locale / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path} is missing: run `make translations`"
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=domain)


CATALOGS = [(domain, locale) for domain, (_c, _k, locales) in DOMAINS.items() for locale in locales]


@pytest.fixture(scope="module", params=CATALOGS, ids=[f"{d}-{l}" for d, l in CATALOGS])
def catalog(request):
    domain, locale = request.param
    return load_catalog(locale, domain)


def _translations(message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def test_every_source_string_is_in_the_catalog(catalog):
    missing = []
    for key, where in sorted(source_messages_of(catalog.domain).items()):
        message = catalog.get(key[0])
        if message is None or _key(message.id) != key:
            missing.append(f"{where}: {key!r}")
    assert not missing, (f"{len(missing)} strings of the source are not in the {catalog.domain} {catalog.locale} catalog "
                         "(run `make translations`, then translate them):\n" + "\n".join(missing))


def test_every_string_is_translated_and_not_fuzzy(catalog):
    assert not catalog.fuzzy, f"the {catalog.locale} catalog header is fuzzy: pybabel compile would skip it"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = _translations(message)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not strings or not all(s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
        if message.pluralizable and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms instead of {catalog.num_plurals}: {message.id!r}")
    assert not problems, f"{catalog.locale}:\n" + "\n".join(problems)


def test_translations_keep_the_placeholders(catalog):
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = _key(message.id)
        expected = placeholders(ids[0])
        for other in ids[1:]:
            if placeholders(other) != expected:  # singular and plural differ: each form takes the union
                expected = expected | placeholders(other)
        for index, string in enumerate(_translations(message)):
            if string and placeholders(string) != expected:
                form = f"[{index}]" if message.pluralizable else ""
                problems.append(f"{message.id!r}\n    msgstr{form} {string!r}\n"
                                f"    has {sorted(placeholders(string).elements())}, "
                                f"expected {sorted(expected.elements())}")
    assert not problems, f"{catalog.locale}: placeholders differ from the msgid:\n" + "\n".join(problems)


@pytest.mark.parametrize("domain", DOMAINS)
def test_english_catalog_stays_empty(domain):
    catalog = load_catalog("en", domain)
    filled = [m.id for m in catalog if m.id and any(_translations(m))]
    assert not filled, f"English is the source language; these have an en msgstr: {filled}"


@pytest.mark.parametrize("domain, locale", [(d, "en") for d in DOMAINS] + CATALOGS)
def test_compiled_catalog_exists_and_matches_the_po(domain, locale):
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / f"{domain}.mo"
    assert mo_path.exists(), f"{mo_path} is missing: run `pybabel compile -d translations` (make test does)"
    with mo_path.open("rb") as f:
        compiled = read_mo(f)
    po = load_catalog(locale, domain)
    stale = [m.id for m in po if m.id and any(_translations(m))
             and (compiled.get(_key(m.id)[0]) is None
                  or _translations(compiled.get(_key(m.id)[0])) != _translations(m))]
    assert not stale, (f"{mo_path} is older than its .po ({len(stale)} entries differ): "
                       f"run `make compile-translations`. First: {stale[:3]!r}")


def test_placeholder_pattern():
    assert placeholders("%(num)d of %(total)s, 100%% and %s") == Counter(
        {("num", "d"): 1, ("total", "s"): 1, (None, "s"): 1})
    assert placeholders("%(min)d") != placeholders("%(min)s")


@pytest.mark.parametrize("locale, heading, english", [
    ("fr", "Se connecter", "Log in"),
    ("nl", "Aanmelden", "Log in"),
    ("ru", "Войти", "Log in"),
    ("ar", "تسجيل الدخول", "Log in"),
])
def test_login_page_follows_accept_language(browser_for, locale, heading, english):
    browser = browser_for()
    response = browser.get("/login", headers={"Accept-Language": f"{locale}-BE,{locale};q=0.9,en;q=0.5"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    direction = "rtl" if locale == "ar" else "ltr"
    assert f'<html lang="{locale}" dir="{direction}">' in html
    assert re.search(rf"<h1>\s*{re.escape(heading)}\s*</h1>", html), html
    assert english not in html
    expected_password = {"fr": "Mot de passe", "nl": "Wachtwoord", "ru": "Пароль", "ar": "كلمة المرور"}[locale]
    assert expected_password in html


def test_returnees_heading_is_translated():
    """The heading the French browser journey checks, straight from the catalogs."""
    by_locale = {locale: load_catalog(locale).get("Returnees") for locale in TRANSLATED_LOCALES}
    assert by_locale["fr"].string == "Personnes rentrées"
    assert by_locale["nl"].string == "Terugkeerders"
    assert by_locale["ru"].string == "Возвращенцы"
    assert by_locale["ar"].string == "العائدون"


def test_plural_forms_follow_each_language():
    """Russian has three forms (1, 2-4, 5-20 ...), Arabic six: each catalog gives them all."""
    from babel.support import Translations

    def ngettext(locale, n):
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as f:
            return Translations(f).ngettext("%(num)d attempt", "%(num)d attempts", n) % {"num": n}

    assert [ngettext("ru", n) for n in (1, 3, 5, 21)] == ["1 попытка", "3 попытки", "5 попыток", "21 попытка"]
    assert [ngettext("ar", n) for n in (2, 3, 11)] == ["2 محاولتان", "3 محاولات", "11 محاولة"]
