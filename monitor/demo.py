"""A realistic demo caseload: local partners in the main countries of return under the two
reintegration partners (which the migrations create), a few hundred returnees, and one account
per role."""
from __future__ import annotations

import random
from datetime import date, timedelta

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
        orgs[code] = org
    db.session.flush()
    return orgs
