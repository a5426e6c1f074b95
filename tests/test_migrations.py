"""The Alembic migrations build, from empty, exactly the schema the models describe, on both
databases, and can be walked down and up again."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from monitor.extensions import db
from monitor.models import Organisation
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


PARTNERS_REVISION = "0005_reintegration_partners"


def _before_partners() -> str:
    """The revision just before the partners migration (whatever the chain before it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(__file__).resolve().parents[1] / "migrations")).get_revision(
        PARTNERS_REVISION).down_revision


def _partners():
    return {o.code: o for o in db.session.scalars(sa.select(Organisation).where(Organisation.kind == "reintegration"))}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_partners_migration_keeps_existing_partners(backend, make_database, tmp_path):
    """The partners migration inserts caritas and iom only when absent: a database that has one
    (from the demo, or made by hand) keeps its row, id and edits."""
    app = build_app(make_database(backend), tmp_path)
    with app.app_context():
        upgrade(revision=_before_partners())
        assert _partners() == {}
        db.session.add(Organisation(code="caritas", name="Caritas International asbl", kind="reintegration",
                                    contact_phone="+3222293611"))
        db.session.commit()
        caritas_id = _partners()["caritas"].id
        upgrade()
        db.session.expire_all()
        partners = _partners()
        assert sorted(partners) == ["caritas", "iom"]
        assert (partners["caritas"].id, partners["caritas"].name, partners["caritas"].sender_name) == (
            caritas_id, "Caritas International asbl", None)
        assert (partners["iom"].name, partners["iom"].sender_name, partners["iom"].active) == ("IOM", "IOM", True)
        assert partners["iom"].created_at is not None
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_partners_migration_downgrade_keeps_partners_in_use(backend, make_database, tmp_path):
    app = build_app(make_database(backend), tmp_path)
    with app.app_context():
        upgrade()
        caritas = _partners()["caritas"]
        db.session.add(Organisation(code="caritas-ge", name="Caritas Georgia", kind="local", parent=caritas,
                                    country="GE"))
        db.session.commit()
        db.session.remove()
        downgrade(revision=_before_partners())
        assert sorted(_partners()) == ["caritas"]  # iom, unused, is gone; caritas has a local partner
        db.session.remove()
        upgrade()
        assert sorted(_partners()) == ["caritas", "iom"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 3
        db.session.remove()
        db.engine.dispose()
