"""The work list offline: a zip that KoboCollect or ODK Collect takes into the field.

    worklist-<org>-<date>.zip
        worklist.xlsx   the current questionnaire as an XLSForm (surveys/exports.worklist_sheets)
                        whose first question picks the case from the attached case list
        cases.csv       one row per open phone task of the organisation (the work list's "to
                        call", "call back now" and "later"): the follow-ups a person must reach

The case list's `name` is the follow-up's key, `<case code>/<wave>` (pseudonymous, as the case
code is everywhere else): a submission comes back to its follow-up through it
(monitor/responses/submissions.py). Names and phone numbers are in the list only when the
exporting account may see contact details; every export is one audit entry listing its cases.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from monitor import audit
from monitor.access import can, scope_to_user, visible_organisations
from monitor.extensions import db
from monitor.models import FollowUp, Organisation, Returnee, User
from monitor.models.types import utcnow
from monitor.responses.operations import asks_once_only_modules, find_response
from surveys import registry
from surveys.exports import CASE_LIST, worklist_sheets, write_workbook

FORM_FILE = "worklist.xlsx"
CASE_COLUMNS = ("name", "label", "code", "wave", "language", "first", "window_closes")
CONTACT_COLUMNS = ("returnee_name", "phone")


class OutOfScope(LookupError):
    """The organisation is not one the exporting account may see."""


def follow_up_key(code: str, wave: str) -> str:
    """The case list's key of a follow-up. Case codes and waves hold no "/"."""
    return f"{code}/{wave}"


def parse_follow_up_key(key: str) -> tuple[str, str] | None:
    code, slash, wave = key.strip().rpartition("/")
    return (code, wave) if slash and code and wave else None


def check_scope(user: User | None, organisation: Organisation) -> None:
    """Staff export their own organisation (a reintegration partner's staff also one of its
    local partners); admins and the command line without an account, any."""
    if user is None or user.role == "admin":
        return
    visible = db.session.scalar(visible_organisations(user).where(Organisation.id == organisation.id))
    if visible is None or not user.partner_scoped:
        raise OutOfScope(organisation.code)


def open_tasks(organisation: Organisation, user: User | None = None) -> list[tuple[FollowUp, Returnee]]:
    """The organisation's open phone tasks, soonest closing first."""
    stmt = (select(FollowUp, Returnee).join(Returnee, Returnee.id == FollowUp.returnee_id)
            .where(FollowUp.state == "phone_task",
                   or_(Returnee.partner_id == organisation.id, Returnee.local_partner_id == organisation.id))
            .order_by(FollowUp.window_closes, Returnee.code, FollowUp.wave))
    if user is not None:
        stmt = scope_to_user(stmt, user)
    return [(row.FollowUp, row.Returnee) for row in db.session.execute(stmt)]


def download_name(organisation: Organisation, day) -> str:
    """No personal data: the organisation's code and the day."""
    return f"worklist-{organisation.code}-{day.isoformat()}.zip"


@dataclass
class WorklistExport:
    data: bytes  # the zip
    cases: list[str]  # the follow-ups' keys, as in the case list
    contact: bool  # names and phone numbers are in the case list


def export_worklist(organisation: Organisation, *, user: User | None = None, actor: str | None = None,
                    now: datetime | None = None) -> WorklistExport:
    """The zip, and its audit entry added to the session (the caller commits). OutOfScope when
    `user` may not export this organisation's work list."""
    check_scope(user, organisation)
    now = now or utcnow()
    contact = user is not None and can(user, "returnees.contact")
    questionnaire = registry.current()
    tasks = open_tasks(organisation, user)

    form = io.BytesIO()
    write_workbook(worklist_sheets(
        questionnaire, form_id="worklist_" + re.sub(r"[^A-Za-z0-9_]", "_", organisation.code),
        # ODK Central takes a new case list only with a new version string.
        version=f"{questionnaire.version}.{now:%Y%m%d%H%M%S}",
        title=f"{questionnaire.title} · {organisation.code}"), form)

    cases = io.StringIO(newline="")
    writer = csv.writer(cases, lineterminator="\n")  # no byte order mark: Collect reads the header as is
    writer.writerow(CASE_COLUMNS + (CONTACT_COLUMNS if contact else ()))
    keys = []
    for follow_up, returnee in tasks:
        key = follow_up_key(returnee.code, follow_up.wave)
        keys.append(key)
        label = f"{returnee.code} · {follow_up.wave}"
        if contact:
            label += "".join(f" · {value}" for value in (returnee.name, returnee.phone) if value)
        first = asks_once_only_modules(returnee, find_response(follow_up))
        row = [key, label, returnee.code, follow_up.wave, returnee.language, "yes" if first else "no",
               follow_up.window_closes.isoformat()]
        writer.writerow(row + ([returnee.name or "", returnee.phone or ""] if contact else []))

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(FORM_FILE, form.getvalue())
        archive.writestr(CASE_LIST, cases.getvalue().encode("utf-8"))
    audit.record("worklist.export", organisation, user=user, actor=actor,
                 details={"cases": keys, "contact": contact, "questionnaire": questionnaire.key})
    return WorklistExport(data.getvalue(), keys, contact)
