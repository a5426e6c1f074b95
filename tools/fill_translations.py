"""Fill a gettext catalog from a JSON mapping, or list what it still lacks as such a mapping.

    python tools/fill_translations.py missing ru > ru-todo.json    # {msgid: "" or ["", "", ""]}
    # ... translate the values ...
    python tools/fill_translations.py fill ru ru-todo.json          # writes the msgstr, drops "fuzzy"
    make compile-translations

The mapping is {msgid: msgstr} and, for a string with a plural, {singular msgid: [form 0, form 1,
...]} with as many forms as the language has (Russian 3, Arabic 6, French and Dutch 2; `missing`
writes the right number). `fill` refuses a translation whose %(name)s placeholders differ from the
msgid's and one with the wrong number of plural forms, and says which msgids of the mapping are not
in the catalog (a stale mapping). `--domain questionnaire` works on the returnee catalogs.
Run `make translations` (or pybabel extract + update) first, so that the catalog holds every
msgid of the source.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<type>[diouxXeEfFgGcrsa%])")


def placeholders(text: str) -> list[tuple[str | None, str]]:
    return sorted((m["name"], m["type"]) for m in _PLACEHOLDER.finditer(text) if m["type"] != "%")


def catalog_path(locale: str, domain: str) -> Path:
    return ROOT / "translations" / locale / "LC_MESSAGES" / f"{domain}.po"


def load(locale: str, domain: str):
    with catalog_path(locale, domain).open("rb") as f:
        return read_po(f, locale=locale, domain=domain)


def _singular(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _is_done(message) -> bool:
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return not message.fuzzy and bool(strings) and all(s.strip() for s in strings)


def missing(locale: str, domain: str) -> dict:
    catalog = load(locale, domain)
    todo = {}
    for message in catalog:
        if message.id and not _is_done(message):
            todo[_singular(message)] = [""] * catalog.num_plurals if message.pluralizable else ""
    return todo


def fill(locale: str, mapping: dict, domain: str) -> list[str]:
    """Write the mapping's translations into the catalog; return the problems (nothing is
    written when there are any)."""
    catalog = load(locale, domain)
    problems = []
    by_id = {_singular(m): m for m in catalog if m.id}
    for msgid, value in mapping.items():
        message = by_id.get(msgid)
        if message is None:
            problems.append(f"not in the catalog: {msgid!r}")
            continue
        if not value or (isinstance(value, list) and not all(value)):
            continue  # left for later
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        expected = sorted(set().union(*(placeholders(i) for i in ids))) if len(ids) > 1 else placeholders(ids[0])
        forms = value if isinstance(value, list) else [value]
        if message.pluralizable:
            if len(forms) != catalog.num_plurals:
                problems.append(f"{len(forms)} plural forms instead of {catalog.num_plurals}: {msgid!r}")
                continue
            if any(sorted(set(placeholders(f))) != sorted(set(expected)) for f in forms):
                problems.append(f"placeholders differ: {msgid!r} -> {forms!r}")
                continue
        elif placeholders(forms[0]) != expected:
            problems.append(f"placeholders differ: {msgid!r} -> {forms[0]!r}")
            continue
        message.string = tuple(forms) if message.pluralizable else forms[0]
        message.flags.discard("fuzzy")
    if not problems:
        with catalog_path(locale, domain).open("wb") as f:
            write_po(f, catalog)  # as pybabel update writes it
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("missing", "fill"))
    parser.add_argument("locale")
    parser.add_argument("mapping", nargs="?", help="the JSON file to fill from (fill)")
    parser.add_argument("--domain", default="messages")
    args = parser.parse_args(argv)
    if args.command == "missing":
        json.dump(missing(args.locale, args.domain), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    if not args.mapping:
        parser.error("fill needs the mapping file")
    mapping = json.loads(Path(args.mapping).read_text(encoding="utf-8"))
    problems = fill(args.locale, mapping, args.domain)
    for problem in problems:
        print(problem, file=sys.stderr)
    left = len(missing(args.locale, args.domain))
    print(f"{args.locale}: {'nothing written, ' if problems else ''}{left} strings left to translate", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
