"""Babel extractor for questionnaire definitions: every text of a version file becomes a
message of the "questionnaire" domain (see babel-questionnaire.cfg)."""
from __future__ import annotations

import yaml

from surveys.definition import build_definition


def extract_questionnaire(fileobj, keywords, comment_tags, options):
    spec = yaml.safe_load(fileobj.read().decode("utf-8"))
    questionnaire = build_definition(spec, source=getattr(fileobj, "name", "<definition>"))
    for text in questionnaire.texts():
        yield 1, None, text, [f"questionnaire {questionnaire.key}"]
