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


def _inserter(conn):
    """insert(table, **values): a row written in SQL, as the schema of an old revision takes it
    (the models describe the newest)."""
    def insert(table, **values):
        marks = ", ".join(f":{k}" for k in values)
        conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})"), values)
    return insert


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


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_outcomes_migration_moves_existing_data(backend, make_database, tmp_path):
    """0005: old disposition names become AAPOR codes, every response gets its follow-up (made
    for the imported ones), old draws keep their selected cases as frame, m1 gets census strata."""
    from datetime import date, datetime

    app = build_app(make_database(backend), tmp_path)
    with app.app_context():
        upgrade(revision="0004_sms_channel")
        now = datetime(2026, 11, 1, 12)
        with db.engine.begin() as conn:
            insert = _inserter(conn)
            insert("organisations", id=1, code="caritas", name="Caritas International", kind="reintegration",
                   active=True, created_at=now)
            for n, (country, return_date) in enumerate([("GE", date(2026, 4, 3)), ("GE", date(2026, 4, 9)),
                                                        ("AM", date(2026, 4, 20))], start=1):
                insert("returnees", id=n, code=f"R{n}", destination_country=country, partner_id=1,
                       return_date=return_date, language="ka", preferred_channel="sms", consent_given=True,
                       consent_sms=True, consent_phone=True, do_not_contact=False, created_at=now, updated_at=now)
            insert("sample_draws", id=1, wave="m6", cohort="2026-04", seed=42, fraction=0.2, min_per_stratum=1,
                   drawn_at=now, frame_size=3, sample_size=2)
            insert("sample_strata", id=1, draw_id=1, country="GE", partner_id=1, frame_size=2, sample_size=1,
                   probability=0.5)
            common = dict(channel="sms", reminders_sent=0, attempts=0, created_at=now, version=1)
            insert("follow_ups", id=1, returnee_id=1, wave="m1", due_date=date(2026, 5, 3),
                   window_opens=date(2026, 5, 3), window_closes=date(2026, 6, 2), state="closed",
                   disposition="complete", inclusion_probability=1.0, closed_at=now, **common)
            insert("follow_ups", id=2, returnee_id=2, wave="m1", due_date=date(2026, 5, 9),
                   window_opens=date(2026, 5, 9), window_closes=date(2026, 6, 8), state="closed",
                   disposition="cancelled", inclusion_probability=1.0, closed_at=now, **common)
            insert("follow_ups", id=3, returnee_id=1, wave="m6", due_date=date(2026, 10, 2),
                   window_opens=date(2026, 10, 2), window_closes=date(2026, 11, 16), state="invited",
                   sample_draw_id=1, inclusion_probability=0.5, **common)
            response = dict(language="ka", questionnaire_code="standard", questionnaire_version=1, first_follow_up=True,
                            started_at=now, updated_at=now)
            insert("responses", id=1, returnee_id=1, wave="m1", mode="sms-web", disposition="complete",
                   imported=False, completed_at=now, **response)
            insert("responses", id=2, returnee_id=3, wave="m1", mode="phone", disposition="partial",
                   imported=True, completed_at=now, **response)
            # R3 replied STOP and the old code left its m6 follow-up on the phone list.
            conn.execute(sa.text("UPDATE returnees SET sms_opted_out_at = :now WHERE id = 3"), {"now": now})
            insert("follow_ups", id=4, returnee_id=3, wave="m6", due_date=date(2026, 10, 19),
                   window_opens=date(2026, 10, 19), window_closes=date(2026, 12, 3), state="phone_task",
                   inclusion_probability=1.0, next_action_at=datetime(2026, 12, 4), **common)
            # A paper interview imported after the window closed R2's m12 as a non-contact.
            insert("follow_ups", id=5, returnee_id=2, wave="m12", due_date=date(2027, 4, 9),
                   window_opens=date(2026, 10, 9), window_closes=date(2026, 10, 30), state="closed",
                   disposition="non-contact", inclusion_probability=1.0, closed_at=now, **common)
            insert("responses", id=3, returnee_id=2, wave="m12", mode="phone", disposition="complete",
                   imported=True, completed_at=now, **response)
            if backend == "postgresql":  # rows inserted with their ids: move the sequences past them
                for table in ("organisations", "returnees", "sample_draws", "sample_strata", "follow_ups", "responses"):
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"))

        upgrade()
        with db.engine.connect() as conn:
            follow_ups = {row.id: row for row in conn.execute(sa.text("SELECT * FROM follow_ups"))}
            responses = {row.id: row.follow_up_id for row in conn.execute(sa.text("SELECT id, follow_up_id FROM responses"))}
            frame = conn.execute(sa.text("SELECT wave, returnee_id, stratum_id, selected FROM sample_frame")).all()
            draws = conn.execute(sa.text("SELECT kind, cohort, frame_stored, frame_size FROM sample_draws ORDER BY id")).all()
            strata = conn.execute(sa.text("SELECT draw_id, country, frame_size, probability FROM sample_strata ORDER BY id")).all()
        assert follow_ups[1].disposition == "1.1" and follow_ups[2].disposition == "2.11"  # cancelled: withdrew etc.
        assert follow_ups[3].disposition is None and follow_ups[3].stratum_id == 1
        assert responses[1] == 1
        made = follow_ups[responses[2]]  # the imported response got a follow-up of its own
        assert (made.returnee_id, made.wave, made.source, made.disposition, made.inclusion_probability) == \
            (3, "m1", "imported", "1.2", None)
        assert frame == [("m6", 1, 1, True)]
        assert [(kind, bool(stored)) for kind, _cohort, stored, _size in draws] == \
            [("sample", False), ("census", True)]
        assert draws[1][1:] == ("2026-04", True, 2)  # R1 and R2's planned m1 follow-ups
        assert strata[1][1:] == ("GE", 2, 1.0)
        assert follow_ups[1].inclusion_probability == 1.0 and follow_ups[1].stratum_id is not None
        assert follow_ups[4].state == "phone_task" and not str(follow_ups[4].next_action_at).startswith("2026-12-04")
        assert (follow_ups[5].disposition, responses[3]) == ("1.1", 5)  # the answered interview wins
        db.engine.dispose()


