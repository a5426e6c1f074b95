"""A fresh installation works without the demo: the migrations create the two reintegration
partners, `monitor organisations add` the local partners, and an import can name them at once.
`monitor demo --if-empty` then loads nothing (there are returnees), or, on an empty database,
reuses the migration's partners instead of inserting them a second time.

Every test runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import html
import io
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.demo import DEMO_PASSWORD, LOCAL_PARTNERS, REINTEGRATION_PARTNERS
from monitor.extensions import db
from monitor.models import AuditEntry, Organisation, Returnee, User
from monitor.returnees.importing import import_returnees
from tests.conftest import finished_job_page

# The installed console script beside this Python (make test's virtualenv), else the same module.
MONITOR = ([str(Path(sys.executable).with_name("monitor"))] if Path(sys.executable).with_name("monitor").exists()
           else [sys.executable, "-m", "monitor.cli"])
HEADER = "code,destination_country,partner,return_date,language,channel,phone,consent,local_partner"


def returnee_csv(tmp_path, *rows):
    returned = (date.today() - timedelta(days=40)).isoformat()
    path = tmp_path / "returnees.csv"
    path.write_text("\n".join([HEADER, *(row.format(returned=returned) for row in rows)]) + "\n", encoding="utf-8")
    return str(path)


def codes_and_counts():
    return dict(db.session.execute(select(Organisation.code, func.count()).group_by(Organisation.code)).all())


def invoke(app, *args):
    """One `monitor` command, in an app context of its own as the `monitor` script gives it."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
    assert "Traceback" not in result.output
    return result


# -- a fresh installation, through the real command line ----------------------------------------

def test_fresh_installation_without_demo(fresh, tmp_path):
    result = invoke(fresh, "db", "upgrade")
    assert result.exit_code == 0, result.output

    result = invoke(fresh, "organisations", "add", "caritas-ge", "--name", "Caritas Georgia", "--parent", "caritas",
                    "--country", "GE")
    assert result.exit_code == 0, result.output
    assert result.output == "created local partner caritas-ge (Caritas Georgia) under caritas, GE\n"

    # The installed `monitor` script itself, as an administrator runs it.
    result = subprocess.run([*MONITOR, "organisations", "list"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MONITOR_ENV": "testing", "DATABASE_URL": fresh.config["SQLALCHEMY_DATABASE_URI"],
                                 "MONITOR_INSTANCE_PATH": fresh.instance_path})
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["code", "caritas", "caritas-ge", "iom"]

    data = returnee_csv(tmp_path, "GE-0001,GE,caritas,{returned},ka,sms,+995555123456,yes,caritas-ge",
                        "GE-0002,Georgia,iom,{returned},ru,phone,555 12 34 57,yes,",
                        "AM-0001,ARM,caritas,{returned},hy,sms,+37477123456,yes,")
    result = invoke(fresh, "import-returnees", data)
    assert result.exit_code == 0, result.output
    assert "3 rows read: 3 created" in result.output

    result = invoke(fresh, "demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert result.output == "the database already holds data: no demo loaded\n"  # and no demo logins

    with fresh.app_context():
        assert codes_and_counts() == {"caritas": 1, "iom": 1, "caritas-ge": 1}
        cases = {r.code: r for r in db.session.scalars(select(Returnee))}
        assert sorted(cases) == ["AM-0001", "GE-0001", "GE-0002"]
        assert (cases["GE-0001"].partner.code, cases["GE-0001"].local_partner.code) == ("caritas", "caritas-ge")
        assert cases["GE-0002"].partner.code == "iom" and cases["GE-0002"].local_partner is None
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "organisation.create")).all()
        assert (entry.actor, entry.object_type, entry.object_id) == ("cli", "organisations", "caritas-ge")


def test_demo_on_an_empty_database_reuses_the_migrations_partners(fresh):
    assert invoke(fresh, "db", "upgrade").exit_code == 0
    with fresh.app_context():
        before = {o.code: (o.id, o.name, o.sender_name) for o in db.session.scalars(select(Organisation))}
    assert set(before) == {"caritas", "iom"}

    result = invoke(fresh, "demo", "--if-empty", "--size", "30")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("demo loaded: 30 returnees\n") and "admin@demo.example" in result.output

    with fresh.app_context():
        counts = codes_and_counts()
        assert set(counts.values()) == {1}  # exactly one row per code
        assert set(counts) == {"caritas", "iom"} | {code for code, *_rest in LOCAL_PARTNERS}
        partners = {o.code: o for o in db.session.scalars(select(Organisation).where(Organisation.kind == "reintegration"))}
        assert {code: (o.id, o.name, o.sender_name) for code, o in partners.items()} == before
        # The demo fills the empty public contact with its own.
        assert {(o.code, o.contact_phone, o.contact_email) for o in partners.values()} == {
            (code, phone, email) for code, _name, _sender, phone, email in REINTEGRATION_PARTNERS}
        assert db.session.scalar(select(func.count()).select_from(Returnee)) == 30

    result = invoke(fresh, "demo", "--if-empty")
    assert result.exit_code == 0 and "already holds data" in result.output
    with fresh.app_context():
        assert db.session.scalar(select(func.count()).select_from(Returnee)) == 30


