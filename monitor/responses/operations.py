"""The domain actions on responses: start, save answers, complete (score and flag), rescore.
The returnee's web form, the interviewer's form, the import and the CLI all go through these."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from monitor import audit
from monitor.extensions import db
from monitor.models import Response, ResponseAnswer, ResponseFlag, Returnee, User
from monitor.models.types import utcnow
from scheduler.operations import close_for_response
from surveys import registry
from surveys.definition import Questionnaire
from surveys.items import Item
from surveys.scoring import red_flags, score


def questionnaire_of(response: Response) -> Questionnaire:
    return registry.get(response.questionnaire_code, response.questionnaire_version)


def find_response(returnee: Returnee, wave: str) -> Response | None:
    return db.session.scalar(select(Response).where(Response.returnee_id == returnee.id, Response.wave == wave))


def start_response(returnee: Returnee, wave: str, mode: str, *, language: str | None = None,
                   questionnaire: Questionnaire | None = None, interviewer: User | None = None,
                   first_follow_up: bool | None = None) -> Response:
    """The response for this returnee and wave: the one already started (resume), or a new one in
    the current questionnaire version."""
    response = find_response(returnee, wave)
    if response is not None:
        return response
    questionnaire = questionnaire or registry.current()
    response = Response(
        returnee=returnee, wave=wave, mode=mode, language=language or returnee.language,
        questionnaire_code=questionnaire.code, questionnaire_version=questionnaire.version,
        first_follow_up=(wave == "m1") if first_follow_up is None else first_follow_up,
        interviewer_id=interviewer.id if interviewer else None)
    db.session.add(response)
    db.session.flush()
    return response


def _row(item: Item, position=None, code=None, number=None, text=None) -> ResponseAnswer:
    # Every column set, always: rows of one shape are inserted in one batched statement.
    return ResponseAnswer(item=item.code, position=position, code=code, number=number, text=text)


def _rows(item: Item, value) -> list[ResponseAnswer]:
    if isinstance(value, list):
        return [_row(item, position=n, code=code) for n, code in enumerate(value)]
    if item.takes_options:
        return [_row(item, code=value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [_row(item, number=value)]
    return [_row(item, text=str(value))]


def save_answers(response: Response, items: list[Item], answers: dict) -> None:
    """Store the answers to `items` (a page, or the whole questionnaire): an item left empty is
    cleared, items not in `items` are kept as they are."""
    codes = {item.code for item in items}
    response.answer_rows = [row for row in response.answer_rows if row.item not in codes]
    for item in items:
        value = answers.get(item.code)
        if value not in (None, "", []):
            response.answer_rows.extend(_rows(item, value))
    response.updated_at = utcnow()


def complete_response(response: Response, *, disposition: str = "complete", at: datetime | None = None,
                      user: User | None = None, actor: str | None = None) -> None:
    response.completed_at = response.completed_at or at or utcnow()
    response.disposition = disposition
    apply_scores(response)
    close_for_response(response, actor=actor or (user.email if user else "returnee"))
    audit.record("response.complete", response, user=user, actor=actor,
                 details={"wave": response.wave, "mode": response.mode, "disposition": disposition})


SCORED_DISPOSITIONS = ("complete", "partial")


def apply_scores(response: Response) -> bool:
    """Compute and store the scores and red flags; True when anything changed. A refusal, a
    non-contact and the like have neither (a flag rule on a missing answer must not fire)."""
    questionnaire = questionnaire_of(response)
    before = (response.scores, response.flags)
    if response.disposition in SCORED_DISPOSITIONS:
        answers = stored_answers(response)
        scores = score(questionnaire, answers)
        flags = set(red_flags(questionnaire, answers))
    else:
        scores = score(questionnaire, {})
        flags = set()
    response.score_economic = scores.dimensions.get("economic")
    response.score_social = scores.dimensions.get("social")
    response.score_psychosocial = scores.dimensions.get("psychosocial")
    response.score_composite = scores.composite
    response.flag_rows = [row for row in response.flag_rows if row.flag in flags] + [
        ResponseFlag(flag=code) for code in sorted(flags - {r.flag for r in response.flag_rows})]
    return before != (response.scores, sorted(flags))


def stored_answers(response: Response) -> dict:
    """The answers as the questionnaire items give them (stored numbers come back as floats:
    whole numbers get their ints again)."""
    return {code: int(value) if isinstance(value, float) and value.is_integer() else value
            for code, value in response.answers.items()}


def rescore_all(batch: int = 500) -> tuple[int, int]:
    """Recompute scores and flags of every completed response (after a weight change).
    Returns (responses seen, responses changed)."""
    seen = changed = 0
    last_id = 0
    while True:
        responses = db.session.scalars(select(Response).where(
            Response.completed_at.is_not(None), Response.id > last_id).order_by(Response.id).limit(batch)).all()
        if not responses:
            break
        for response in responses:
            seen += 1
            changed += apply_scores(response)
            last_id = response.id
        db.session.commit()
    return seen, changed
