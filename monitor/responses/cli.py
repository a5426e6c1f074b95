"""Command-line tools for responses."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.command("import-responses")
@click.argument("file", type=click.File("rb"))
@click.option("--version", type=click.IntRange(min=1),
              help="The questionnaire version the answers follow (default: the current one).")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows even when some are invalid.")
@with_appcontext
def import_responses_command(file, version, dry_run, skip_invalid):
    """Import historical or paper responses from a CSV file.

    Columns: code,wave,mode,date,disposition, then one column per item code (multiple choices
    as a;b;c with the first-marked first, rankings as code1;code2;code3; an empty cell is no
    answer). Re-importing updates each (case, wave) response in place; a response completed in
    the platform is never overwritten. Exits 1 when any row is invalid.

    Also takes the submissions of the offline work list form (`monitor export worklist`) as ODK
    Central's CSV export or KoboToolbox's ("XML values and headers") writes them, recognised
    from the header; a submission imported before is skipped.
    """
    from monitor.csvimport import echo_report
    from monitor.responses.importing import import_responses

    report = import_responses(file.read(), version=version, dry_run=dry_run, skip_invalid=skip_invalid,
                              actor="cli", filename=getattr(file, "name", ""))
    echo_report(report, dry_run)
    if report.errors:
        sys.exit(1)
