"""The `monitor` command: Flask's CLI for this app (run, shell, db ...) plus our own commands."""
from __future__ import annotations

import sys

import click
from cryptography.fernet import Fernet
from flask import Flask, current_app
from flask.cli import FlaskGroup

from monitor.codes import ROLES
from monitor.extensions import db


def main() -> None:
    from monitor import create_app

    group = FlaskGroup(create_app=create_app, help="Post-return monitoring for voluntary return.")
    # Found without loading the app: it runs even where the app refuses to start, to say why.
    group.add_command(check_config_command)
    group.main(prog_name="monitor")


def register_commands(app: Flask) -> None:
    from monitor.exports_cli import export_command
    from monitor.responses.cli import import_responses_command

    for command in (create_user_command, reset_second_factor_command, import_returnees_command,
                    import_responses_command, demo_command,
                    generate_key_command, rescore_command, scoring_group, export_command, check_questionnaires_command,
                    plan_command, dispatch_command, sample_report_command, scheduler_command, check_config_command,
                    rotate_key_command):
        app.cli.add_command(command)
    from monitor.organisations_cli import organisations_command
    from monitor.reports.cli import report_command
    from monitor.returnees.cli import erase_command, purge_expired_command
    app.cli.add_command(organisations_command)
    app.cli.add_command(report_command)
    app.cli.add_command(erase_command)
    app.cli.add_command(purge_expired_command)


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option("--organisation", "--partner", "partner_code",
              help="Organisation code (required for partner staff; a reintegration partner for a coordinator).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--locale", type=click.Choice(["en", "fr", "nl", "ru", "ar"]), help="Interface language.")
def create_user_command(email, role, partner_code, password_stdin, locale):
    """Create a staff account."""
    from monitor.models.users import SECOND_FACTOR_ROLES
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
    if user.role in SECOND_FACTOR_ROLES:
        click.echo("the account sets up its second factor (an authenticator app) at its first login"
                   + ("" if current_app.config["TOTP_REQUIRED"] else " if TOTP_REQUIRED is on; it is off here"))


@click.command("reset-second-factor")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept in the audit log), such as \"phone lost\".")
def reset_second_factor_command(email, reason):
    """Remove an account's second factor (a lost phone, and no other administrator to do it on the
    Users page): its sessions end and it sets the second factor up again at the next login."""
    from monitor.auth import second_factor
    from monitor.auth.operations import find_user_by_email

    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    if not reason.strip():
        raise click.ClickException("--reason must say why")
    if not second_factor.reset(user, reason=reason.strip()[:200], actor="cli"):
        raise click.ClickException(f"{user.email} has no second factor to reset")
    db.session.commit()
    click.echo(f"second factor reset for {user.email}: it sets one up again at its next login")


@click.command("import-returnees")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows even when some are invalid.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on standard error (by default when it is a terminal).")
def import_returnees_command(file, dry_run, skip_invalid, progress):
    """Import or update returnees from a CSV file (see the README for the columns)."""
    from monitor.csvimport import echo_report, estimated_rows
    from monitor.returnees.importing import import_returnees

    data = file.read()
    options = {"dry_run": dry_run, "skip_invalid": skip_invalid, "actor": "cli", "filename": getattr(file, "name", "")}
    if progress if progress is not None else sys.stderr.isatty():
        with click.progressbar(length=estimated_rows(data), label="importing", file=sys.stderr) as bar:
            report = import_returnees(data, progress=lambda rows: bar.update(rows - bar.pos), **options)
    else:
        report = import_returnees(data, **options)
    echo_report(report, dry_run)
    if report.errors:
        sys.exit(1)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds returnees.")
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
            click.echo(f"  {role:11} {email:28} {password}")


@click.command("rescore")
@click.option("--note", help="What changed (shown with the version).")
def rescore_command(note):
    """Score every finished response again as a new scoring version (after a weight change); the
    dashboard keeps the active version until `monitor scoring activate N`."""
    from monitor import audit
    from monitor.responses.operations import rescore_all

    version, seen, changed = rescore_all(note)
    audit.record("response.rescore", actor="cli", details={"version": version, "responses": seen, "changed": changed})
    db.session.commit()
    click.echo(f"{seen} completed responses rescored as scoring version {version}: {changed} changed "
               "from the active version")
    click.echo(f"the dashboard uses it once activated: monitor scoring activate {version}")


