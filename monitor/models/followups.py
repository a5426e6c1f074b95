from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text, Time, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.extensions import db
from monitor.models.returnees import Returnee
from monitor.models.types import EncryptedText, UTCDateTime, utcnow


class Wave(db.Model):
    """A wave of the follow-up plan: the one-month check for everyone, sampled waves later."""

    __tablename__ = "waves"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)  # m1, m6, m12
    due_days: Mapped[int] = mapped_column(Integer)  # days after the return date
    opens_days_before: Mapped[int] = mapped_column(Integer, default=0)
    closes_days_after: Mapped[int] = mapped_column(Integer, default=30)
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    fraction: Mapped[float] = mapped_column(Float, default=1.0)
    min_per_stratum: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The last day planning covered: returnees whose window opened since (even if it has closed
    # again, say while the scheduler was down) are still planned, and closed as they should be.
    planned_through: Mapped[date | None] = mapped_column(Date)

    @property
    def months(self) -> int:
        return max(1, round(self.due_days / 30.44))


class ContactSettings(db.Model):
    """The plan's contact rules (one row)."""

    __tablename__ = "contact_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_days: Mapped[str] = mapped_column(String(40), default="3,7")  # days after the invitation
    phone_after_days: Mapped[int] = mapped_column(Integer, default=14)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    quiet_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    quiet_end: Mapped[time] = mapped_column(Time, default=time(20, 0))
    max_messages_per_week: Mapped[int] = mapped_column(Integer, default=2)
    # Minutes before a phone task comes back after an attempt that reached nobody, per outcome
    # (as queXS does): "no_answer=240,busy=60,...".
    retry_delays: Mapped[str] = mapped_column(String(200), default="no_answer=240,busy=60,switched_off=240,absent=1440")


class SampleDraw(db.Model):
    """One draw for a wave and a cohort (the month of return). Never changes once made: its
    seed, frame (`SampleFrameMember`) and sample sizes per stratum are kept to reproduce and to
    weight. `kind`: `sample` (the cohort's stratified draw, sequence 0), `supplement` (returnees
    imported into the cohort after its draw: sequence 1, 2, ...), `census` (a wave that is not
    sampled: everyone, probability 1; its strata grow as follow-ups are planned)."""

    __tablename__ = "sample_draws"
    __table_args__ = (UniqueConstraint("wave", "cohort", "sequence", name="uq_sample_draws_wave_cohort_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave: Mapped[str] = mapped_column(ForeignKey("waves.code"))
    cohort: Mapped[str] = mapped_column(String(7))  # YYYY-MM of return
    kind: Mapped[str] = mapped_column(String(12), default="sample")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    # False for draws made before frames were stored (migration 0005): they cannot be redrawn.
    frame_stored: Mapped[bool] = mapped_column(Boolean, default=True)
    fraction: Mapped[float] = mapped_column(Float)
    min_per_stratum: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frame_size: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)

    strata: Mapped[list[SampleStratum]] = relationship(cascade="all, delete-orphan", order_by="SampleStratum.id",
                                                       back_populates="draw")


class SampleStratum(db.Model):
    """A stratum of a draw, as drawn: destination country x partner, N_h (frame_size) and n_h."""

    __tablename__ = "sample_strata"
    __table_args__ = (UniqueConstraint("draw_id", "country", "partner_id", name="uq_sample_strata_draw_country_partner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("sample_draws.id", ondelete="CASCADE"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    frame_size: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float)

    draw: Mapped[SampleDraw] = relationship(back_populates="strata")


class SampleFrameMember(db.Model):
    """Who was in a draw's frame, in which stratum, and whether they were selected. A returnee is
    in at most one frame per wave (the primary key), so a draw and a supplement never overlap."""

    __tablename__ = "sample_frame"

    wave: Mapped[str] = mapped_column(ForeignKey("waves.code"), primary_key=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"), primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("sample_draws.id", ondelete="CASCADE"), index=True)
    stratum_id: Mapped[int] = mapped_column(ForeignKey("sample_strata.id", ondelete="CASCADE"))
    selected: Mapped[bool] = mapped_column(Boolean, default=False)


class FollowUp(db.Model):
    """One returnee, one wave: the unit of work and of analysis. Planned (or created by an
    import), contacted by the protocol, and closed with exactly one AAPOR disposition
    (scheduler/dispositions.py). Its stratum and inclusion probability are frozen as drawn."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("returnee_id", "wave", name="uq_follow_ups_returnee_id_wave"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"), index=True)
    wave: Mapped[str] = mapped_column(ForeignKey("waves.code"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    window_opens: Mapped[date] = mapped_column(Date)
    window_closes: Mapped[date] = mapped_column(Date)  # the last day
    channel: Mapped[str] = mapped_column(String(8))  # sms or phone, from the preferred channel
    # planned: by the scheduler; imported: created by `monitor import-responses` (no draw).
    source: Mapped[str] = mapped_column(String(10), default="planned")
    state: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    disposition: Mapped[str | None] = mapped_column(String(8), index=True)  # AAPOR code, once closed
    # Frozen as drawn: later edits to the case do not move a follow-up to another stratum.
    sample_draw_id: Mapped[int | None] = mapped_column(ForeignKey("sample_draws.id"), index=True)
    stratum_id: Mapped[int | None] = mapped_column(ForeignKey("sample_strata.id"), index=True)
    inclusion_probability: Mapped[float | None] = mapped_column(Float)  # None: not drawn (imported)
    # A consent answer on the link or an answered call; never a link merely opened.
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the partner should call again: a call-back the returnee asked for, or the retry delay
    # after an attempt that reached nobody. NULL: as soon as possible.
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the dispatcher should look at it next; NULL once closed.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The offline submission (ODK Central, KoboToolbox) that recorded its outcome: its instance ID
    # without "uuid:". The same submission imported again is skipped; another one is refused.
    source_instance_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    # Optimistic locking: two dispatchers never both move the same follow-up.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    returnee: Mapped[Returnee] = relationship()
    stratum: Mapped[SampleStratum | None] = relationship()
    events: Mapped[list[FollowUpEvent]] = relationship(
        cascade="all, delete-orphan", order_by="FollowUpEvent.id", back_populates="follow_up")


class FollowUpEvent(db.Model):
    """Every transition of a follow-up: when, which, from and to which state, by whom."""

    __tablename__ = "follow_up_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    transition: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(254))
    detail: Mapped[str | None] = mapped_column(String(200))

    follow_up: Mapped[FollowUp] = relationship(back_populates="events")


class ContactAttempt(db.Model):
    """One try to reach a returnee: a message sent, a call, a visit, and what came of it."""

    __tablename__ = "contact_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(8))  # sms, phone, visit
    outcome: Mapped[str] = mapped_column(String(24))  # dispositions.ATTEMPT_OUTCOMES
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # The form it came from (one key per rendered form): a second press records nothing more.
    form_key: Mapped[str | None] = mapped_column(String(32), unique=True)


class SmsMessage(db.Model):
    """The outbox. A message is written (queued) in the same transaction as the transition that
    calls for it, claimed (sending) in a transaction of its own, then sent: a crash can leave it
    unsent or uncertain, never sent twice. (follow_up, kind, sequence) is unique."""

    __tablename__ = "sms_messages"
    __table_args__ = (UniqueConstraint("follow_up_id", "kind", "sequence", name="uq_sms_messages_follow_up_kind_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_ups.id", ondelete="SET NULL"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # invitation, reminder
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    to: Mapped[str] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)  # holds the personal link
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    backend: Mapped[str | None] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundMessage(db.Model):
    """A text a returnee sent back: STOP, START, HELP, or anything else for the partner to read."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)  # Twilio's MessageSid: idempotent
    returnee_id: Mapped[int | None] = mapped_column(ForeignKey("returnees.id", ondelete="SET NULL"), index=True)
    from_lookup: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash of the sender's number
    body: Mapped[str] = mapped_column(EncryptedText)
    kind: Mapped[str] = mapped_column(String(10))  # stop, start, help, other
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
