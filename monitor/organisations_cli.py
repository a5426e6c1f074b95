"""`monitor organisations`: set up the local partners of a fresh installation from the command line.

The two reintegration partners (caritas, iom) come with the migrations; an administrator adds
each local partner under one of them before the first import names it. The checks are those of
the admin organisation form.
"""
from __future__ import annotations

import re

import click
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from monitor import audit
from monitor.extensions import db
from monitor.models import Organisation
from monitor.returnees.parsing import InvalidValue, parse_country

CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # as the admin organisation form


@click.group("organisations", cls=AppGroup)  # its commands run in an app context
def organisations_command():
    """List the partner organisations and add local partners."""


def _active_codes() -> str:
    return ", ".join(db.session.scalars(select(Organisation.code).where(Organisation.kind == "reintegration",
                                                                        Organisation.active.is_(True))
                                        .order_by(Organisation.code)))


def _use_one_of() -> str:
    codes = _active_codes()
    if not codes:
        return "no reintegration partner is active: reactivate caritas or iom under Admin > Organisations"
    return f"use one of {codes}"


def _parent(code: str) -> Organisation:
    parent = db.session.scalar(select(Organisation).where(func.lower(Organisation.code) == code.strip().lower()))
    if parent is None:
        raise click.ClickException(f"unknown reintegration partner {code.strip()[:40]!r}: {_use_one_of()}")
    if not parent.is_reintegration_partner:
        raise click.ClickException(f"{parent.code} is a local partner, not a reintegration partner: {_use_one_of()}")
    if not parent.active:
        others = _active_codes()
        raise click.ClickException(f"the reintegration partner {parent.code} is not active: "
                                   + (f"use one of {others}" if others else "reactivate it under Admin > Organisations"))
    return parent


def _text(value: str | None, option: str, limit: int) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise click.ClickException(f"{option} is too long: at most {limit} characters")
    return value or None


@organisations_command.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The organisation's name, e.g. \"Caritas Georgia\".")
@click.option("--parent", "parent_code", required=True,
              help="The reintegration partner it works with: caritas or iom.")
@click.option("--country", required=True, help="Its country: ISO code (GE, GEO) or English name.")
@click.option("--sender-name", help="The SMS sender name returnees know (default: the parent's).")
@click.option("--contact-phone", help="A public contact phone for returnees.")
def add_command(code, name, parent_code, country, sender_name, contact_phone):
    """Add a local partner CODE under a reintegration partner."""
    code = code.strip()
    if len(code) > 40 or not CODE.match(code):
        raise click.ClickException(f"the code {code[:60]!r} may only hold lower-case letters, digits and hyphens "
                                   "(at most 40, starting with a letter or digit), e.g. caritas-ge")
    if db.session.scalar(select(Organisation.code).where(func.lower(Organisation.code) == code.lower())):
        raise click.ClickException(f"another organisation already has the code {code}")
    name = _text(name, "--name", 200)
    if not name:
        raise click.ClickException("--name is empty")
    parent = _parent(parent_code)
    if not country.strip():
        raise click.ClickException("--country is empty: give an ISO code (GE, GEO) or the English name")
    try:
        country = parse_country(country)
    except InvalidValue as problem:
        raise click.ClickException(f"--country: {problem}") from None
    org = Organisation(code=code, name=name, kind="local", parent=parent, country=country,
                       sender_name=_text(sender_name, "--sender-name", 40),
                       contact_phone=_text(contact_phone, "--contact-phone", 32), active=True)
    db.session.add(org)
    try:
        db.session.flush()
    except IntegrityError:  # the same code added at the same moment by someone else
        db.session.rollback()
        raise click.ClickException(f"another organisation already has the code {code}") from None
    audit.record("organisation.create", org, actor="cli", details={"code": org.code})
    db.session.commit()
    click.echo(f"created local partner {org.code} ({org.name}) under {parent.code}, {org.country}")


@organisations_command.command("list")
def list_command():
    """Print every organisation: each reintegration partner followed by its local partners."""
    rows = db.session.scalars(select(Organisation)).all()
    rows.sort(key=lambda o: (o.reintegration_partner.code, o.parent_id is not None, o.code))
    header = ("code", "name", "kind", "parent", "country", "sender name", "active")
    table = [header] + [(o.code, o.name, o.kind, o.parent.code if o.parent else "-", o.country or "-",
                         o.sender_name or "-", "yes" if o.active else "no") for o in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not rows:
        click.echo("no organisation yet: run monitor db upgrade")
