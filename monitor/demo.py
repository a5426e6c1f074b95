"""A realistic demo caseload: local partners in the main countries of return under the two
reintegration partners (which the migrations create), a few hundred returnees, and one account
per role."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import click
import phonenumbers
from sqlalchemy import func, select

from monitor import audit
from monitor.extensions import db
from monitor.models import Organisation, Returnee, User
from monitor.returnees import operations
from monitor.users.operations import create_user

DEMO_PASSWORD = "monitor-demo-2026"


class DemoError(click.ClickException):
    """The demo cannot be loaded into this database; the CLI prints it as a one-line error."""


# (country, caseload weight, languages, partners) -- weights follow the test phase in seeds/004.
COUNTRIES = [
    ("GE", 96, ["ka", "ka", "ka", "ru"], ["caritas", "iom"]),
    ("IQ", 59, ["ar"], ["caritas", "iom"]),
    ("RU", 42, ["ru"], ["caritas"]),
    ("AM", 27, ["hy", "hy", "ru"], ["caritas", "iom"]),
    ("UA", 20, ["uk", "uk", "ru"], ["iom"]),
    ("MA", 10, ["ar", "fr"], ["iom"]),
    ("SN", 9, ["fr"], ["caritas"]),
    ("AF", 7, ["fa", "ps"], ["iom"]),
    ("CM", 6, ["fr", "en"], ["caritas"]),
    ("IR", 6, ["fa"], ["iom"]),
    ("CD", 5, ["fr"], ["caritas", "iom"]),
    ("MD", 6, ["ro", "ru"], ["iom"]),
    ("BR", 6, ["pt_BR"], ["iom"]),
    ("MK", 4, ["en"], ["caritas"]),
    ("KZ", 3, ["ru"], ["caritas"]),
    ("MN", 2, ["en"], ["iom"]),
]

REINTEGRATION_PARTNERS = [
    ("caritas", "Caritas International", "Caritas", "+3222293611", "return@caritas.example"),
    ("iom", "International Organization for Migration", "IOM", "+3222877000", "return@iom.example"),
]

LOCAL_PARTNERS = [
    ("caritas-ge", "Caritas Georgia", "caritas", "GE"),
    ("iom-ge", "IOM Tbilisi", "iom", "GE"),
    ("caritas-iq", "Caritas Iraq", "caritas", "IQ"),
    ("iom-iq", "IOM Erbil", "iom", "IQ"),
    ("caritas-ru", "Caritas Russia", "caritas", "RU"),
    ("caritas-am", "Caritas Armenia", "caritas", "AM"),
    ("iom-am", "IOM Yerevan", "iom", "AM"),
    ("iom-ua", "IOM Ukraine", "iom", "UA"),
    ("iom-ma", "IOM Rabat", "iom", "MA"),
    ("caritas-sn", "Caritas Senegal", "caritas", "SN"),
    ("iom-af", "IOM Kabul", "iom", "AF"),
    ("caritas-cm", "Caritas Cameroon", "caritas", "CM"),
]

DEMO_USERS = [
    ("admin@demo.example", "admin", None),
    ("analyst@demo.example", "analyst", None),
    ("caritas@demo.example", "partner", "caritas"),
    ("iom@demo.example", "partner", "iom"),
    ("caritas-ge@demo.example", "partner", "caritas-ge"),
]


def database_is_empty() -> bool:
    """No returnees yet. Organisations do not count: the migrations create the reintegration
    partners, and an administrator may have added local partners before the first import."""
    return not db.session.scalar(select(func.count()).select_from(Returnee))


def _phone(rng: random.Random, country: str) -> str | None:
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return None
    digits = str(example.national_number)
    for _attempt in range(20):
        tail = "".join(rng.choice("0123456789") for _ in range(4))
        candidate = phonenumbers.PhoneNumber(country_code=example.country_code,
                                             national_number=int(digits[:-4] + tail))
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, role, password) of the demo accounts that exist and still have the demo password."""
    logins = []
    for email, role, _org in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.active and user.check_password(DEMO_PASSWORD):
            logins.append((email, role, DEMO_PASSWORD))
    return logins