@click.group("scoring")
def scoring_group():
    """Scoring versions: list them, activate the one the dashboard uses."""


@scoring_group.command("list")
def scoring_list_command():
    from sqlalchemy import func, select

    from monitor.models import ResponseScore, ScoringVersion

    counts = dict(db.session.execute(select(ResponseScore.version, func.count()).group_by(ResponseScore.version)).all())
    click.echo(f"{'version':>7}  {'active':<6}  {'created':<16}  {'responses':>9}  note")
    for version in db.session.scalars(select(ScoringVersion).order_by(ScoringVersion.number)):
        click.echo(f"{version.number:>7}  {'yes' if version.active else '':<6}  "
                   f"{version.created_at:%Y-%m-%d %H:%M}  {counts.get(version.number, 0):>9}  {version.note or ''}")


@scoring_group.command("activate")
@click.argument("number", type=int)
def scoring_activate_command(number):
    from monitor.responses.operations import activate_scoring_version

    try:
        activate_scoring_version(number, actor="cli")
    except LookupError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"scoring version {number} is active: the dashboard shows its scores")


@click.command("check-config")
def check_config_command():
    """List unsafe settings (debug on, development keys, SQLite, per-worker rate limits, no HTTPS,
    no TOTP) and advice; exits non-zero in production when an unsafe setting is found. Runs even
    when the app refuses to start, to say why."""
    from flask import current_app, has_app_context

    from monitor import create_app
    from monitor.config import ConfigError, config_warnings, unsafe_settings

    try:
        config = current_app.config if has_app_context() else create_app(refuse_unsafe=False).config
    except ConfigError as problem:  # a value that cannot be used at all (not a Fernet key, ...)
        click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    production = config["MONITOR_ENV"] == "production"
    unsafe, advice = unsafe_settings(config), config_warnings(config)
    for problem in unsafe:
        click.echo(f"unsafe: {problem}", err=True)
    for warning in advice:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"configuration: {config['MONITOR_ENV']}, {len(unsafe)} unsafe setting{'s' if len(unsafe) != 1 else ''}, "
               f"{len(advice)} warning{'s' if len(advice) != 1 else ''}")
    if unsafe and production:
        sys.exit(1)
    if unsafe:
        click.echo("(acceptable outside production; in production check-config fails on them)")


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


def _when(value: str | None, kind: str):
    from datetime import date, datetime, timezone

    if value is None:
        return None
    try:
        if kind == "date":
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a {'date YYYY-MM-DD' if kind == 'date' else 'time YYYY-MM-DDTHH:MM'}")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.command("plan")
@click.option("--today", help="Plan as on this day (YYYY-MM-DD); default: today.")
def plan_command(today):
    """Create the follow-ups that are due and draw the sampled waves (idempotent)."""
    from scheduler.clock import Clock
    from scheduler.planning import plan

    report = plan(_when(today, "date") or Clock().today())
    for line in report.lines():
        click.echo(line)


@click.command("dispatch")
@click.option("--now", help="Dispatch as at this moment (YYYY-MM-DDTHH:MM, UTC unless an offset is given).")
def dispatch_command(now):
    """Send the invitations and reminders that are due and open phone tasks (idempotent)."""
    from scheduler.clock import Clock
    from scheduler.dispatch import dispatch

    report = dispatch(_when(now, "time") or Clock().now(), actor="cli")
    for line in report.lines():
        click.echo(line)


