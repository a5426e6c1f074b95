"""Partner coordinators: a reintegration partner's programme staff. They see their partner's
cases (its local partners' too), work list and dashboard, manage its local partners and users, and
import its returnees; never another partner's. (Every route's access: tests/test_access.py.)"""
from __future__ import annotations

import html
import io
import re

from sqlalchemy import func, select

from monitor.access import visible_returnees
from monitor.extensions import db
from monitor.models import Organisation, Returnee, User
from monitor.reports.filters import ReportFilter
from tests.conftest import finished_job_page
from tests.test_import import HEADER, csv_file, line

PASSWORD = "a long enough password"


def codes_seen(user):
    return sorted(r.code for r in db.session.scalars(visible_returnees(user)))


def test_a_coordinator_sees_its_partners_cases_and_only_those(users, returnees, browser_for):
    assert codes_seen(users["coordinator"]) == ["AM-C-001", "GE-C-001", "GE-C-002"]
    assert codes_seen(users["coordinator-iom"]) == ["GE-I-001"]
    page = browser_for(users["coordinator"]).get("/returnees/").get_data(as_text=True)
    assert "GE-C-001" in page and "AM-C-001" in page and "GE-I-001" not in page
    assert browser_for(users["coordinator"]).get("/returnees/GE-I-001").status_code == 404
    # Home is the work list, as for partner staff.
    assert browser_for(users["coordinator"]).get("/").location.endswith("/worklist/")


def test_a_coordinators_figures_are_its_partners(users, returnees, browser_for):
    answer = browser_for(users["coordinator"]).get("/api/v1/").get_json()
    assert (answer["role"], answer["scope"]) == ("coordinator", "caritas")
    caseload = browser_for(users["coordinator-iom"]).get("/api/v1/reports/caseload").get_json()
    assert caseload["columns"] == ["country", "IOM", "Total"]  # its partner's column, not Caritas's
    assert ReportFilter.for_user(users["coordinator"]).organisation == "caritas"
    assert browser_for(users["coordinator"]).get("/dashboard/").status_code == 200


# -- users ------------------------------------------------------------------------------------

def test_a_coordinator_manages_its_partners_users_only(users, orgs, browser_for):
    browser = browser_for(users["coordinator"])
    listing = browser.get("/admin/users").get_data(as_text=True)
    for email in ("staff@caritas.example", "staff@caritas-ge.example", "staff@caritas-am.example",
                  "coordinator@caritas.example"):
        assert email in listing
    for email in ("admin@example.org", "analyst@example.org", "staff@iom.example", "coordinator@iom.example"):
        assert email not in listing
    form = browser.get("/admin/users/new").get_data(as_text=True)
    roles = re.findall(r'<option[^>]*value="([a-z]+)"', form.split('name="role"')[1].split("</select>")[0])
    assert roles == ["partner", "coordinator"]

    made = browser.post("/admin/users/new", {"email": "field@caritas-ge.example", "role": "partner",
                                             "organisation_id": str(orgs["caritas-ge"].id), "password": PASSWORD,
                                             "active": "y"})
    assert made.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "field@caritas-ge.example"))
    assert (user.role, user.organisation_id) == ("partner", orgs["caritas-ge"].id)

    # Never above its own role, never for another partner, never without an organisation.
    for role, org in (("admin", orgs["caritas"]), ("analyst", orgs["caritas"]), ("partner", orgs["iom-ge"]),
                      ("partner", orgs["iom"]), ("partner", None)):
        page = browser.post("/admin/users/new", {"email": "nope@example.org", "role": role,
                                                 "organisation_id": str(org.id) if org else "",
                                                 "password": PASSWORD, "active": "y"})
        assert page.status_code == 200, (role, org)
        assert "Please correct the following" in page.get_data(as_text=True)
    assert db.session.scalar(select(User.id).where(User.email == "nope@example.org")) is None
    # A coordinator of a local partner does not exist: a coordinator belongs to the partner.
    page = browser.post("/admin/users/new", {"email": "nope@example.org", "role": "coordinator",
                                             "organisation_id": str(orgs["caritas-ge"].id), "password": PASSWORD,
                                             "active": "y"}).get_data(as_text=True)
    assert "A coordinator belongs to a reintegration partner" in html.unescape(page)

    # Raising its partner staff to admin by a forged form: refused, nothing changed.
    staff = users["caritas-ge"]
    forged = browser.post(f"/admin/users/{staff.id}", {"email": staff.email, "role": "admin",
                                                       "organisation_id": str(orgs["caritas-ge"].id), "active": "y"})
    assert forged.status_code == 200
    db.session.refresh(staff)
    assert staff.role == "partner"
    # Another partner's user: 404, for the page and for a POST.
    assert browser.get(f"/admin/users/{users['iom'].id}").status_code == 404
    assert browser.post(f"/admin/users/{users['iom'].id}", {"email": "staff@iom.example", "role": "partner",
                                                            "organisation_id": str(orgs["caritas"].id),
                                                            "active": ""}).status_code == 404
    db.session.refresh(users["iom"])
    assert users["iom"].active and users["iom"].organisation_id == orgs["iom"].id
    assert browser.get(f"/admin/users/{users['admin'].id}").status_code == 404
    # Its own role: not its to change.
    me = users["coordinator"]
    page = browser.post(f"/admin/users/{me.id}", {"email": me.email, "role": "partner",
                                                  "organisation_id": str(orgs["caritas"].id), "active": "y"})
    assert "You cannot deactivate yourself or change your own role" in page.get_data(as_text=True)


