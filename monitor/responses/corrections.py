"""Corrections of a closed response: staff replace its answers with a stated reason; the version
replaced is kept as a numbered revision, the scores and red flags follow the new answers, and
each correction is in the audit log. The follow-up's disposition does not change."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from monitor import audit
from monitor.extensions import db
from monitor.models import Response, ResponseRevision, ScoringVersion, User
from monitor.models.types import utcnow
from monitor.responses.operations import apply_scores, as_stored, save_answers, stored_answers
from scheduler.dispositions import carries_answers
from surveys.items import Item

REASON_MAX_LENGTH = 500


def correctable(response: Response) -> bool:
    """Closed with its answers kept (complete 1.1, partial 1.2, break-off 2.12): an open
    response is not corrected but continued in the interview form."""
    follow_up = response.follow_up
    return (response.completed_at is not None and follow_up is not None and follow_up.state == "closed"
            and carries_answers(follow_up.disposition))


def latest_revision(response: Response) -> int:
    """The number of the last correction (0: never corrected). A correction form carries it, so
    that a correction made meanwhile is not overwritten unseen."""
    return db.session.scalar(select(func.coalesce(func.max(ResponseRevision.number), 0))
                             .where(ResponseRevision.response_id == response.id))


def corrected_answers(answers: dict, items: list[Item], submitted: dict) -> dict:
    """`answers` with the answers to `items` replaced by `submitted` (an item left empty has
    none), as `save_answers` would store them."""
    result = {code: value for code, value in answers.items() if code not in {item.code for item in items}}
    for item in items:
        value = submitted.get(item.code)
        if value not in (None, "", []):
            result[item.code] = as_stored(value)
    return result


def changed_items(before: dict, after: dict) -> list[str]:
    return sorted(code for code in before.keys() | after.keys() if before.get(code) != after.get(code))


def correct_response(response: Response, items: list[Item], submitted: dict, *, reason: str, based_on: int,
                     mode: str, language: str, user: User | None) -> ResponseRevision | None:
    """Replace the answers to `items` by `submitted` (and the mode and the language of the
    interview), keeping the version replaced as revision `based_on + 1`, `based_on` being the
    revision the correction form showed. None when nothing changes (nothing is stored).

    The revision is flushed first, before anything else changes: when another correction of the
    same version was stored meanwhile, the unique (response, number) raises IntegrityError here
    and the caller rolls back; nothing half-done remains."""
    before = stored_answers(response)
    changed = changed_items(before, corrected_answers(before, items, submitted))
    if not changed and (mode, language) == (response.mode, response.language):
        return None
    revision = ResponseRevision(response_id=response.id, number=based_on + 1, answers=before, mode=response.mode,
                                language=response.language, reason=reason, corrected_by_id=user.id if user else None,
                                corrected_at=utcnow())
    db.session.add(revision)
    db.session.flush()
    details = {"wave": response.wave, "revision": revision.number, "reason": reason, "changed": changed}
    if mode != response.mode:
        details["mode"] = [response.mode, mode]
    if language != response.language:
        details["language"] = [response.language, language]
    save_answers(response, items, submitted)
    response.mode, response.language = mode, language
    # The scores follow the corrected answers under every scoring version the response is scored
    # in, and under the newest and the active ones: a score of answers that no longer stand is
    # wrong in any version. apply_scores computes each by the rules and weights in force now (an
    # old version's weights are not kept), as `monitor rescore` would; the red flags, which do
    # not depend on the version, come out the same each time.
    versions = {row.version for row in response.score_rows}
    versions |= {number for number in (ScoringVersion.newest_number(), ScoringVersion.active_number()) if number}
    for version in sorted(versions):
        apply_scores(response, version)
    audit.record("response.correct", response, user=user, details=details)
    return revision


@dataclass
class Correction:
    """One correction as the history shows it: what the answers were before and after."""

    number: int
    at: datetime
    by: User | None
    reason: str
    changes: list[tuple[str, object, object]] = field(default_factory=list)  # (item code, before, after)
    mode: tuple[str, str] | None = None
    language: tuple[str, str] | None = None


def history(response: Response) -> list[Correction]:
    """The response's corrections, newest first. Each revision holds the version it replaced;
    the version that replaced it is the next revision, or the response as it stands."""
    revisions = db.session.scalars(select(ResponseRevision).where(ResponseRevision.response_id == response.id)
                                   .order_by(ResponseRevision.number)).all()
    found = []
    for n, revision in enumerate(revisions):
        following = revisions[n + 1] if n + 1 < len(revisions) else None
        after = following.answers if following else stored_answers(response)
        after_mode = following.mode if following else response.mode
        after_language = following.language if following else response.language
        before = revision.answers
        found.append(Correction(
            number=revision.number, at=revision.corrected_at, by=revision.corrected_by, reason=revision.reason,
            changes=[(code, before.get(code), after.get(code)) for code in changed_items(before, after)],
            mode=(revision.mode, after_mode) if revision.mode != after_mode else None,
            language=(revision.language, after_language) if revision.language != after_language else None))
    return found[::-1]


def readable(questionnaire, code: str, value, t, *, show_text: bool = True) -> str:
    """An answer in a history or a comparison, labels through the translator `t`; free text only
    for those who may see it (it can hold what a returnee said about themselves)."""
    if value in (None, "", []):
        return "—"
    if not questionnaire.has_item(code):
        return str(value)
    item = questionnaire.item(code)
    if item.type_name == "text" and not show_text:
        return "…"
    return item.answer_text(value, t)


def item_label(questionnaire, code: str, t) -> str:
    return t(questionnaire.item(code).text) if questionnaire.has_item(code) else code
