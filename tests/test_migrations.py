"""The Alembic migrations build, from empty, exactly the schema the models describe, on both
databases, and can be walked down and up again."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from monitor.extensions import db
from tests.conftest import build_app


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_from_empty_match_the_models(backend, make_database, tmp_path):
    app = build_app(make_database(backend), tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"organisations", "users", "returnees", "returnee_vulnerabilities", "consent_events",
                "audit_entries"} <= tables

        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "returnees" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_cli_db_upgrade_on_an_empty_database(make_database, tmp_path):
    app = build_app(make_database("sqlite"), tmp_path)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert "returnees" in sa.inspect(db.engine).get_table_names()
