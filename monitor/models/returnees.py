from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, and_, exists, not_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.extensions import cipher, db
from monitor.models.organisations import Organisation
from monitor.models.types import EncryptedText, UTCDateTime, utcnow


class Returnee(db.Model):
    """One returnee's case: pseudonymous code, destination, partner, contact and consent.

    Identity (name, phone) is encrypted at rest and never leaves this table; questionnaire
    answers will reference the case by id only, so analysts work on codes and aggregates.
    """

    __tablename__ = "returnees"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    destination_country: Mapped[str] = mapped_column(String(2), index=True)  # ISO 3166-1 alpha-2
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    local_partner_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    return_date: Mapped[date] = mapped_column(Date, index=True)
    sex: Mapped[str | None] = mapped_column(String(1))  # codes.SEXES
    birth_year: Mapped[int | None] = mapped_column(Integer)
    adults: Mapped[int | None] = mapped_column(Integer)
    children: Mapped[int | None] = mapped_column(Integer)
    support_package: Mapped[str | None] = mapped_column(String(40))  # codes.SUPPORT_PACKAGES
    language: Mapped[str] = mapped_column(String(8))  # codes.RETURNEE_LANGUAGES
    preferred_channel: Mapped[str] = mapped_column(String(8))  # codes.CHANNELS

    # Identity, encrypted at rest. phone_lookup is a keyed hash to find a case by number
    # (`info` names its source column: `monitor rotate-key` recomputes it under the new key).
    name: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)  # E.164
    phone_lookup: Mapped[str | None] = mapped_column(String(64), index=True, info={"blind_index_of": "phone"})

    # Current consent; the history is in ConsentEvent.
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_method: Mapped[str | None] = mapped_column(String(20))  # codes.CONSENT_METHODS
    consent_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Some returnees do not want to be reminded of Belgium at all: never contact them.
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Replied STOP (by SMS, on the link's page, or reported by the carrier): no contact by any
    # channel until a recorded START or new consent.
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The number does not work (Twilio 21211/21614, or staff: "wrong number"): not used for any
    # wave until it is changed.
    phone_unusable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The case's identity was erased (`monitor erase`, the admin's button, or the retention
    # period's end: monitor/returnees/erasure.py): name, number, texts and notes are gone, the
    # pseudonymous case and its outcomes stay, and nobody contacts it again by any channel.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Organisation] = relationship(foreign_keys=[partner_id])
    local_partner: Mapped[Organisation | None] = relationship(foreign_keys=[local_partner_id])
    vulnerability_rows: Mapped[list[ReturneeVulnerability]] = relationship(
        cascade="all, delete-orphan", order_by="ReturneeVulnerability.category", lazy="selectin")
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        cascade="all, delete-orphan", order_by="ConsentEvent.at", back_populates="returnee")

    @property
    def vulnerabilities(self) -> list[str]:
        return [row.category for row in self.vulnerability_rows]

    @vulnerabilities.setter
    def vulnerabilities(self, categories) -> None:
        wanted = set(categories)
        self.vulnerability_rows = [r for r in self.vulnerability_rows if r.category in wanted] + [
            ReturneeVulnerability(category=c) for c in sorted(wanted - set(self.vulnerabilities))]

    def set_phone(self, e164: str | None) -> None:
        if e164 != self.phone:
            self.phone_unusable_at = None  # a new number is tried again
        self.phone = e164
        self.phone_lookup = cipher.lookup_hash(e164) if e164 else None

    @property
    def consent_channels(self) -> list[str]:
        return [c for c, given in (("sms", self.consent_sms), ("phone", self.consent_phone)) if given]

    @property
    def consent_active(self) -> bool:
        return self.consent_given and self.consent_withdrawn_at is None

    @property
    def refusal(self) -> str | None:
        """Why this returnee may not be contacted by any channel (a reason of
        scheduler/dispositions.py), or None."""
        if self.erased_at is not None:
            return "erased"
        if self.consent_given and self.consent_withdrawn_at is not None:
            return "withdrew"
        if not self.consent_given and self.consent_recorded_at is not None:
            return "withdrew"  # consent recorded anew as refused
        if self.do_not_contact:
            return "do_not_contact"
        if self.opted_out_at is not None:
            return "stop"
        return None

    def may_contact(self, channel: str, *, without_number: bool = False) -> bool:
        """The one rule for whether this returnee may be contacted on a channel (`without_number`:
        whether they would be, were their number working)."""
        if not self.consent_active or self.refusal is not None:
            return False
        usable = self.phone is not None and self.phone_unusable_at is None
        if channel == "sms":
            return self.consent_sms and usable
        if channel == "phone":
            return self.consent_phone and (usable or without_number)
        return False

    @classmethod
    def refusal_clause(cls):
        """SQL twin of `refusal is not None`."""
        return or_(cls.erased_at.is_not(None), and_(cls.consent_given, cls.consent_withdrawn_at.is_not(None)),
                   and_(not_(cls.consent_given), cls.consent_recorded_at.is_not(None)),
                   cls.do_not_contact, cls.opted_out_at.is_not(None))

    @classmethod
    def contactable_clause(cls):
        """SQL twin of `may_contact` for any channel: consent active, no refusal."""
        return and_(cls.consent_given, not_(cls.refusal_clause()))

    @classmethod
    def sms_clause(cls):
        """SQL twin of `may_contact("sms")`."""
        return and_(cls.contactable_clause(), cls.consent_sms, cls.phone_lookup.is_not(None),
                    cls.phone_unusable_at.is_(None))

    @classmethod
    def frame_clause(cls):
        """Who belongs to a wave's frame: everyone who consented to follow-up (withdrawn or not:
        they are part of the population) with a channel and a phone number. Refusers are drawn
        like the others and their follow-ups close as refusals without contact."""
        ever_given = exists().where(ConsentEvent.returnee_id == cls.id, ConsentEvent.kind == "given")
        return and_(or_(cls.consent_given, ever_given), cls.preferred_channel.in_(("sms", "phone")),
                    cls.phone_lookup.is_not(None))

    def __repr__(self) -> str:
        return f"<Returnee {self.code}>"


class ReturneeVulnerability(db.Model):
    __tablename__ = "returnee_vulnerabilities"

    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)  # codes.VULNERABILITIES


class ConsentEvent(db.Model):
    """Every change of consent: given (for which channels), refused, withdrawn, STOP and START;
    when, how it was recorded (`method`: codes.CONSENT_METHODS) and by whom (a staff member, or
    nobody: the returnee's own text or page, the carrier, an import)."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))  # codes.CONSENT_EVENTS: given, refused, withdrawn, stop, start
    channels: Mapped[str] = mapped_column(String(40), default="")  # space-separated CONSENT_CHANNELS
    method: Mapped[str | None] = mapped_column(String(20))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    returnee: Mapped[Returnee] = relationship(back_populates="consent_events")
    recorded_by: Mapped["User | None"] = relationship()  # noqa: F821 (monitor.models.users)
