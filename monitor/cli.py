"""The `monitor` command: Flask's CLI for this app (run, shell, db ...) plus our own commands."""
from __future__ import annotations

import sys

import click
from cryptography.fernet import Fernet
from flask import Flask
from flask.cli import FlaskGroup

from monitor.extensions import db


def main() -> None:
    from monitor import create_app

    FlaskGroup(create_app=create_app, help="Post-return monitoring for voluntary return.").main(prog_name="monitor")


def register_commands(app: Flask) -> None:
    from monitor.exports_cli import export_command
    from monitor.responses.cli import import_responses_command

    for command in (create_user_command, import_returnees_command, import_responses_command, demo_command,
                    generate_key_command, rescore_command, export_command, check_questionnaires_command):
        app.cli.add_command(command)


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "analyst", "partner"]))
@click.option("--partner", "partner_code", help="Organisation code (required for partner staff).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--locale", type=click.Choice(["en", "fr", "nl"]), help="Interface language.")
def create_user_command(email, role, partner_code, password_stdin, locale):
    """Create a staff account."""
    from monitor.users.operations import UserError, create_user, find_organisation

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, password, role, find_organisation(partner_code), locale=locale, actor="cli")
    except UserError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}" + (f" ({user.organisation.code})" if user.organisation else ""))


@click.command("import-returnees")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows even when some are invalid.")
def import_returnees_command(file, dry_run, skip_invalid):
    """Import or update returnees from a CSV file (see the README for the columns)."""
    from monitor.csvimport import echo_report
    from monitor.returnees.importing import import_returnees

    report = import_returnees(file.read(), dry_run=dry_run, skip_invalid=skip_invalid, actor="cli",
                              filename=getattr(file, "name", ""))
    echo_report(report, dry_run)
    if report.errors:
        sys.exit(1)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds data.")
@click.option("--size", default=300, show_default=True, help="Number of demo returnees.")
def demo_command(if_empty, size):
    """Load a demo caseload and one demo account per role."""
    from monitor.demo import database_is_empty, demo_logins, load_demo

    if not database_is_empty():
        if not if_empty:
            raise click.ClickException("the database already holds data; the demo loads into an empty one")
        click.echo("the database already holds data: no demo loaded")
    else:
        load_demo(size=size)
        click.echo(f"demo loaded: {size} returnees")
    logins = demo_logins()
    if logins:
        click.echo("demo logins:")
        for email, role, password in logins:
            click.echo(f"  {role:8} {email:28} {password}")


@click.command("rescore")
def rescore_command():
    """Recompute the scores and red flags of every completed response (after a weight change)."""
    from monitor import audit
    from monitor.responses.operations import rescore_all

    seen, changed = rescore_all()
    audit.record("response.rescore", actor="cli", details={"responses": seen, "changed": changed})
    db.session.commit()
    click.echo(f"{seen} completed responses rescored: {changed} changed")


@click.command("check-questionnaires")
def check_questionnaires_command():
    """Validate every questionnaire version and check its translations in all 13 languages."""
    from surveys.definition import DEFINITIONS, DefinitionError, load_definition
    from surveys.translation import missing_translations

    problems = []
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        try:
            questionnaire = load_definition(path)
        except DefinitionError as error:
            problems += [f"{path.name}: {problem}" for problem in error.problems]
            continue
        problems += missing_translations(questionnaire)
        click.echo(f"{path.name}: {len(questionnaire.items)} items in {len(questionnaire.modules)} modules")
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("every questionnaire is valid and translated in every language")


@click.command("generate-key")
def generate_key_command():
    """Print a new key for DATA_ENCRYPTION_KEY."""
    click.echo(Fernet.generate_key().decode())


if __name__ == "__main__":
    main()
