from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.extensions import db
from monitor.models.types import UTCDateTime, utcnow


class Organisation(db.Model):
    """A reintegration partner (Caritas International, IOM) or one of its local partners.

    Local partners hang under their reintegration partner (`parent`), which is what partner
    staff scoping follows.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # codes.ORGANISATION_KINDS
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2, local partners
    # The name a returnee trusts: SMS are signed with it, never with a government-looking sender.
    sender_name: Mapped[str | None] = mapped_column(String(40))
    # Public contact a returnee may use (shown on expired links, HELP replies).
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id], back_populates="local_partners")
    local_partners: Mapped[list[Organisation]] = relationship(back_populates="parent", order_by="Organisation.name")

    @property
    def is_reintegration_partner(self) -> bool:
        return self.kind == "reintegration"

    @property
    def reintegration_partner(self) -> Organisation:
        return self if self.parent is None else self.parent

    @property
    def public_contact(self) -> tuple[str, str | None, str | None]:
        """(name, phone, e-mail) a returnee may turn to: this organisation's public contact (a
        local partner's, in the returnee's country), else its reintegration partner's."""
        owner = self if (self.contact_phone or self.contact_email) else self.reintegration_partner
        return owner.name, owner.contact_phone, owner.contact_email

    @property
    def signature(self) -> str:
        return self.sender_name or self.reintegration_partner.sender_name or self.name

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"
