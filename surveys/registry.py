"""Every published questionnaire version, loaded once from surveys/definitions/."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from surveys.definition import DEFINITIONS, Questionnaire, load_definition

_FILE = re.compile(r"^(?P<code>[a-z0-9_]+)-v(?P<version>[0-9]+)\.yaml$")


@lru_cache(maxsize=None)
def all_versions(directory: Path = DEFINITIONS) -> dict[tuple[str, int], Questionnaire]:
    versions = {}
    for path in sorted(directory.glob("*.yaml")):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: questionnaire files are named CODE-vN.yaml")
        questionnaire = load_definition(path)
        if (questionnaire.code, questionnaire.version) != (match["code"], int(match["version"])):
            raise ValueError(f"{path.name}: the file name does not match code {questionnaire.code!r} "
                             f"version {questionnaire.version}")
        versions[(questionnaire.code, questionnaire.version)] = questionnaire
    return versions


def get(code: str, version: int) -> Questionnaire:
    return all_versions()[(code, version)]


def current(code: str = "standard") -> Questionnaire:
    """The newest version: what new follow-ups are asked."""
    return max((q for (c, _v), q in all_versions().items() if c == code), key=lambda q: q.version)
