"""Benchmark: what a returnee's phone downloads per questionnaire page, in every language.

Renders the consent page and every module page of the current questionnaire for a returnee in
each of the 13 languages, and prints the compressed size (HTML + CSS, gzip) against the
30 KB budget.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from monitor.extensions import db  # noqa: E402
from monitor.models import Organisation  # noqa: E402
from surveys.translation import LANGUAGES  # noqa: E402
from tests.conftest import build_app, make_returnee  # noqa: E402
from tests.pageweight import BUDGET, page_weights  # noqa: E402


def main() -> None:
    instance = Path(tempfile.mkdtemp())
    app = build_app(f"sqlite:///{instance / 'weight.sqlite'}", instance)
    rows = []
    with app.app_context():
        upgrade()
        partner = db.session.scalar(select(Organisation).where(Organisation.code == "caritas"))  # the migration's
        for language in LANGUAGES:
            returnee = make_returnee(partner, f"W-{language}", language=language)
            weights = page_weights(app, returnee)
            heaviest = max(weights, key=weights.get)
            rows.append((language, weights["consent"], heaviest, weights[heaviest], sum(weights.values()) / len(weights)))
    print(f"{'language':<9} {'consent':>8} {'heaviest page':<14} {'bytes':>7} {'mean':>7}   budget {BUDGET}")
    for language, consent, heaviest, size, mean in rows:
        print(f"{language:<9} {consent:>8} {heaviest:<14} {size:>7} {mean:>7.0f}   {'ok' if size <= BUDGET else 'OVER'}")


if __name__ == "__main__":
    main()