def test_demo_reuses_a_local_partner_added_before_it(fresh):
    assert invoke(fresh, "db", "upgrade").exit_code == 0
    result = invoke(fresh, "organisations", "add", "caritas-ge", "--name", "Caritas Georgia (Tbilisi)",
                    "--parent", "caritas", "--country", "Georgia", "--sender-name", "Caritas GE")
    assert result.exit_code == 0, result.output
    result = invoke(fresh, "demo", "--size", "20")  # no returnees yet: the database counts as empty
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        assert set(codes_and_counts().values()) == {1}
        local = db.session.scalar(select(Organisation).where(Organisation.code == "caritas-ge"))
        assert (local.name, local.sender_name) == ("Caritas Georgia (Tbilisi)", "Caritas GE")
        staff = db.session.scalar(select(User).where(User.email == "caritas-ge@demo.example"))
        assert staff.organisation_id == local.id and staff.check_password(DEMO_PASSWORD)


# -- monitor organisations add ------------------------------------------------------------------

def add(app, code, *options):
    return app.test_cli_runner().invoke(args=["organisations", "add", code, *options])


def assert_refused(result, message):
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"  # one line, no traceback


def test_add_a_local_partner(app):
    caritas = db.session.scalar(select(Organisation).where(Organisation.code == "caritas"))
    result = add(app, "caritas-ua", "--name", " Caritas Ukraine ", "--parent", "CARITAS", "--country", "UKR",
                 "--sender-name", "Caritas UA", "--contact-phone", "+380441234567")
    assert result.exit_code == 0, result.output
    assert result.output == "created local partner caritas-ua (Caritas Ukraine) under caritas, UA\n"
    db.session.expire_all()
    org = db.session.scalar(select(Organisation).where(Organisation.code == "caritas-ua"))
    assert (org.name, org.kind, org.parent_id, org.country, org.sender_name, org.contact_phone, org.active) == (
        "Caritas Ukraine", "local", caritas.id, "UA", "Caritas UA", "+380441234567", True)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "organisation.create")).all()
    assert (entry.actor, entry.object_id, entry.details, entry.user_id) == ("cli", "caritas-ua", {"code": "caritas-ua"}, None)
    # What the import accepts at once.
    report = import_returnees(
        (HEADER + "\nUA-1,UA,caritas,2026-09-01,uk,sms,+380501234567,yes,caritas-ua\n").encode(), actor="test",
        today=date(2026, 11, 24))
    assert report.created == 1 and not report.errors


@pytest.mark.parametrize("code, options, message", [
    ("caritas-be", ["--parent", "fedasil"], "unknown reintegration partner 'fedasil': use one of caritas, iom"),
    ("caritas-be", ["--parent", "caritas-ge"],
     "caritas-ge is a local partner, not a reintegration partner: use one of caritas, iom"),
    ("caritas-ge", [], "another organisation already has the code caritas-ge"),
    ("iom", [], "another organisation already has the code iom"),
    ("caritas-be", ["--country", "Narnia"],
     "--country: unknown country 'Narnia': use an ISO code (GE, GEO) or the English name"),
    ("caritas-be", ["--country", " "], "--country is empty: give an ISO code (GE, GEO) or the English name"),
    ("Caritas-BE", [], "the code 'Caritas-BE' may only hold lower-case letters, digits and hyphens "
                       "(at most 40, starting with a letter or digit), e.g. caritas-ge"),
    ("caritas_be", [], "the code 'caritas_be' may only hold lower-case letters, digits and hyphens "
                       "(at most 40, starting with a letter or digit), e.g. caritas-ge"),
    ("caritas-be", ["--name", "  "], "--name is empty"),
    ("caritas-be", ["--sender-name", "x" * 41], "--sender-name is too long: at most 40 characters"),
])
def test_add_refuses(app, orgs, code, options, message):
    values = {"--name": "Caritas Belgium", "--parent": "caritas", "--country": "BE"}
    for option, value in zip(options[::2], options[1::2]):
        values[option] = value
    before = codes_and_counts()
    assert_refused(add(app, code, *[item for pair in values.items() for item in pair]), message)
    db.session.expire_all()
    assert codes_and_counts() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_add_checks_codes_case_insensitively(app):
    db.session.add(Organisation(code="Caritas-BE", name="Made before the code rule", kind="local"))
    db.session.commit()
    assert_refused(add(app, "caritas-be", "--name", "Caritas Belgium", "--parent", "caritas", "--country", "BE"),
                   "another organisation already has the code caritas-be")