def load_demo(size: int = 300, seed: int = 2026, today: date | None = None) -> None:
    """Create the demo organisations, caseload and accounts."""
    rng = random.Random(seed)
    today = today or date.today()
    orgs = _demo_organisations()

    weights = [w for _c, w, _l, _p in COUNTRIES]
    for number in range(1, size + 1):
        country, _w, languages, partners = rng.choices(COUNTRIES, weights=weights)[0]
        partner = rng.choice(partners)
        local = next((c for c, _n, p, lc in LOCAL_PARTNERS if p == partner and lc == country and c in orgs), None)
        channel = rng.choices(["sms", "phone", "none"], weights=[70, 25, 5])[0]
        phone = _phone(rng, country) if channel != "none" or rng.random() < 0.5 else None
        if phone is None:
            channel = "none"
        adults = rng.choices([1, 2, 3], weights=[60, 30, 10])[0]
        children = rng.choices([0, 1, 2, 3, 4], weights=[55, 15, 15, 10, 5])[0]
        vulnerabilities = []
        if children:
            vulnerabilities.append("family_with_children")
        if rng.random() < 0.12:
            vulnerabilities.append("medical")
        if rng.random() < 0.02:
            vulnerabilities.append("trafficking_victim")
        returnee = Returnee(code=f"{country}-{today.year % 100:02d}{number:04d}")
        operations.apply_case_fields(returnee, {
            "destination_country": country,
            "partner_id": orgs[partner].id,
            "local_partner_id": orgs[local].id if local else None,
            "return_date": today - timedelta(days=rng.randint(0, 450)),
            "sex": rng.choices(["m", "f", "x"], weights=[62, 37, 1])[0],
            "birth_year": today.year - rng.randint(19, 68),
            "adults": adults,
            "children": children,
            "support_package": rng.choices(
                ["reintegration", "reintegration_vulnerable", "return_only", "medical"], weights=[60, 20, 15, 5])[0],
            "language": rng.choice(languages),
            "preferred_channel": channel,
            "phone": phone,
            "vulnerabilities": vulnerabilities,
        })
        consent = [] if rng.random() < 0.1 or channel == "none" else ["sms", "phone"]
        operations.give_consent(returnee, consent, rng.choice(["written", "verbal"]))
        db.session.add(returnee)
        if consent and rng.random() < 0.03:
            operations.withdraw_consent(returnee, "verbal", actor="demo")
        if rng.random() < 0.02:
            operations.set_do_not_contact(returnee, True, actor="demo")

    for email, role, org_code in DEMO_USERS:
        if (org_code and org_code not in orgs) or db.session.scalar(select(User.id).where(User.email == email)):
            continue  # an account made by hand before the demo is left alone
        create_user(email, DEMO_PASSWORD, role, orgs.get(org_code), actor="demo")
    audit.record("demo.load", actor="demo", details={"returnees": size})
    db.session.commit()
    _demo_history(rng, today)


def _demo_organisations() -> dict[str, Organisation]:
    """The demo's organisations by code: the reintegration partners the migration made (their
    empty public contact filled with the demo's), and the local partners, inserted unless an
    organisation already has the code (one that is a local partner of the same reintegration
    partner is used as it is; any other is left out of the demo)."""
    existing = {o.code.lower(): o for o in db.session.scalars(select(Organisation))}
    orgs: dict[str, Organisation] = {}
    for code, name, sender, phone, email in REINTEGRATION_PARTNERS:
        org = existing.get(code)
        if org is None:  # deleted by hand since the migration
            org = Organisation(code=code, name=name, kind="reintegration", sender_name=sender)
            db.session.add(org)
        elif not org.is_reintegration_partner:
            raise DemoError(f"organisation {code} is not a reintegration partner: the demo needs {code} as one")
        org.contact_phone = org.contact_phone or phone
        org.contact_email = org.contact_email or email
        orgs[code] = org
    for code, name, parent, country in LOCAL_PARTNERS:
        org = existing.get(code)
        if org is None:
            org = Organisation(code=code, name=name, kind="local", parent=orgs[parent], country=country)
            db.session.add(org)
        elif org.kind != "local" or org.parent is not orgs[parent]:
            continue
        if not (org.contact_phone or org.contact_email):  # a number in the country, for the returnee's pages
            example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.FIXED_LINE)
            org.contact_phone = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164) if example else None
        orgs[code] = org
    db.session.flush()
    return orgs


# -- the months before today: follow-ups planned and worked through ---------------------------------

# How returnees to each country are doing (0 bad .. 1 good): where the answers lean.
WELLBEING = {"GE": 0.62, "IQ": 0.45, "RU": 0.55, "AM": 0.6, "UA": 0.4, "MA": 0.55, "SN": 0.5, "AF": 0.35}
PARTNER_EFFECT = {"caritas": 0.04, "iom": -0.02}
# What becomes of a follow-up whose window has closed, and how often.
OUTCOMES = [("complete", 58), ("partial", 5), ("break_off", 6), ("refused", 7), ("no_contact", 18),
            ("contacted_only", 3), ("living_abroad", 2), ("language_barrier", 1)]


