"""The questionnaire in the returnee's language: the "questionnaire" gettext domain.

Message ids are the English texts of the definition (and of the returnee pages); catalogs are
translations/<lang>/LC_MESSAGES/questionnaire.po, compiled to .mo by `make translations`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "questionnaire"

# The returnee languages, each named in itself (a returnee picks their own language). Their
# review status is in translations/questionnaire-review.toml.
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "Français",
    "nl": "Nederlands",
    "ru": "Русский",
    "uk": "Українська",
    "ka": "ქართული",
    "hy": "Հայերեն",
    "ar": "العربية",
    "fa": "دری",
    "ps": "پښتو",
    "ro": "Română",
    "pl": "Polski",
    "pt_BR": "Português (Brasil)",
}
LANGUAGES = tuple(LANGUAGE_NAMES)
RTL = frozenset({"ar", "fa", "ps"})


class Translator:
    def __init__(self, language: str, catalog: NullTranslations):
        self.language = language
        self._catalog = catalog

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RTL else "ltr"

    @property
    def html_lang(self) -> str:
        return {"pt_BR": "pt-BR", "fa": "fa-AF"}.get(self.language, self.language)

    def __call__(self, message: str | None, **params) -> str:
        if not message:
            return ""
        text = self._catalog.gettext(message)
        return text % params if params else text

    def has(self, message: str) -> bool:
        """Whether the catalog really translates `message` (English always does)."""
        # The compiled catalog's own table: a translation may equal its English ("Social").
        return self.language == "en" or bool(getattr(self._catalog, "_catalog", {}).get(message))


@lru_cache(maxsize=None)
def translator(language: str) -> Translator:
    if language not in LANGUAGES:
        language = "en"
    catalog = Translations.load(str(TRANSLATIONS), [language], domain=DOMAIN)
    return Translator(language, catalog)


def review_status() -> dict[str, dict]:
    """Each returnee language's review status (translations/questionnaire-review.toml)."""
    import tomllib

    with open(TRANSLATIONS / "questionnaire-review.toml", "rb") as handle:
        languages = tomllib.load(handle)["languages"]
    return {code: {"status": languages.get(code, {}).get("status", "draft"),
                   "note": languages.get(code, {}).get("note", "")} for code in LANGUAGES}


def catalog_messages() -> list[str]:
    """Every message id of the questionnaire domain, from the extracted template."""
    from babel.messages.pofile import read_po

    with open(TRANSLATIONS / f"{DOMAIN}.pot", "rb") as handle:
        return [message.id for message in read_po(handle) if message.id]


def missing_translations(questionnaire, languages=LANGUAGES) -> list[str]:
    """One line per language that lacks any of the questionnaire's texts (English never does)."""
    problems = []
    for language in languages:
        t = translator(language)
        missing = [text for text in questionnaire.texts() if not t.has(text)]
        if missing:
            shown = "; ".join(repr(text[:60]) for text in missing[:3])
            problems.append(f"{questionnaire.key}: {language} lacks {len(missing)} of {len(questionnaire.texts())} "
                            f"texts, e.g. {shown} (run make translations and translate them)")
    return problems
