"""Admin pages, returnee pages, the operations behind them, and their audit trail."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import AuditEntry, Organisation, Returnee, User


def last_audit(action=None):
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return db.session.scalars(stmt).first()


def edit_data(returnee, **overrides):
    data = {
        "destination_country": returnee.destination_country, "partner_id": str(returnee.partner_id),
        "local_partner_id": str(returnee.local_partner_id or ""), "return_date": returnee.return_date.isoformat(),
        "language": returnee.language, "preferred_channel": returnee.preferred_channel, "sex": "",
        "birth_year": "", "adults": "", "children": "", "support_package": "", "name": "", "phone": "",
    }
    data.update(overrides)
    return data


# -- organisations ------------------------------------------------------------------------------

def test_admin_creates_a_local_partner(users, orgs, browser_for):
    browser = browser_for(users["admin"])
    response = browser.post("/admin/organisations/new", {
        "code": "iom-iq", "name": "IOM Erbil", "kind": "local", "parent_id": str(orgs["iom"].id), "country": "IQ",
        "sender_name": "", "contact_phone": "", "contact_email": "", "active": "y"})
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.code == "iom-iq"))
    assert org.parent_id == orgs["iom"].id and org.country == "IQ" and org.signature == "IOM"
    assert last_audit().action == "organisation.create"
    assert "IOM Erbil" in browser.get("/admin/organisations").get_data(as_text=True)


def test_organisation_form_errors(users, orgs, browser_for):
    browser = browser_for(users["admin"])
    page = browser.post("/admin/organisations/new", {
        "code": "caritas", "name": "Copy", "kind": "local", "parent_id": "", "country": ""}).get_data(as_text=True)
    assert "Another organisation already has this code." in page
    assert "Choose the reintegration partner this local partner works with." in page
    page = browser.post("/admin/organisations/new", {"code": "Bad Code!", "name": "", "kind": "reintegration"}).get_data(as_text=True)
    assert "Lower-case letters, digits and hyphens only." in page
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 5


# -- users --------------------------------------------------------------------------------------

def test_admin_creates_partner_staff(users, orgs, browser_for):
    browser = browser_for(users["admin"])
    response = browser.post("/admin/users/new", {
        "email": "New.Staff@IOM.example", "role": "partner", "organisation_id": str(orgs["iom-ge"].id),
        "locale": "fr", "password": "a long enough password", "active": "y"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.staff@iom.example"))
    assert user.organisation_id == orgs["iom-ge"].id and user.locale == "fr"
    assert browser_for().login("new.staff@iom.example", "a long enough password").status_code == 302


def test_user_form_errors(users, orgs, browser_for):
    browser = browser_for(users["admin"])
    page = browser.post("/admin/users/new", {"email": "x@example.org", "role": "partner", "organisation_id": "",
                                             "password": "a long enough password"}).get_data(as_text=True)
    assert "Partner staff must belong to a partner organisation." in page
    page = browser.post("/admin/users/new", {"email": "admin@example.org", "role": "admin",
                                             "password": "a long enough password"}).get_data(as_text=True)
    assert "There is already an account for admin@example.org." in page
    page = browser.post("/admin/users/new", {"email": "y@example.org", "role": "admin", "password": ""}).get_data(as_text=True)
    assert "A new account needs a password." in page
    page = browser.post(f"/admin/users/{users['admin'].id}", {"email": "admin@example.org", "role": "analyst",
                                                              "active": "y"}).get_data(as_text=True)
    assert "You cannot deactivate yourself" in page
    db.session.refresh(users["admin"])
    assert users["admin"].role == "admin"


def test_role_change_ends_the_users_sessions(users, orgs, browser_for):
    staff = browser_for(users["iom"])
    admin = browser_for(users["admin"])
    response = admin.post(f"/admin/users/{users['iom'].id}", {
        "email": "staff@iom.example", "role": "analyst", "organisation_id": "", "locale": "", "active": "y"})
    assert response.status_code == 302
    assert staff.get("/returnees/").status_code == 302
    entry = last_audit("user.edit")
    assert entry.details == {"fields": ["role", "organisation"]}


def test_cli_create_user(app, orgs):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Coord@Caritas.example", "--role", "partner", "--partner", "CARITAS",
                                 "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "created partner coord@caritas.example (caritas)" in result.output
    result = runner.invoke(args=["create-user", "other@example.org", "--role", "partner", "--partner", "nope",
                                 "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 1 and "Unknown organisation nope." in result.output
    result = runner.invoke(args=["create-user", "other@example.org", "--role", "admin", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "Use at least 12 characters for the password." in result.output
    result = runner.invoke(args=["create-user", "not-an-email", "--role", "admin", "--password-stdin"],
                           input="a long enough password\n")
    assert result.exit_code == 1 and "not a valid e-mail address" in result.output
    result = runner.invoke(args=["create-user", "prompted@example.org", "--role", "analyst"],
                           input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 2
    assert last_audit("user.create").actor == "cli"


# -- returnees ----------------------------------------------------------------------------------

def test_partner_edits_a_case(users, returnees, browser_for):
    returnee = returnees["caritas-ge"]
    browser = browser_for(users["caritas-ge"])
    form = browser.get(f"/returnees/{returnee.code}/edit").get_data(as_text=True)
    assert "+995555123456" not in form and "Nino" not in form  # never pre-filled
    assert 'name="partner_id"' not in form  # partner staff cannot move a case to another partner
    response = browser.post(f"/returnees/{returnee.code}/edit", edit_data(
        returnee, phone="555 98 76 54", language="ru", vulnerabilities=["medical", "family_with_children"],
        children="2"))
    assert response.status_code == 302
    db.session.refresh(returnee)
    assert returnee.phone == "+995555987654" and returnee.language == "ru" and returnee.children == 2
    assert returnee.vulnerabilities == ["family_with_children", "medical"]
    assert returnee.name == "Nino Beridze"  # an empty box keeps the stored name
    entry = last_audit("returnee.edit")
    assert entry.object_id == returnee.code and entry.user_id == users["caritas-ge"].id
    assert sorted(entry.details["fields"]) == ["children", "language", "phone", "vulnerabilities"]
    assert "555" not in str(entry.details)  # the audit names fields, never personal data


def test_edit_rejects_a_bad_phone_number_and_keeps_the_stored_one(users, returnees, browser_for):
    returnee = returnees["caritas-ge"]
    browser = browser_for(users["admin"])
    page = browser.post(f"/returnees/{returnee.code}/edit", edit_data(returnee, phone="12")).get_data(as_text=True)
    assert "the phone number is not a valid number" in page
    db.session.refresh(returnee)
    assert returnee.phone == "+995555123456"


def test_admin_moves_a_case_and_local_partner_must_match(users, returnees, orgs, browser_for):
    returnee = returnees["caritas-ge"]
    browser = browser_for(users["admin"])
    page = browser.post(f"/returnees/{returnee.code}/edit", edit_data(
        returnee, partner_id=str(orgs["iom"].id), local_partner_id=str(orgs["caritas-ge"].id))).get_data(as_text=True)
    assert "This local partner does not work with the chosen reintegration partner." in page
    response = browser.post(f"/returnees/{returnee.code}/edit", edit_data(
        returnee, partner_id=str(orgs["iom"].id), local_partner_id=str(orgs["iom-ge"].id)))
    assert response.status_code == 302
    db.session.refresh(returnee)
    assert returnee.partner_id == orgs["iom"].id
    assert browser_for(users["caritas-ge"]).get(f"/returnees/{returnee.code}").status_code == 404


def test_consent_withdrawal_and_new_consent(users, returnees, browser_for):
    returnee = returnees["caritas-ge"]
    browser = browser_for(users["caritas-ge"])
    page = browser.post(f"/returnees/{returnee.code}/consent/withdraw", {}).get_data(as_text=True)
    db.session.refresh(returnee)
    assert returnee.consent_active  # not confirmed: nothing happens
    browser.post(f"/returnees/{returnee.code}/consent/withdraw", {"withdraw-confirm": "y"})
    db.session.refresh(returnee)
    assert not returnee.consent_active and not returnee.may_contact("sms") and not returnee.may_contact("phone")
    assert last_audit().action == "returnee.consent.withdraw"
    assert returnee not in db.session.scalars(select(Returnee).where(Returnee.contactable_clause())).all()

    browser.post(f"/returnees/{returnee.code}/consent", {"consent-channels": ["phone"], "consent-method": "verbal"})
    db.session.refresh(returnee)
    assert returnee.consent_active and returnee.may_contact("phone") and not returnee.may_contact("sms")
    assert [e.kind for e in returnee.consent_events] == ["given", "withdrawn", "given"]
    page = browser.get(f"/returnees/{returnee.code}").get_data(as_text=True)
    assert "withdrawn" in page


def test_do_not_contact_blocks_every_channel(users, returnees, browser_for):
    returnee = returnees["caritas-ge"]
    browser = browser_for(users["admin"])
    browser.post(f"/returnees/{returnee.code}/do-not-contact", {"value": "1"})
    db.session.refresh(returnee)
    assert returnee.do_not_contact and not returnee.may_contact("sms") and not returnee.may_contact("phone")
    contactable = db.session.scalars(select(Returnee.code).where(Returnee.contactable_clause())).all()
    assert sorted(contactable) == ["AM-C-001", "GE-C-002", "GE-I-001"]
    # The filtered list shows that case, and only that one ("Do not contact" is also a filter
    # option, on the page whatever the data: look at the rows).
    listed = re.findall(r'<a href="/returnees/([A-Z0-9-]+)"', browser.get("/returnees/?status=do_not_contact").get_data(as_text=True))
    assert listed == [returnee.code]
    browser.post(f"/returnees/{returnee.code}/do-not-contact", {"value": "0"})
    db.session.refresh(returnee)
    assert not returnee.do_not_contact
    assert [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == returnee.code)
                                                 .order_by(AuditEntry.id))][-2:] == [
        "returnee.do_not_contact.set", "returnee.do_not_contact.clear"]


def test_contact_view_is_audited(users, returnees, browser_for):
    browser_for(users["caritas"]).post("/returnees/GE-C-001/contact")
    entry = last_audit()
    assert (entry.action, entry.object_type, entry.object_id, entry.user_id) == (
        "returnee.contact.view", "returnees", "GE-C-001", users["caritas"].id)


def test_phone_number_is_encrypted_at_rest(app, returnees):
    raw = db.session.execute(db.text("SELECT phone, name, phone_lookup FROM returnees WHERE code = 'GE-C-001'")).one()
    assert "+995" not in raw.phone and "Nino" not in raw.name
    assert len(raw.phone_lookup) == 64


def test_list_filters_and_pagination(app, users, orgs, browser_for):
    from tests.conftest import make_returnee
    for number in range(60):
        make_returnee(orgs["iom"], f"GE-P-{number:03d}", orgs["iom-ge"])
    db.session.commit()
    browser = browser_for(users["iom"])
    first = browser.get("/returnees/").get_data(as_text=True)
    assert "60 returnees" in first and "Page 1 of 2" in first
    assert "Page 2 of 2" in browser.get("/returnees/?page=2").get_data(as_text=True)
    assert "1 returnee" in browser.get("/returnees/?q=GE-P-059").get_data(as_text=True)
    assert "0 returnees" in browser.get("/returnees/?country=AM").get_data(as_text=True)
    assert "60 returnees" in browser.get("/returnees/?status=contactable").get_data(as_text=True)


def test_the_list_shows_each_cases_follow_up_and_needs_and_filters_on_them(users, returnees, browser_for):
    """Beside consent, the list shows each case's current follow-up (wave and state) and its
    open needs; the Status filter covers them; the country filter offers the caseload's
    countries only, not every country in the world."""
    from datetime import date, timedelta

    from monitor.models import AttentionItem
    from monitor.responses.operations import start_response
    from tests.conftest import make_follow_up

    today = date.today()
    db.session.add(AttentionItem(response=start_response(make_follow_up(returnees["caritas-ge"], "m1",
                                                                         state="phone_task"), "phone"),
                                 flag="no_shelter"))
    make_follow_up(returnees["caritas"], "m1", state="closed", opens=today - timedelta(days=200),
                   closes=today - timedelta(days=170))
    make_follow_up(returnees["caritas"], "m6", state="invited")
    db.session.commit()

    def rows(page):
        return {row.split("</a>")[0].rsplit(">", 1)[1]: row for row in page.split("<tbody>")[1].split("<tr>")[1:]}

    browser = browser_for(users["caritas"])
    page = browser.get("/returnees/").get_data(as_text=True)
    listed = rows(page)
    assert "One-month check · To phone" in listed["GE-C-001"] and "1 need" in listed["GE-C-001"]
    assert "6-month wave · Invited by SMS" in listed["GE-C-002"] and "need" not in listed["GE-C-002"]
    assert "—" in listed["AM-C-001"].split("</td>")[-2]
    assert set(rows(browser.get("/returnees/?status=phone_task").get_data(as_text=True))) == {"GE-C-001"}
    assert set(rows(browser.get("/returnees/?status=invited").get_data(as_text=True))) == {"GE-C-002"}
    assert set(rows(browser.get("/returnees/?status=needs_attention").get_data(as_text=True))) == {"GE-C-001"}
    countries = page.split('name="country"')[1].split("</select>")[0]
    assert countries.count("<option") == 3  # —, Armenia, Georgia
    assert "Georgia" in countries and "Armenia" in countries and "Antarctica" not in countries
    # An analyst sees the follow-ups, never the red flags.
    page = browser_for(users["analyst"]).get("/returnees/").get_data(as_text=True)
    assert "One-month check · To phone" in page and "1 need" not in page and "needs_attention" not in page


def test_audit_log_page(users, returnees, browser_for):
    browser = browser_for(users["admin"])
    browser.post("/returnees/GE-C-001/contact")
    page = browser.get("/admin/audit?action=returnee.contact").get_data(as_text=True)
    assert "returnee.contact.view" in page and "GE-C-001" in page and "login" not in page.split("<tbody>")[1]


def test_demo_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--size", "40"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.example" in result.output
    assert db.session.scalar(select(func.count()).select_from(Returnee)) == 40
    assert len(set(db.session.scalars(select(Returnee.destination_country)))) >= 4
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and "already holds data" in result.output
    assert "analyst@demo.example" in result.output  # make run reprints the logins
    db.session.scalar(select(User).where(User.email == "analyst@demo.example")).set_password("changed it, not demo")
    db.session.commit()
    result = runner.invoke(args=["demo", "--if-empty"])
    assert "analyst@demo.example" not in result.output and "admin@demo.example" in result.output
    assert db.session.scalar(select(func.count()).select_from(Returnee)) == 40
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1


def test_friendly_404_and_no_stack_trace(users, browser_for):
    response = browser_for(users["admin"]).get("/returnees/NOPE-1")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_languages_page_shows_review_status_and_coverage(users, browser_for):
    page = browser_for(users["admin"]).get("/admin/languages").get_data(as_text=True)
    rows = page.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == 13
    assert "ქართული" in page and "پښتو" in page and "Dari (Afghan Persian)" in page
    assert page.count("right to left") == 3
    assert "source text" in page and "draft" in page


def test_interview_round_trip(users, returnees, browser_for):
    from monitor.models import FollowUp, Response
    from monitor.responses.operations import stored_answers
    from tests.conftest import make_follow_up

    make_follow_up(returnees["caritas-ge"], "m1")
    db.session.commit()

    browser = browser_for(users["caritas-ge"])
    page = browser.get("/interviews/GE-C-001/m1").get_data(as_text=True)
    assert "Where do you live now?" in page and "Read" not in page.split("<form")[0]
    assert 'lang="ka"' in page  # the question also in the returnee's language
    assert "A month and year is enough" in page  # interviewer instruction shown
    response = browser.post("/interviews/GE-C-001/m1", {"mode": "visit", "housing_situation": "shelter",
                                                         "action": "save"})
    assert response.status_code == 302
    saved = db.session.scalar(select(Response))
    assert saved.completed_at is None and saved.mode == "visit" and saved.interviewer_id == users["caritas-ge"].id
    page = browser.post("/interviews/GE-C-001/m1", {"mode": "visit", "housing_situation": "shelter",
                                                     "action": "complete"})
    assert page.status_code == 422 and "Please answer this question." in page.get_data(as_text=True)
    # enough answers for an economic and a social score (half their applicable weight)
    worst = {"housing_situation": "shelter", "housing_can_stay": "no", "housing_basic_needs": "no",
             "work_status": "looking", "income_covers_needs": "never"}
    response = browser.post("/interviews/GE-C-001/m1", {"mode": "visit", **worst, "action": "complete"})
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.scalar(select(Response))
    assert saved.disposition == "1.1" and stored_answers(saved) == worst
    assert (saved.score_economic, saved.score_social) == (0.0, 0.0) and saved.flags == ["no_shelter"]
    detail = browser.get("/returnees/GE-C-001").get_data(as_text=True)
    assert "Homeless or in a shelter" in detail and "0.00" in detail
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.disposition, follow_up.contacted_at is not None) == ("1.1", True)
    assert browser_for(users["iom"]).get("/interviews/GE-C-001/m1").status_code == 404
    assert browser.get("/interviews/GE-C-001/m99").status_code == 404
    # No follow-up for that wave: no interview, and no button for it on the case page.
    assert browser.get("/interviews/GE-C-001/m12").status_code == 404
    assert "/interviews/GE-C-001/m12" not in detail


def test_the_interviewer_reads_which_answer_opens_a_question_and_scale_ends_in_both_languages(
        users, returnees, browser_for):
    from tests.conftest import make_follow_up

    make_follow_up(returnees["caritas-ge"], "m1")
    db.session.commit()
    page = browser_for(users["caritas-ge"]).get("/interviews/GE-C-001/m1").get_data(as_text=True)
    assert "the answer before allows it" not in page
    assert "Ask only if “Where do you live now?” is “Somewhere else”; otherwise leave empty." in page
    assert "Ask only if “Where do you live now?” is not “No fixed place”; otherwise leave empty." in page
    # the condition stands right before the question it governs
    before_other = page.split('id="q-housing_other"')[0].rsplit('<p class="muted condition">', 1)[1]
    assert "is “Somewhere else”" in before_other
    # a scale's end labels in the returnee's language (Georgian) too, like every option
    from surveys.translation import translator
    ka = translator("ka")
    health = page.split('id="q-physical_health"')[1].split("</fieldset>")[0]
    assert ka("Very bad") != "Very bad" and ka("Very bad") in health and ka("Very good") in health


def test_an_interview_is_offered_only_for_an_open_follow_up(users, returnees, browser_for):
    from tests.conftest import make_follow_up

    make_follow_up(returnees["caritas-ge"], "m6")
    db.session.commit()
    detail = browser_for(users["caritas-ge"]).get("/returnees/GE-C-001").get_data(as_text=True)
    assert "/interviews/GE-C-001/m6" in detail and "/interviews/GE-C-001/m1" not in detail
    assert "6-month wave" in detail


def test_the_case_page_offers_interviews_for_open_follow_ups_only(users, returnees, browser_for):
    """The follow-ups table offers an interview for what is open now (as the work list does),
    the "To phone" state links to its interview, and the responses table says "No response yet",
    not "No follow-up yet" right below a table of follow-ups."""
    from datetime import date, timedelta

    from tests.conftest import make_follow_up

    today = date.today()
    make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    make_follow_up(returnees["caritas-ge"], "m6", opens=today + timedelta(days=150))  # planned for later
    make_follow_up(returnees["caritas-ge"], "m12", state="closed", opens=today - timedelta(days=60),
                   closes=today - timedelta(days=30))
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    page = browser.get("/returnees/GE-C-001").get_data(as_text=True)
    follow_ups, responses = page.split("<h3>Responses</h3>")[0], page.split("<h3>Responses</h3>")[1]
    assert 'href="/interviews/GE-C-001/m1">To phone</a>' in follow_ups
    assert follow_ups.count('class="button" href="/interviews/GE-C-001/m1"') == 1
    assert "/interviews/GE-C-001/m6" not in page and "/interviews/GE-C-001/m12" not in page
    assert "No response yet." in responses.split("</table>")[0] and "No follow-up yet" not in page
    # An analyst reads the case but interviews nobody: no button, no link.
    assert "/interviews/" not in browser_for(users["analyst"]).get("/returnees/GE-C-001").get_data(as_text=True)


def test_rescore_writes_a_new_version_beside_the_old_one_and_activation_switches(app, users, returnees, browser_for):
    from monitor.followups.operations import complete_response
    from monitor.models import Response, ResponseScore, ScoringVersion
    from monitor.responses import operations
    from tests.conftest import make_follow_up

    def completed(returnee):
        response = operations.start_response(make_follow_up(returnee, "m1"), "phone")
        questionnaire = operations.questionnaire_of(response)
        operations.save_answers(response, [questionnaire.item("food_cut"), questionnaire.item("income_covers_needs")],
                                {"food_cut": "often", "income_covers_needs": "never"})  # half the economic weight
        complete_response(response, actor="test")
        db.session.commit()
        return response

    response = completed(returnees["caritas"])
    assert [(r.version, r.economic) for r in response.score_rows] == [(1, 0.0)]
    db.session.get(ResponseScore, (response.id, 1)).economic = 0.9  # as if computed with other weights
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rescore", "--note", "food weighs more"])
    assert result.exit_code == 0, result.output
    assert "1 completed responses rescored as scoring version 2: 1 changed" in result.output
    db.session.expire_all()
    stored = db.session.scalar(select(Response))
    assert stored.scores_in(1)["economic"] == 0.9 and stored.scores_in(2)["economic"] == 0.0  # side by side
    assert ScoringVersion.active_number() == 1 and stored.score_economic == 0.9  # the dashboard's, until activated
    listing = runner.invoke(args=["scoring", "list"]).output
    assert "food weighs more" in listing and "yes" in listing
    assert runner.invoke(args=["scoring", "activate", "3"]).exit_code == 1
    assert runner.invoke(args=["scoring", "activate", "2"]).exit_code == 0
    db.session.expire_all()
    assert ScoringVersion.active_number() == 2 and db.session.scalar(select(Response)).score_economic == 0.0
    assert last_audit().action == "scoring.activate"
    # A response completed now is scored under the newest version.
    assert [r.version for r in completed(returnees["iom-ge"]).score_rows] == [2]


def test_old_responses_stay_readable_and_scored_in_their_version(app, returnees, monkeypatch):
    """Publishing version 2 (here: housing weighs nothing, a new question) leaves version 1
    responses as they were; new responses take version 2."""
    import copy

    import yaml

    from monitor.responses import operations
    from surveys import registry
    from surveys.definition import DEFINITIONS, build_definition

    spec = yaml.safe_load((DEFINITIONS / "standard-v1.yaml").read_text(encoding="utf-8"))
    spec["scoring"] = {"min_weight_share": 0}  # two answers make a score: this is about versions
    v1 = build_definition(copy.deepcopy(spec))
    spec["version"] = 2
    spec["modules"][0]["items"][0]["weight"] = 0.5
    spec["modules"][0]["items"].append({"code": "housing_rooms", "type": "number", "text": "How many rooms?"})
    v2 = build_definition(spec)
    from monitor.followups.operations import complete_response
    from tests.conftest import make_follow_up

    old = operations.start_response(make_follow_up(returnees["caritas"], "m1"), "phone", questionnaire=v1)
    monkeypatch.setattr(registry, "all_versions", lambda: {("standard", 1): v1, ("standard", 2): v2})
    answers = {"housing_situation": "family", "housing_can_stay": "no"}
    items = [v1.item("housing_situation"), v1.item("housing_can_stay")]
    operations.save_answers(old, items, answers)
    complete_response(old, actor="test")
    new = operations.start_response(make_follow_up(returnees["iom-ge"], "m1"), "phone")
    operations.save_answers(new, items, answers)
    complete_response(new, actor="test")
    db.session.commit()
    assert (old.questionnaire_version, new.questionnaire_version) == (1, 2)
    # social = (2 * 0.5 + 1 * 0) / 3 in version 1; (0.5 * 0.5 + 1 * 0) / 1.5 in version 2
    assert old.score_social == round(1 / 3, 4) and new.score_social == round(0.25 / 1.5, 4)
    assert operations.questionnaire_of(old).has_item("housing_rooms") is False
    assert operations.stored_answers(old) == answers
    assert operations.rescore_all()[1:] == (2, 0)


def test_plan_page_edits_waves_and_contact_rules(users, browser_for):
    from monitor.models import ContactSettings, Wave

    browser = browser_for(users["admin"])
    page = browser.get("/admin/plan").get_data(as_text=True)
    assert 'name="waves-0-due_days"' in page and 'value="30"' in page
    data = {"settings-reminder_days": "2, 5", "settings-phone_after_days": "10", "settings-max_attempts": "4",
            "settings-quiet_start": "08:30", "settings-quiet_end": "19:00", "settings-max_messages_per_week": "3"}
    for n, (due, sampled, fraction) in enumerate([(30, False, "1"), (182, True, "0.25"), (365, True, "0.2")]):
        data.update({f"waves-{n}-due_days": str(due), f"waves-{n}-opens_days_before": "0",
                     f"waves-{n}-closes_days_after": "30", f"waves-{n}-fraction": fraction,
                     f"waves-{n}-min_per_stratum": "5", f"waves-{n}-active": "y"})
        if sampled:
            data[f"waves-{n}-sampled"] = "y"
    assert browser.post("/admin/plan", data).status_code == 302
    db.session.expire_all()
    settings = db.session.get(ContactSettings, 1)
    assert (settings.reminder_days, settings.phone_after_days, settings.quiet_start.hour) == ("2,5", 10, 8)
    assert db.session.get(Wave, "m6").fraction == 0.25
    assert last_audit().action == "plan.edit"
    bad = dict(data, **{"settings-quiet_end": "07:00", "settings-reminder_days": "soon"})
    page = browser.post("/admin/plan", bad).get_data(as_text=True)
    assert "must come after its start" in page and "Days separated by commas" in page
    assert db.session.get(ContactSettings, 1).reminder_days == "2,5"


def test_outbox_shows_messages_with_their_link_and_no_phone_number(app, users, orgs, browser_for):
    from datetime import date, datetime, time, timedelta, timezone

    from scheduler.dispatch import dispatch
    from scheduler.planning import plan
    from tests.conftest import make_returnee

    make_returnee(orgs["caritas"], "GE-O-001", return_date=date.today() - timedelta(days=31))
    db.session.commit()
    plan(date.today())
    dispatch(datetime.combine(date.today(), time(8), tzinfo=timezone.utc))
    page = browser_for(users["admin"]).get("/admin/outbox").get_data(as_text=True)
    assert "GE-O-001" in page and "/s/" in page and "+995" not in page
    assert last_audit().action == "outbox.view"


def _plan_form(**changes):
    data = {"settings-reminder_days": "3,7", "settings-phone_after_days": "14", "settings-max_attempts": "5",
            "settings-quiet_start": "09:00", "settings-quiet_end": "20:00", "settings-max_messages_per_week": "2"}
    for n, (due, sampled, fraction, minimum) in enumerate([(30, False, "1", "0"), (182, True, "0.2", "5"),
                                                           (365, True, "0.2", "5")]):
        data.update({f"waves-{n}-due_days": str(due), f"waves-{n}-opens_days_before": "0",
                     f"waves-{n}-closes_days_after": "45", f"waves-{n}-fraction": fraction,
                     f"waves-{n}-min_per_stratum": minimum, f"waves-{n}-active": "y"})
        if sampled:
            data[f"waves-{n}-sampled"] = "y"
    data.update(changes)
    return data


@pytest.mark.parametrize("changes, message", [
    ({"waves-1-fraction": "0"}, "A sampled wave needs a fraction above 0."),
    ({"waves-1-min_per_stratum": "1"}, "A sampled wave draws at least 2 per stratum."),
    ({"new_wave-code": "m24", "new_wave-due_days": "730", "new_wave-closes_days_after": "45",
      "new_wave-sampled": "y", "new_wave-fraction": "0", "new_wave-min_per_stratum": "5"},
     "A sampled wave needs a fraction above 0."),
    ({"new_wave-code": "m24"}, "A new wave also needs"),
    ({"new_wave-code": "m6", "new_wave-due_days": "730", "new_wave-closes_days_after": "45",
      "new_wave-fraction": "1", "new_wave-min_per_stratum": "0"}, "A wave with this code exists already."),
    ({"new_wave-code": "M 24"}, "Lower-case letters, digits and _ only"),
])
def test_the_plan_page_refuses_settings_that_could_draw_nobody(users, browser_for, changes, message):
    from monitor.models import Wave

    page = browser_for(users["admin"]).post("/admin/plan", _plan_form(**changes))
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Wave, "m6").fraction == 0.2 and db.session.get(Wave, "m24") is None


def test_a_wave_added_on_the_plan_page_runs_end_to_end(app, users, orgs, browser_for):
    """m24, added on the page: planned and drawn, interviewed, imported, in the sample report."""
    from datetime import date, timedelta

    from monitor.models import FollowUp, Response, Wave
    from monitor.responses.importing import import_responses
    from scheduler.dispatch import dispatch
    from scheduler.planning import plan
    from tests.conftest import make_returnee

    browser = browser_for(users["admin"])
    assert browser.post("/admin/plan", _plan_form(**{
        "new_wave-code": "m24", "new_wave-due_days": "730", "new_wave-closes_days_after": "45",
        "new_wave-sampled": "y", "new_wave-fraction": "0.5", "new_wave-min_per_stratum": "2"})).status_code == 302
    wave = db.session.get(Wave, "m24")
    assert (wave.due_days, wave.sampled, wave.fraction, wave.active) == (730, True, 0.5, True)
    today = date.today()
    for n in range(4):
        make_returnee(orgs["caritas"], f"GE-24-{n}", orgs["caritas-ge"], return_date=today - timedelta(days=731),
                      preferred_channel="phone")
    db.session.commit()
    report = plan(today)
    assert report.created["m24"] == 2 and any("m24" in line for line in report.draws)
    from datetime import datetime, time, timezone
    dispatch(datetime.combine(today, time(8), tzinfo=timezone.utc))
    drawn = db.session.scalars(select(FollowUp).where(FollowUp.wave == "m24").order_by(FollowUp.id)).all()
    assert [f.state for f in drawn] == ["phone_task", "phone_task"]
    assert {f.inclusion_probability for f in drawn} == {0.5}
    code = drawn[0].returnee.code
    staff = browser_for(users["caritas-ge"])
    page = staff.get(f"/returnees/{code}").get_data(as_text=True)
    assert "24-month wave" in page and f"/interviews/{code}/m24" in page
    assert "24-month wave" in staff.get(f"/interviews/{code}/m24").get_data(as_text=True)
    assert staff.post(f"/interviews/{code}/m24", {"mode": "phone", "housing_situation": "rented",
                                                  "work_status": "employed", "action": "complete"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowUp, drawn[0].id).disposition == "1.1"
    other = drawn[1].returnee.code
    csv = f"code,wave,mode,date,disposition\n{other},m24,phone,{today.isoformat()},2.20\n".encode()
    result = import_responses(csv, actor="test", today=today)
    assert result.errors == [], result.errors
    db.session.commit()
    assert db.session.get(FollowUp, drawn[1].id).disposition == "2.20"
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    output = app.test_cli_runner().invoke(args=["sample-report", "m24", "--verify"]).output
    assert "verified: 1 draws" in output and "0.5000" in output


def test_the_plan_page_sets_the_retry_delays_per_outcome(users, browser_for):
    """One field per outcome that can be called again, labelled in words (no stored codes)."""
    from monitor.models import ContactSettings

    browser = browser_for(users["admin"])
    page = browser.get("/admin/plan").get_data(as_text=True)
    assert "Call again after “No answer” (minutes)" in page and 'name="settings-retry_no_answer"' in page
    assert re.search(r'name="settings-retry_no_answer"[^>]*value="240"', page) and "no_answer" not in re.sub(
        r'(name|id|for)="[^"]*"', "", page)
    changes = {"settings-retry_no_answer": "120", "settings-retry_busy": "30"}
    assert browser.post("/admin/plan", _plan_form(**changes)).status_code == 302
    db.session.expire_all()
    assert db.session.get(ContactSettings, 1).retry_delays == "no_answer=120,busy=30"  # empty ones: back at once
    page = browser.post("/admin/plan", _plan_form(**{"settings-retry_busy": "0"}))
    assert page.status_code == 200 and "Number must be between 1 and 43200." in page.get_data(as_text=True)