def _demo_history(rng: random.Random, today: date) -> None:
    """Plan every wave since the earliest return (as the scheduler would have month after month)
    and end each follow-up whose window has closed through the domain operations: completed
    responses with answers, partials and break-offs, refusals and non-contacts. Windows still open
    are left to the scheduler. The answers lean by country and partner, so the dashboard has
    something to compare."""
    from scheduler.planning import plan

    from monitor.followups.operations import apply_transition, close, complete_response, mark_contacted, record_attempt
    from monitor.models import FollowUp, Wave
    from monitor.responses.operations import save_answers, start_response
    from surveys import registry

    earliest = db.session.scalar(select(func.min(Returnee.return_date)))
    if earliest is None:
        return
    for wave in db.session.scalars(select(Wave)):
        # as if planning had covered every day since the first return
        wave.planned_through = min(wave.planned_through or today, earliest - timedelta(days=1))
    db.session.commit()
    plan(today)
    questionnaire = registry.current()
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.state == "planned",
                                                           FollowUp.window_closes < today)
                                    .order_by(FollowUp.window_opens, FollowUp.id)).all()
    for follow_up in follow_ups:
        returnee = follow_up.returnee
        span = max(0, (follow_up.window_closes - follow_up.window_opens).days - 1)
        at = datetime.combine(follow_up.window_opens + timedelta(days=rng.randint(0, min(span, 20))),
                              datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=rng.randint(8, 18))
        end = datetime.combine(follow_up.window_closes, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=20)
        if returnee.do_not_contact or returnee.opted_out_at or not returnee.consent_given:
            close(follow_up, "do_not_contact" if returnee.do_not_contact else "withdrew", actor="demo", at=at)
            continue
        outcome = rng.choices([o for o, _w in OUTCOMES], weights=[w for _o, w in OUTCOMES])[0]
        by_phone = follow_up.channel == "phone" or rng.random() < 0.3
        if follow_up.channel == "sms":
            apply_transition(follow_up, "invite", actor="demo", at=at)
        if outcome in ("complete", "partial", "break_off"):
            response = start_response(follow_up, "phone" if by_phone else "sms-web")
            mark_contacted(follow_up, at)
            modules = questionnaire.modules_for(response.first_follow_up)
            kept = {"complete": len(modules), "partial": len(modules) - 1, "break_off": 1}[outcome]
            answers = _demo_answers(rng, questionnaire, modules[:kept], _wellbeing(rng, returnee, follow_up.wave))
            save_answers(response, [item for module in modules[:kept] for item in module.items], answers)
            if outcome == "complete":
                complete_response(response, at=at, actor="demo")
            else:
                close(follow_up, "window_closed", actor="demo", at=end)
        elif outcome in ("refused", "living_abroad", "language_barrier"):
            record_attempt(follow_up, outcome, channel="phone", actor="demo", at=at)
        elif outcome == "contacted_only":
            record_attempt(follow_up, "call_back", channel="phone", actor="demo", at=at,
                           callback_at=at + timedelta(days=1))
            close(follow_up, "window_closed", actor="demo", at=end)
        else:
            for attempt in range(rng.randint(1, 3)):
                record_attempt(follow_up, rng.choice(["no_answer", "switched_off", "busy"]), channel="phone",
                               actor="demo", at=min(at + timedelta(days=attempt), end))
            close(follow_up, "window_closed", actor="demo", at=end)
    db.session.commit()


def _wellbeing(rng: random.Random, returnee: Returnee, wave: str) -> float:
    partner = returnee.partner.code if returnee.partner else ""
    level = WELLBEING.get(returnee.destination_country, 0.5) + PARTNER_EFFECT.get(partner, 0)
    level += {"m1": 0, "m6": 0.05, "m12": 0.08}.get(wave, 0)
    return min(1.0, max(0.0, rng.gauss(level, 0.15)))


def _demo_answers(rng: random.Random, questionnaire, modules, wellbeing: float) -> dict:
    """Answers to `modules` as someone doing `wellbeing` (0..1) would give them, skip logic followed."""
    answers: dict = {}
    for module in modules:
        for item in module.items:
            if not questionnaire.is_visible(item, answers):
                continue
            value = _demo_answer(rng, item, wellbeing)
            if value is not None:
                answers[item.code] = value
    return answers


def _demo_answer(rng: random.Random, item, wellbeing: float):
    aim = min(1.0, max(0.0, rng.gauss(wellbeing, 0.2)))
    if item.type_name in ("single", "yesno"):
        scored = [o for o in item.options if o.score is not None]
        if not scored or rng.random() < 0.04:
            return rng.choice(item.options).code if item.required or rng.random() < 0.5 else None
        return min(scored, key=lambda o: (abs(o.score - aim), rng.random())).code
    if item.type_name == "multiple":
        plain = [o.code for o in item.options if not o.exclusive]
        return rng.sample(plain, min(len(plain), rng.choice([1, 1, 2, 3])))
    if item.type_name == "ranked":
        return rng.sample([o.code for o in item.options], min(len(item.options), rng.choice([1, 2, 3, 3])))
    if item.type_name == "scale":
        point = round(item.low + (1 - aim if item.reverse else aim) * (item.high - item.low))
        return max(item.low, min(item.high, point))
    if item.type_name == "number":
        low = item.low if item.low is not None else 0
        return rng.randint(low, item.high if item.high is not None else low + 10)
    return None  # dates and free text: not made up