def test_add_refuses_an_inactive_parent(app):
    iom = db.session.scalar(select(Organisation).where(Organisation.code == "iom"))
    iom.active = False
    db.session.commit()
    assert_refused(add(app, "iom-ua", "--name", "IOM Kyiv", "--parent", "iom", "--country", "UA"),
                   "the reintegration partner iom is not active: use one of caritas")
    db.session.execute(Organisation.__table__.update().values(active=False))
    db.session.commit()
    assert_refused(add(app, "iom-ua", "--name", "IOM Kyiv", "--parent", "iom", "--country", "UA"),
                   "the reintegration partner iom is not active: reactivate it under Admin > Organisations")
    assert_refused(add(app, "iom-ua", "--name", "IOM Kyiv", "--parent", "unicef", "--country", "UA"),
                   "unknown reintegration partner 'unicef': no reintegration partner is active: "
                   "reactivate caritas or iom under Admin > Organisations")


def test_add_requires_its_options(app):
    result = add(app, "caritas-be", "--name", "Caritas Belgium", "--country", "BE")
    assert result.exit_code == 2 and "Missing option '--parent'" in result.output


# -- monitor organisations list -----------------------------------------------------------------

def test_list(app, orgs):
    orgs["iom-ge"].active = False
    orgs["caritas-ge"].sender_name = "Caritas GE"
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["organisations", "list"])
    assert result.exit_code == 0, result.output
    rows = [re.split(r" {2,}", line) for line in result.output.splitlines()]
    assert rows == [
        ["code", "name", "kind", "parent", "country", "sender name", "active"],
        ["caritas", "Caritas International", "reintegration", "-", "-", "Caritas", "yes"],
        ["caritas-am", "Caritas Armenia", "local", "caritas", "AM", "-", "yes"],
        ["caritas-ge", "Caritas Georgia", "local", "caritas", "GE", "Caritas GE", "yes"],
        ["iom", "IOM", "reintegration", "-", "-", "IOM", "yes"],
        ["iom-ge", "IOM Tbilisi", "local", "iom", "GE", "-", "no"],
    ]
    lines = result.output.splitlines()
    kind_at = lines[0].index("kind")  # a table: every column starts where its heading does
    assert all(line[kind_at:].startswith(row[2]) for line, row in zip(lines, rows))


# -- the partners are there from the start, and after every test --------------------------------

@pytest.mark.parametrize("round_", [1, 2])
def test_the_migrations_partners_come_back_unchanged_after_each_test(app, migrated_app, round_):
    reference = {row["code"]: row for row in migrated_app.config["REFERENCE_DATA"]["organisations"]}
    stored = {o.code: o for o in db.session.scalars(select(Organisation))}
    assert set(stored) == {"caritas", "iom"}
    assert {code: (o.id, o.name, o.kind, o.sender_name, o.active) for code, o in stored.items()} == {
        code: (row["id"], row["name"], row["kind"], row["sender_name"], row["active"]) for code, row in reference.items()}
    assert (stored["caritas"].name, stored["iom"].name) == ("Caritas International", "IOM")
    # Change them, and add one: the next round must find them as the migration made them.
    stored["caritas"].name, stored["iom"].active = f"Renamed in round {round_}", False
    added = Organisation(code="enabel", name="Enabel", kind="reintegration")
    db.session.add(added)
    db.session.commit()
    assert added.id > max(row["id"] for row in reference.values())


# -- the import, when no partner matches --------------------------------------------------------

def test_import_names_the_migrations_partners(app):
    data = (HEADER + "\nX-1,GE,fedasil,2026-09-01,ka,none,,no,\nX-2,GE,iom,2026-09-01,ka,none,,no,\n").encode()
    report = import_returnees(data, actor="test", today=date(2026, 11, 24), skip_invalid=True)
    assert [e.message for e in report.errors] == ["unknown partner 'fedasil': use one of caritas, iom"]
    assert report.created == 1


def test_import_says_what_to_do_when_no_partner_is_active(app):
    db.session.execute(Organisation.__table__.update().values(active=False))
    db.session.commit()
    data = (HEADER + "\nX-1,GE,caritas,2026-09-01,ka,none,,no,\n").encode()
    report = import_returnees(data, actor="test", today=date(2026, 11, 24))
    [error] = report.errors
    assert error.message == ("unknown partner 'caritas': no reintegration partner is active; an administrator "
                             "must reactivate Caritas or IOM under Organisations before importing")
    assert "use one of" not in error.message
    assert db.session.scalar(select(func.count()).select_from(Returnee)) == 0


def test_import_page_says_it_in_the_users_language(app, users, browser_for):
    users["admin"].locale = "fr"
    db.session.execute(Organisation.__table__.update().where(Organisation.kind == "reintegration").values(active=False))
    db.session.commit()
    data = (HEADER + "\nX-1,GE,caritas,2026-09-01,ka,none,,no,\n").encode()
    browser = browser_for(users["admin"])
    response = browser.post("/returnees/import", {"file": (io.BytesIO(data), "r.csv"), "dry_run": "y"})
    page = html.unescape(finished_job_page(browser, response.location).get_data(as_text=True))
    assert ("partenaire inconnu 'caritas' : aucun partenaire de réintégration n'est actif ; un administrateur doit "
            "réactiver Caritas ou l'OIM sous Organisations avant l'importation") in page
