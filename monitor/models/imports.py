from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor.extensions import db
from monitor.models.types import EncryptedText, UTCDateTime, utcnow


class ImportJob(db.Model):
    """A returnee import uploaded on the web, run in the background (see returnees/import_jobs.py).

    The file is personal data: it is kept encrypted (`payload`, a Fernet token) only until the
    job ends, and never written to disk or to a log in clear.
    """

    __tablename__ = "import_jobs"

    STATUSES = ("queued", "running", "done", "failed")

    id: Mapped[int] = mapped_column(primary_key=True)
    # The upload form's key: pressing Import twice makes one job.
    form_key: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=True)
    skip_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(10), default="en")  # the language of the row errors
    filename: Mapped[str | None] = mapped_column(EncryptedText)  # a file name can name a person
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)  # an estimate: lines after the header
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    # The outcome, once done: counts, written, and the line-numbered errors and warnings.
    report: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")