PARTNERS_REVISION = "0007_reintegration_partners"


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


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_answer_identity_migration_removes_doubled_answers(backend, make_database, tmp_path):
    """0010: answers a double press stored twice (before the lock and the unique index) are kept
    once, in their order, and the index then refuses a copy."""
    from datetime import date, datetime

    app = build_app(make_database(backend), tmp_path)
    with app.app_context():
        upgrade(revision="0009_login_throttles")
        now = datetime(2026, 11, 1, 12)
        with db.engine.begin() as conn:
            insert = _inserter(conn)
            partner = conn.scalar(sa.text("SELECT id FROM organisations WHERE code = 'caritas'"))
            insert("returnees", id=1, code="R1", destination_country="GE", partner_id=partner,
                   return_date=date(2026, 9, 1), language="ka", preferred_channel="sms", consent_given=True,
                   consent_sms=True, consent_phone=True, do_not_contact=False, created_at=now, updated_at=now)
            insert("follow_ups", id=1, returnee_id=1, wave="m1", due_date=date(2026, 10, 1),
                   window_opens=date(2026, 10, 1), window_closes=date(2026, 10, 31), state="invited",
                   channel="sms", reminders_sent=0, attempts=0, created_at=now, version=1, source="planned")
            insert("responses", id=1, follow_up_id=1, returnee_id=1, wave="m1", questionnaire_code="standard",
                   questionnaire_version=2, mode="sms-web", language="ka", first_follow_up=True, imported=False,
                   started_at=now, updated_at=now)
            rows = [("housing_situation", None, "rented"), ("income_sources", 0, "work"),
                    ("income_sources", 1, "family")]
            for _copy in range(2):
                for item, position, code in rows:
                    insert("response_answers", response_id=1, item=item, position=position, code=code)
        upgrade(revision="0010_answer_identity")
        with db.engine.begin() as conn:
            kept = conn.execute(sa.text("SELECT item, position, code FROM response_answers "
                                        "ORDER BY item, position")).all()
        assert [tuple(row) for row in kept] == [("housing_situation", None, "rented"),
                                                ("income_sources", 0, "work"), ("income_sources", 1, "family")]
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO response_answers (response_id, item, position, code) "
                                 "VALUES (1, 'housing_situation', NULL, 'owned')"))
        db.engine.dispose()