@click.command("sample-report")
@click.argument("wave")
@click.option("--verify", is_flag=True, help="Redraw every stored draw from its seed and frame and report differences.")
def sample_report_command(wave, verify):
    """Frame, sample and inclusion probability per stratum of every draw of a wave."""
    from sqlalchemy import select

    from monitor.models import Organisation, SampleDraw
    from scheduler.planning import verify_draw

    draws = db.session.scalars(select(SampleDraw).where(SampleDraw.wave == wave)
                               .order_by(SampleDraw.cohort, SampleDraw.sequence)).all()
    if not draws:
        click.echo(f"no draw for wave {wave} yet")
        return
    names = {o.id: o.code for o in db.session.scalars(select(Organisation))}
    click.echo(f"{'cohort':<8} {'draw':<12} {'country':<8} {'partner':<12} {'frame':>6} {'sample':>7} {'probability':>12}")
    for draw in draws:
        label = draw.kind + (f" {draw.sequence}" if draw.sequence else "")
        for stratum in draw.strata:
            click.echo(f"{draw.cohort:<8} {label:<12} {stratum.country:<8} {names.get(stratum.partner_id, '?'):<12} "
                       f"{stratum.frame_size:>6} {stratum.sample_size:>7} {stratum.probability:>12.4f}")
        settings = (f"   seed {draw.seed}, fraction {draw.fraction}, minimum {draw.min_per_stratum}"
                    if draw.kind != "census" else "   census: everyone, probability 1")
        click.echo(f"{draw.cohort:<8} {label:<12} {'all':<8} {'':<12} {draw.frame_size:>6} {draw.sample_size:>7}"
                   + settings)
    if verify:
        problems = [problem for draw in draws for problem in verify_draw(draw)]
        legacy = [d for d in draws if not d.frame_stored and d.kind != "census"]
        if legacy:
            click.echo(f"note: {len(legacy)} draws cannot be redrawn (made before frames were stored, or recorded by an import)")
        for problem in problems:
            click.echo(f"difference: {problem}", err=True)
        if problems:
            sys.exit(1)
        click.echo(f"verified: {len(draws)} draws reproduce exactly from their seeds and frames")


@click.command("scheduler")
@click.option("--dispatch-seconds", default=60, show_default=True, help="How often to dispatch.")
@click.option("--plan-minutes", default=60, show_default=True, help="How often to plan.")
def scheduler_command(dispatch_seconds, plan_minutes):
    """Run planning and dispatch periodically (the scheduler process; Ctrl-C stops it)."""
    import logging

    from flask import current_app

    from scheduler.runner import build_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheduler = build_scheduler(current_app._get_current_object(), plan_minutes=plan_minutes,
                                dispatch_seconds=dispatch_seconds)
    click.echo(f"scheduler running: dispatch every {dispatch_seconds} s, plan every {plan_minutes} min")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@click.command("rotate-key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1),
              help="Rows per transaction.")
def rotate_key_command(batch_size):
    """Re-encrypt every encrypted value under the first key of DATA_ENCRYPTION_KEY (after putting
    a new key first); resumable: run it again after an interruption. Afterwards the other keys can
    be dropped."""
    from flask import current_app

    from monitor import audit
    from monitor.keyrotation import fingerprint, rotate_key, rows_to_check

    keys = current_app.config["DATA_ENCRYPTION_KEYS"]
    click.echo(f"first key {fingerprint(keys[0])} encrypts; {len(keys)} key{'s' if len(keys) != 1 else ''} "
               "in DATA_ENCRYPTION_KEY")
    with click.progressbar(length=rows_to_check(), label="re-encrypting", file=sys.stderr) as bar:
        report = rotate_key(batch_size, on_batch=lambda table, rows: bar.update(rows))
    for line in report.lines():
        click.echo(line, err=line.startswith("error:"))
    audit.record("encryption.rotate", actor="cli", details={
        "key": fingerprint(keys[0]), "rows": report.rows, "reencrypted": report.reencrypted,
        "indexes": report.indexes_updated, "unreadable": sum(report.unreadable.values())})
    db.session.commit()
    if report.unreadable:
        sys.exit(1)
    if report.changed_meanwhile:
        sys.exit(2)
    if len(keys) > 1:
        click.echo("every encrypted value reads with the first key alone: the other keys can be dropped "
                   "from DATA_ENCRYPTION_KEY (restart the web app and the scheduler afterwards)")


@click.command("generate-key")
def generate_key_command():
    """Print a new key for DATA_ENCRYPTION_KEY."""
    click.echo(Fernet.generate_key().decode())


if __name__ == "__main__":
    main()
