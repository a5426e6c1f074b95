"""`monitor erase` and `monitor purge-expired`: a case's identity erased on request, and every
case's at the end of its retention period (monitor/returnees/erasure.py does the work)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import Returnee
from monitor.returnees.erasure import erase_and_commit, purge_expired


@click.command("erase")
@click.argument("code")
@click.option("--reason", required=True, help="Why (a request under the GDPR, say); written to the audit log. "
                                               "Never the person's name.")
@click.option("--with-answers", is_flag=True, help="Delete the case's answers too (the outcome of each follow-up stays).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_command(code, reason, with_answers, yes):
    """Erase a case's identity everywhere it is stored (irreversible)."""
    reason = reason.strip()[:200]
    if not reason:
        raise click.BadParameter("give the reason for the erasure", param_hint="--reason")
    returnee = db.session.scalar(select(Returnee).where(Returnee.code == code.strip()))
    if returnee is None:
        raise click.ClickException(f"no case {code.strip()[:40]!r}")
    if not yes:
        click.confirm(f"Erase the name, phone number, texts and notes of {returnee.code}"
                      + (" and its answers" if with_answers else "") + "? This cannot be undone", abort=True)
    done = erase_and_commit(returnee.id, reason=reason, with_answers=with_answers, actor="cli")
    if done.erased:
        click.echo(f"erased {done.code}: {done.messages} text messages and {done.texts} texts from the returnee emptied, "
                   f"{done.notes} notes and {done.free_text} free-text answers removed"
                   + (f", {done.responses} responses deleted" if with_answers else ""))
    elif done.responses:
        click.echo(f"{done.code} was erased before; {done.responses} responses deleted now")
    else:
        click.echo(f"{done.code} was erased before: nothing more to do")


@click.command("purge-expired")
@click.option("--today", help="Purge as on this day (YYYY-MM-DD); default: today.")
@click.option("--dry-run", is_flag=True, help="List the cases that would be purged; change nothing.")
@with_appcontext
def purge_expired_command(today, dry_run):
    """Erase names and phone numbers RETENTION_MONTHS after a case's last wave closed (idempotent)."""
    from monitor.cli import _when
    from scheduler.clock import Clock

    months = current_app.config["RETENTION_MONTHS"]
    report = purge_expired(_when(today, "date") or Clock().today(), months, actor="cli", dry_run=dry_run)
    for code in report.codes:
        click.echo(("would purge " if dry_run else "purged ") + code)
    click.echo(f"{len(report.codes)} cases {'to purge' if dry_run else 'purged'} "
               f"(retention: {months} months after the last wave closed)")