def test_a_coordinator_moves_staff_between_its_local_partners(users, orgs, browser_for):
    browser = browser_for(users["coordinator"])
    staff = users["caritas-ge"]
    response = browser.post(f"/admin/users/{staff.id}", {"email": staff.email, "role": "partner",
                                                         "organisation_id": str(orgs["caritas-am"].id), "active": "y"})
    assert response.status_code == 302
    db.session.refresh(staff)
    assert staff.organisation_id == orgs["caritas-am"].id


# -- organisations ----------------------------------------------------------------------------

def test_a_coordinator_adds_and_edits_its_partners_local_partners(users, orgs, browser_for):
    browser = browser_for(users["coordinator"])
    listing = browser.get("/admin/organisations").get_data(as_text=True)
    assert "Caritas Georgia" in listing and "IOM Tbilisi" not in listing
    fields = {"code": "caritas-iq", "name": "Caritas Iraq", "kind": "local", "parent_id": str(orgs["caritas"].id),
              "country": "IQ", "sender_name": "", "contact_phone": "", "contact_email": "", "active": "y"}
    assert browser.post("/admin/organisations/new", fields).status_code == 302
    made = db.session.scalar(select(Organisation).where(Organisation.code == "caritas-iq"))
    assert made.parent_id == orgs["caritas"].id and made.kind == "local"
    # Under another partner, or as a reintegration partner: not among the choices.
    for forged in ({"code": "iom-iq", "parent_id": str(orgs["iom"].id)},
                   {"code": "new-partner", "kind": "reintegration", "parent_id": ""}):
        page = browser.post("/admin/organisations/new", fields | forged)
        assert page.status_code == 200 and "Please correct the following" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 6
    # Its own local partner: editable; another partner's, or the partner itself: 404.
    assert browser.get(f"/admin/organisations/{orgs['caritas-ge'].id}").status_code == 200
    for foreign in ("iom-ge", "iom", "caritas"):
        assert browser.get(f"/admin/organisations/{orgs[foreign].id}").status_code == 404, foreign
    renamed = browser.post(f"/admin/organisations/{orgs['iom-ge'].id}", fields | {"code": "iom-ge", "name": "Mine"})
    assert renamed.status_code == 404
    db.session.refresh(orgs["iom-ge"])
    assert orgs["iom-ge"].name == "IOM Tbilisi"


def test_the_programme_pages_stay_with_admins(users, browser_for):
    browser = browser_for(users["coordinator"])
    for path in ("/admin/plan", "/admin/outbox", "/admin/languages", "/admin/audit"):
        assert browser.get(path).status_code == 403, path


# -- import -----------------------------------------------------------------------------------

def upload(browser, data: bytes, **fields):
    """The upload, then its job's page followed to the end (the import runs in the background)."""
    response = browser.post("/returnees/import", {"file": (io.BytesIO(data), "returnees.csv"), **fields})
    assert response.status_code == 302, response.get_data(as_text=True)
    response = finished_job_page(browser, response.location)
    db.session.expire_all()
    return response, html.unescape(response.get_data(as_text=True))


def test_a_coordinator_imports_for_its_own_partner_only(users, returnees, browser_for):
    columns = HEADER + ",local_partner"
    data = csv_file(line("GE-C-100", columns, local_partner="caritas-ge"),
                    line("GE-C-101", columns, partner="iom"),
                    line("GE-C-102", columns, local_partner="iom-ge"),
                    line("GE-I-001", columns),  # IOM's case, claimed for Caritas
                    header=columns)
    browser = browser_for(users["coordinator"])
    assert "You import for Caritas International only" in browser.get("/returnees/import").get_data(as_text=True)
    response, page = upload(browser, data)
    assert response.status_code == 200
    assert "line 3 (GE-C-101): the partner iom is not yours: you import for caritas only" in page
    assert "line 4 (GE-C-102): local partner iom-ge does not work with caritas" in page
    assert "line 5 (GE-I-001): the code is taken by a case of another partner" in page
    assert "line 2" not in page
    assert db.session.scalar(select(func.count()).select_from(Returnee)) == 4  # nothing written
    response, page = upload(browser, data, skip_invalid="y")
    assert db.session.scalar(select(Returnee.partner_id).where(Returnee.code == "GE-C-100")) == \
        users["coordinator"].organisation_id
    db.session.expire_all()
    assert db.session.scalar(select(Returnee).where(Returnee.code == "GE-I-001")).partner_id == \
        users["coordinator-iom"].organisation_id
    assert db.session.scalar(select(Returnee.id).where(Returnee.code == "GE-C-101")) is None
    # An admin's import is not limited.
    upload(browser_for(users["admin"]), csv_file(line("GE-I-100", partner="iom")))
    assert db.session.scalar(select(Returnee.partner_id).where(Returnee.code == "GE-I-100")) == \
        users["coordinator-iom"].organisation_id


# -- the command line -------------------------------------------------------------------------

def test_create_user_makes_a_coordinator(app, orgs):
    with app.app_context():
        runner = app.test_cli_runner()
        result = runner.invoke(args=["create-user", "coord@caritas.example", "--role", "coordinator",
                                     "--organisation", "caritas", "--password-stdin"], input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        assert result.output.startswith("created coordinator coord@caritas.example (caritas)")
        result = runner.invoke(args=["create-user", "coord@caritas-ge.example", "--role", "coordinator",
                                     "--organisation", "caritas-ge", "--password-stdin"], input=PASSWORD + "\n")
        assert result.exit_code == 1 and "A coordinator belongs to a reintegration partner" in result.output
    user = db.session.scalar(select(User).where(User.email == "coord@caritas.example"))
    assert (user.role, user.organisation.code) == ("coordinator", "caritas")
