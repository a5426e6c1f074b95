"""One injectable clock drives planning, dispatch and the runner, so tests (and `--now`) can
replay any moment."""
from __future__ import annotations

from datetime import date, datetime, timezone


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def today(self) -> date:
        return self.now().date()


class FixedClock(Clock):
    def __init__(self, moment: datetime):
        if moment.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime")
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.moment += timedelta(**delta)
