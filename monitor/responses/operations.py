"""The domain actions on responses: start, save answers, score and flag, rescore. The returnee's
web form, the interviewer's form, the import and the CLI all go through these; completing a
response closes its follow-up (monitor/followups/operations.py), which holds its outcome."""
from __future__ import annotations


from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.orm import aliased

from monitor.attention.operations import follow_flags
from monitor.extensions import db
from monitor.models import FollowUp, Response, ResponseAnswer, ResponseFlag, ResponseScore, Returnee, ScoringVersion, User
from monitor.models.types import utcnow
from scheduler.dispositions import carries_answers, is_scored
from surveys import registry
from surveys.definition import Questionnaire
from surveys.items import Item
from surveys.scoring import SCORING_VERSION as SCORING_RULES
from surveys.scoring import red_flags, score


def questionnaire_of(response: Response) -> Questionnaire:
    return registry.get(response.questionnaire_code, response.questionnaire_version)


def find_response(follow_up: FollowUp) -> Response | None:
    if follow_up is None or follow_up.id is None:
        return None
    return db.session.scalar(select(Response).where(Response.follow_up_id == follow_up.id))


def asks_once_only_modules(returnee: Returnee, response: Response | None = None) -> bool:
    """The one rule for the modules asked once ("how they heard", "decision factors"): at the
    returnee's first response, whatever its wave; that is, unless another of their responses
    asked them: one still open, complete or partial, or a break-off that answered some of them."""
    other, follow_up = aliased(Response), aliased(FollowUp)
    answered_once_only = exists().where(ResponseAnswer.response_id == other.id,
                                        ResponseAnswer.item.in_(_once_only_items()))
    stmt = (select(other.id).join(follow_up, follow_up.id == other.follow_up_id)
            .where(other.returnee_id == returnee.id, other.first_follow_up,
                   or_(follow_up.disposition.is_(None), follow_up.disposition.in_(("1.1", "1.2")),
                       and_(follow_up.disposition == "2.12", answered_once_only))))
    if response is not None and response.id is not None:
        stmt = stmt.where(other.id != response.id)
    return not db.session.scalar(select(exists(stmt)))


def _once_only_items() -> list[str]:
    return sorted({item.code for questionnaire in registry.all_versions().values()
                   for module in questionnaire.modules if module.first_follow_up_only for item in module.items})


def start_response(follow_up: FollowUp, mode: str, *, language: str | None = None,
                   questionnaire: Questionnaire | None = None, interviewer: User | None = None) -> Response:
    """The follow-up's response: the one already started (resume), or a new one in the current
    questionnaire version."""
    response = find_response(follow_up)
    if response is not None:
        return response
    return new_response(follow_up, mode, language=language, questionnaire=questionnaire, interviewer=interviewer)


def new_response(follow_up: FollowUp, mode: str, *, language: str | None = None,
                 questionnaire: Questionnaire | None = None, interviewer: User | None = None) -> Response:
    """A new response of a follow-up known to have none (its row locked, or just read with it);
    the unique index on the response's follow-up refuses a second one all the same."""
    questionnaire = questionnaire or registry.current()
    returnee = follow_up.returnee
    response = Response(
        follow_up=follow_up, returnee=returnee, wave=follow_up.wave, mode=mode,
        language=language or returnee.language, questionnaire_code=questionnaire.code,
        questionnaire_version=questionnaire.version, first_follow_up=asks_once_only_modules(returnee),
        interviewer_id=interviewer.id if interviewer else None)
    db.session.add(response)
    db.session.flush()
    return response


def _row(item: Item, position=None, code=None, number=None, text=None) -> dict:
    # Every column set, always: the rows go in one INSERT of one shape.
    return {"item": item.code, "position": position, "code": code, "number": number, "text": text}


