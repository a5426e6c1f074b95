"""The README's backup and restore, as an operator runs them: `pg_dump -Fc` of a database with
cases and answers, `pg_restore` into a fresh database, and every case and answer found there,
readable with the same DATA_ENCRYPTION_KEY."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import Organisation, Response, ResponseAnswer, Returnee
from tests.conftest import _in_ci, build_app, link_for, make_returnee
from tests.test_respond import Phone


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore read it."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tools():
    missing = [tool for tool in ("pg_dump", "pg_restore") if not shutil.which(tool)]
    if missing:
        if _in_ci():
            pytest.fail(f"{', '.join(missing)} not installed")
        pytest.skip(f"{', '.join(missing)} not installed")


def _contents():
    """Every case with its name and number, every answer, and the schema's version."""
    db.session.expire_all()
    cases = sorted((r.code, r.name, r.phone, r.partner_id) for r in db.session.scalars(select(Returnee)))
    answers = sorted((a.response_id, a.item, a.position, a.code, a.number, a.text)
                     for a in db.session.scalars(select(ResponseAnswer)))
    responses = sorted((r.id, r.returnee_id, r.wave, r.completed_at is not None)
                       for r in db.session.scalars(select(Response)))
    version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    return cases, answers, responses, version


def test_pg_dump_and_pg_restore_into_a_fresh_database_keep_every_case_and_answer(
        app, orgs, make_database, tmp_path):
    if app.config["DB_BACKEND"] != "postgresql":
        pytest.skip("pg_dump backs up PostgreSQL, the production database")
    _tools()
    for n in range(12):
        returnee = make_returnee(orgs["caritas"], f"GE-B-{n:03}", orgs["caritas-ge"], name=f"Mariam Backup {n}",
                                 phone=f"+99555520{n:04}", language=("ka", "ru", "en")[n % 3])
        if n < 3:
            token = link_for(returnee, "m1")
            db.session.commit()
            Phone(app, token).answer_everything()
    db.session.commit()
    before = _contents()
    cases, answers, responses, version = before
    assert len(cases) == 12 and len(responses) == 3 and all(done for *_rest, done in responses)
    assert len(answers) > 3 * 30 and version

    dump = tmp_path / "monitor.dump"
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}",
                    _libpq(app.config["SQLALCHEMY_DATABASE_URI"])], check=True, env=env, capture_output=True)
    # The dump holds names and numbers only encrypted.
    assert b"Mariam Backup" not in dump.read_bytes() and b"+995555200" not in dump.read_bytes()

    target = make_database("postgresql")
    restore = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq(target)}", str(dump)],
                             env=env, capture_output=True, text=True)
    assert restore.returncode == 0, restore.stderr

    restored = build_app(target, tmp_path / "restored", DATA_ENCRYPTION_KEYS=app.config["DATA_ENCRYPTION_KEYS"])
    with restored.app_context():
        try:
            assert _contents() == before
            # The restored database takes new work: the sequences came back with the rows.
            caritas = db.session.scalar(select(Organisation).where(Organisation.code == "caritas-ge"))
            db.session.add(make_returnee(caritas.parent, "GE-B-NEW", caritas))
            db.session.commit()
            assert db.session.scalar(select(Returnee.id).where(Returnee.code == "GE-B-NEW")) > max(
                r.id for r in db.session.scalars(select(Returnee).where(Returnee.code != "GE-B-NEW")))
        finally:
            db.session.remove()
            db.engine.dispose()
