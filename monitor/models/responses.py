from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import g, has_request_context
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.extensions import db
from monitor.models.returnees import Returnee
from monitor.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from monitor.models.attention import AttentionItem
    from monitor.models.followups import FollowUp
    from monitor.models.users import User

MODES = ("sms-web", "phone", "visit", "import")


class Response(db.Model):
    """The answers of one follow-up, in one version of the questionnaire. Its outcome is the
    follow-up's disposition (one source); `returnee_id` and `wave` are the follow-up's, copied
    when the response starts, for lookups.

    Answers are stored as language-independent codes in ResponseAnswer rows (one per item, or
    per chosen option), so the dashboard aggregates them in SQL; the scores and red flags are
    computed once at completion (and again by `monitor rescore`).
    """

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("returnee_id", "wave", name="uq_responses_returnee_id_wave"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"), unique=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"), index=True)
    wave: Mapped[str] = mapped_column(String(20), index=True)  # m1, m6, m12
    questionnaire_code: Mapped[str] = mapped_column(String(40))
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(10))  # MODES
    language: Mapped[str] = mapped_column(String(8))
    first_follow_up: Mapped[bool] = mapped_column(Boolean, default=True)  # asks the once-only modules
    # Loaded by `monitor import-responses` (historical or paper data), not answered in the platform.
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The last module the respondent got past, to resume where they stopped.
    reached_module: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the response ended: saved as complete, or closed with its follow-up (partial, break-off).
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    returnee: Mapped[Returnee] = relationship()
    follow_up: Mapped[FollowUp] = relationship()
    answer_rows: Mapped[list[ResponseAnswer]] = relationship(
        cascade="all, delete-orphan", order_by="(ResponseAnswer.item, ResponseAnswer.position)", lazy="selectin")
    flag_rows: Mapped[list[ResponseFlag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    score_rows: Mapped[list[ResponseScore]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    attention_items: Mapped[list[AttentionItem]] = relationship(
        back_populates="response", cascade="all, delete-orphan", lazy="selectin", order_by="AttentionItem.id")
    # Loaded only when asked for (a case page's history), or to delete them with the response.
    revision_rows: Mapped[list[ResponseRevision]] = relationship(cascade="all, delete-orphan",
                                                                 order_by="ResponseRevision.number")

    @property
    def disposition(self) -> str | None:
        return self.follow_up.disposition if self.follow_up is not None else None

    @property
    def flags(self) -> list[str]:
        return sorted(row.flag for row in self.flag_rows)

    @property
    def answers(self) -> dict:
        """Item code -> answer: a code, a list of codes (in order), a number or a text."""
        found: dict = {}
        for row in self.answer_rows:
            value = row.code if row.code is not None else row.number if row.number is not None else row.text
            if row.position is None:
                found[row.item] = value
            else:
                found.setdefault(row.item, []).append(value)
        return found

    def scores_in(self, version: int | None) -> dict[str, float | None]:
        row = next((r for r in self.score_rows if r.version == version), None)
        return {dimension: getattr(row, dimension) if row else None for dimension in SCORE_COLUMNS}

    @property
    def scores(self) -> dict[str, float | None]:
        """The scores under the scoring version an admin activated (what the dashboard shows)."""
        return self.scores_in(ScoringVersion.active_number())

    @property
    def score_economic(self) -> float | None:
        return self.scores["economic"]

    @property
    def score_social(self) -> float | None:
        return self.scores["social"]

    @property
    def score_psychosocial(self) -> float | None:
        return self.scores["psychosocial"]

    @property
    def score_composite(self) -> float | None:
        return self.scores["composite"]


SCORE_COLUMNS = ("economic", "social", "psychosocial", "composite")


class ScoringVersion(db.Model):
    """A run of scoring: version 1 scored responses as they completed; `monitor rescore` writes a
    new version beside the old ones (after a change of weights); an admin activates the one the
    dashboard uses (`monitor scoring activate N`), and the dashboard names it. Completions are
    scored under the newest version (the rules in force)."""

    __tablename__ = "scoring_versions"
    __table_args__ = (Index("uq_scoring_versions_active", "active", unique=True,
                            sqlite_where=db.text("active"), postgresql_where=db.text("active")),)

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(200))
    rules: Mapped[str] = mapped_column(String(40))  # the scoring rules of surveys/scoring.py it used
    active: Mapped[bool] = mapped_column(Boolean, default=False)

    @staticmethod
    def active_number() -> int | None:
        # Asked for every score a page shows: once per request is enough.
        if has_request_context() and "_active_scoring_version" in g:
            return g._active_scoring_version
        number = db.session.scalar(select(ScoringVersion.number).where(ScoringVersion.active))
        if has_request_context():
            g._active_scoring_version = number
        return number

    @staticmethod
    def newest_number() -> int | None:
        return db.session.scalar(select(ScoringVersion.number).order_by(ScoringVersion.number.desc()).limit(1))


class ResponseScore(db.Model):
    """A response's scores under one scoring version (0..1; None when the dimension is missing)."""

    __tablename__ = "response_scores"

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("scoring_versions.number"), primary_key=True, index=True)
    economic: Mapped[float | None] = mapped_column(Float)
    social: Mapped[float | None] = mapped_column(Float)
    psychosocial: Mapped[float | None] = mapped_column(Float)
    composite: Mapped[float | None] = mapped_column(Float)


class ResponseAnswer(db.Model):
    """One answer, or one chosen option of a multiple or ranked answer (`position` 0, 1, 2...:
    the first-marked answer or rank 1 comes first)."""

    __tablename__ = "response_answers"
    # One row per answer (item, and position for a multiple answer): a page stored twice cannot
    # double its answers. NULL positions are distinct in a unique index, hence two partial ones.
    __table_args__ = (
        Index("uq_response_answers_single", "response_id", "item", unique=True,
              sqlite_where=text("position IS NULL"), postgresql_where=text("position IS NULL")),
        Index("uq_response_answers_multiple", "response_id", "item", "position", unique=True,
              sqlite_where=text("position IS NOT NULL"), postgresql_where=text("position IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(40), index=True)
    position: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(40))
    number: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)


class ResponseFlag(db.Model):
    """A red flag the response's answers raise now (recomputed with its scores: dropped when the
    answers no longer raise it). The work it gives a partner is an AttentionItem, which stays."""

    __tablename__ = "response_flags"

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    flag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class ResponseRevision(db.Model):
    """An earlier version of a closed response's answers, kept when staff corrected them: the
    answers (codes, as `stored_answers` gives them), mode and language as they were before
    correction `number` (1, 2, ...), with its reason, who and when. The newest version is the
    response itself. Two corrections made from the same version cannot both become number N:
    the unique constraint lets one win, the other is told that the response changed meanwhile."""

    __tablename__ = "response_revisions"
    __table_args__ = (UniqueConstraint("response_id", "number", name="uq_response_revisions_response_id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    corrected_by: Mapped[User | None] = relationship()


class SurveyLink(db.Model):
    """A returnee's personal way into the questionnaire. Only a hash of the token is stored."""

    __tablename__ = "survey_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"), index=True)
    wave: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    returnee: Mapped[Returnee] = relationship()