ATTENTION_REVISION = "0011_attention_items"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_attention_migration_gives_existing_flags_their_items(backend, make_database, tmp_path):
    """0011: the flags of live responses (and of imported ones whose window is still open) get
    needs-attention items, closed when the flag was marked resolved; imported history gets none.
    Down again, the resolutions go back on the flags."""
    from datetime import date, datetime, timedelta

    from alembic.script import ScriptDirectory

    before = ScriptDirectory(str(Path(__file__).resolve().parents[1] / "migrations")).get_revision(
        ATTENTION_REVISION).down_revision
    app = build_app(make_database(backend), tmp_path)
    with app.app_context():
        upgrade(revision=before)
        now = datetime(2026, 11, 1, 12)
        with db.engine.begin() as conn:
            insert = _inserter(conn)
            partner = conn.scalar(sa.text("SELECT id FROM organisations WHERE code = 'caritas'"))
            insert("users", id=1, email="staff@caritas.example", password_hash="x", role="partner",
                   organisation_id=partner, active=True, session_token="t", created_at=now)
            far, soon = date.today() - timedelta(days=40), date.today() + timedelta(days=10)
            for n, (imported, closes) in enumerate([(False, far), (True, far), (True, soon)], start=1):
                insert("returnees", id=n, code=f"R{n}", destination_country="GE", partner_id=partner,
                       return_date=date(2026, 9, 1), language="ka", preferred_channel="sms", consent_given=True,
                       consent_sms=True, consent_phone=True, do_not_contact=False, created_at=now, updated_at=now)
                insert("follow_ups", id=n, returnee_id=n, wave="m1", due_date=closes - timedelta(days=30),
                       window_opens=closes - timedelta(days=30), window_closes=closes, state="closed",
                       disposition="1.1", source="imported" if imported else "planned", channel="sms",
                       reminders_sent=0, attempts=0, created_at=now, closed_at=now, version=1)
                insert("responses", id=n, follow_up_id=n, returnee_id=n, wave="m1", mode="phone", language="ka",
                       questionnaire_code="standard", questionnaire_version=1, first_follow_up=True,
                       imported=imported, started_at=now, updated_at=now, completed_at=now)
                insert("response_flags", response_id=n, flag="no_shelter")
            insert("response_flags", response_id=1, flag="asked_to_pay", resolved_at=now, resolved_by_id=1)

        upgrade()
        with db.engine.connect() as conn:
            items = conn.execute(sa.text("SELECT response_id, flag, action, closed_at, closed_by_id, opened_at "
                                         "FROM attention_items ORDER BY response_id, flag")).all()
            flag_columns = {c["name"] for c in sa.inspect(conn).get_columns("response_flags")}
        assert [(i.response_id, i.flag, i.action, i.closed_by_id) for i in items] == [
            (1, "asked_to_pay", "resolved_earlier", 1), (1, "no_shelter", None, None), (3, "no_shelter", None, None)]
        assert str(items[0].closed_at).startswith("2026-11-01 12:00") and str(items[1].opened_at).startswith("2026-11-01")
        assert flag_columns == {"response_id", "flag"}

        downgrade(revision=before)
        with db.engine.connect() as conn:
            flags = conn.execute(sa.text("SELECT response_id, flag, resolved_by_id FROM response_flags "
                                         "ORDER BY response_id, flag")).all()
        assert [tuple(f) for f in flags] == [(1, "asked_to_pay", 1), (1, "no_shelter", None), (2, "no_shelter", None),
                                             (3, "no_shelter", None)]
        db.engine.dispose()


ERASURE_REVISION = "0015_erasure"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_erasure_migration_copies_stop_and_start_into_the_consent_history(backend, make_database, tmp_path):
    """0015: the STOPs and STARTs recorded before (in the audit log only) become consent events,
    with how each came (a text, the link's page, the carrier); down again, they go."""
    from datetime import date, datetime

    from alembic.script import ScriptDirectory

    before = ScriptDirectory(str(Path(__file__).resolve().parents[1] / "migrations")).get_revision(
        ERASURE_REVISION).down_revision
    app = build_app(make_database(backend), tmp_path)
    with app.app_context():
        upgrade(revision=before)
        audit = sa.table("audit_entries", sa.column("at", sa.DateTime), sa.column("actor", sa.String),
                         sa.column("action", sa.String), sa.column("object_type", sa.String),
                         sa.column("object_id", sa.String), sa.column("details", sa.JSON))
        with db.engine.begin() as conn:
            insert = _inserter(conn)
            partner = conn.scalar(sa.text("SELECT id FROM organisations WHERE code = 'caritas'"))
            now = datetime(2026, 11, 1, 12)
            for n in (1, 2):
                insert("returnees", id=n, code=f"R{n}", destination_country="GE", partner_id=partner,
                       return_date=date(2026, 9, 1), language="ka", preferred_channel="sms", consent_given=True,
                       consent_sms=True, consent_phone=True, do_not_contact=False, created_at=now, updated_at=now)
            conn.execute(audit.insert(), [
                {"at": datetime(2026, 11, 2, 9), "actor": "returnee", "action": "returnee.sms.stop",
                 "object_type": "returnees", "object_id": "R1", "details": {"via": "sms"}},
                {"at": datetime(2026, 11, 3, 9), "actor": "returnee", "action": "returnee.sms.start",
                 "object_type": "returnees", "object_id": "R1", "details": {}},
                {"at": datetime(2026, 11, 4, 9), "actor": "returnee", "action": "returnee.sms.stop",
                 "object_type": "returnees", "object_id": "R1", "details": {"via": "link"}},
                {"at": datetime(2026, 11, 5, 9), "actor": "twilio", "action": "returnee.sms.stop",
                 "object_type": "returnees", "object_id": "R2", "details": {"via": "Twilio error 21610"}},
                {"at": datetime(2026, 11, 5, 9), "actor": "cli", "action": "returnee.edit",
                 "object_type": "returnees", "object_id": "R2", "details": {"fields": ["phone"]}},
            ])
        upgrade(revision=ERASURE_REVISION)
        with db.engine.connect() as conn:
            events = conn.execute(sa.text("SELECT returnee_id, kind, method, channels, at FROM consent_events "
                                          "ORDER BY at, id")).all()
        assert [tuple(e)[:4] for e in events] == [(1, "stop", "sms", ""), (1, "start", "sms", ""),
                                                 (1, "stop", "link", ""), (2, "stop", "carrier", "")]
        assert str(events[0].at).startswith("2026-11-02 09:00")
        downgrade(revision=before)
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM consent_events")) == 0
            assert "erased_at" not in {c["name"] for c in sa.inspect(conn).get_columns("returnees")}
        db.engine.dispose()