def _rows(item: Item, value) -> list[dict]:
    if isinstance(value, list):
        return [_row(item, position=n, code=code) for n, code in enumerate(value)]
    if item.takes_options:
        return [_row(item, code=value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [_row(item, number=value)]
    return [_row(item, text=str(value))]


def save_answers(response: Response, items: list[Item], answers: dict, *, follow_up_locked: bool = False) -> None:
    """Store the answers to `items` (a page, or the whole questionnaire): an item left empty is
    cleared, items not in `items` are kept as they are.

    Two presses of one page replace the answers in turn and never add them twice: the writer
    holds the lock first (the returnee's page loads its follow-up FOR UPDATE, `follow_up_locked`;
    for the others an UPDATE of the response here: the row's lock on PostgreSQL, the database's
    write lock on SQLite), then the page's old rows go in one DELETE and its new ones in one
    INSERT; the unique index on an answer's identity stands behind it. `response.answer_rows` is
    read again from the database when next used."""
    codes = sorted({item.code for item in items})
    now = utcnow()
    if not follow_up_locked:
        db.session.execute(update(Response).where(Response.id == response.id).values(updated_at=now)
                           .execution_options(synchronize_session=False))
    db.session.execute(delete(ResponseAnswer).where(ResponseAnswer.response_id == response.id,
                                                    ResponseAnswer.item.in_(codes))
                       .execution_options(synchronize_session=False))
    rows = [{"response_id": response.id, **row} for item in items
            if answers.get(item.code) not in (None, "", []) for row in _rows(item, answers[item.code])]
    if rows:
        db.session.execute(insert(ResponseAnswer.__table__), rows)  # Core: one executemany, every column
    db.session.expire(response, ["answer_rows"])
    response.updated_at = now


def apply_scores(response: Response, version: int | None = None) -> bool:
    """Compute and store the scores (under `version`, by default the newest scoring version: the
    rules in force) and the red flags, as the follow-up's disposition says; True when scores or
    flags changed. Complete and partial responses are scored; a break-off keeps its answers and
    raises red flags from them (the partner must act whatever the score); a refusal, a
    non-contact and the like have neither (a flag rule on a missing answer must not fire).
    Every way a flag appears passes here, so here a new flag of a live response opens its
    needs-attention item (monitor/attention)."""
    version = version or ScoringVersion.newest_number()
    questionnaire = questionnaire_of(response)
    before = (response.scores_in(version), response.flags)
    disposition = response.follow_up.disposition if response.follow_up is not None else None
    answers = stored_answers(response) if disposition and carries_answers(disposition) else {}
    scores = score(questionnaire, answers if is_scored(disposition) else {}, first_follow_up=response.first_follow_up)
    flags = set(red_flags(questionnaire, answers)) if answers else set()
    values = {**{d: scores.dimensions.get(d) for d in ("economic", "social", "psychosocial")},
              "composite": scores.composite}
    row = next((r for r in response.score_rows if r.version == version), None)
    if row is None:
        row = ResponseScore(version=version)
        response.score_rows.append(row)
    for dimension, value in values.items():
        setattr(row, dimension, value)
    response.flag_rows = [kept for kept in response.flag_rows if kept.flag in flags] + [
        ResponseFlag(flag=code) for code in sorted(flags - {r.flag for r in response.flag_rows})]
    follow_flags(response, flags)
    return before != (response.scores_in(version), sorted(flags))


def stored_answers(response: Response) -> dict:
    """The answers as the questionnaire items give them."""
    return {code: as_stored(value) for code, value in response.answers.items()}


def as_stored(value):
    """An answer as it reads back from the database: stored numbers come back as floats, whole
    numbers get their ints again (in a list too)."""
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def rescore_all(note: str | None = None, batch: int = 500) -> tuple[int, int, int]:
    """Score every finished response again, as a new scoring version beside the old ones (after a
    change of weights), and recompute the red flags. The active version does not change: an
    admin activates the new one when it is right. Returns (version, responses seen, responses
    whose scores differ from the active version's)."""
    version = (ScoringVersion.newest_number() or 0) + 1
    db.session.add(ScoringVersion(number=version, note=(note or "")[:200] or None, rules=str(SCORING_RULES)))
    db.session.flush()
    active = ScoringVersion.active_number()
    seen = changed = 0
    last_id = 0
    while True:
        responses = db.session.scalars(select(Response).where(
            Response.completed_at.is_not(None), Response.id > last_id).order_by(Response.id).limit(batch)).all()
        if not responses:
            break
        for response in responses:
            seen += 1
            apply_scores(response, version)
            changed += response.scores_in(version) != response.scores_in(active)
            last_id = response.id
        db.session.commit()
    db.session.commit()
    return version, seen, changed


def activate_scoring_version(number: int, *, actor: str, user: User | None = None) -> None:
    """The version the dashboard uses from now on (one at a time)."""
    from monitor import audit

    chosen = db.session.get(ScoringVersion, number)
    if chosen is None:
        raise LookupError(f"no scoring version {number}")
    for version in db.session.scalars(select(ScoringVersion).where(ScoringVersion.active)):
        version.active = False
    db.session.flush()
    chosen.active = True
    audit.record("scoring.activate", user=user, actor=actor, details={"version": number})
