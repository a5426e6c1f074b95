"""Waves are data: the `waves` table is the one list of them. Their names on staff pages follow
from what they are (when they fall due, whether they are sampled), so a wave added on the plan
page has a translated name without a code change."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import Wave


def all_waves() -> list[Wave]:
    return db.session.scalars(select(Wave).order_by(Wave.due_days, Wave.code)).all()


def wave_codes() -> list[str]:
    return [wave.code for wave in all_waves()]


def describe(wave: Wave) -> str:
    if not wave.sampled and wave.months == 1:
        return _("One-month check")
    if wave.sampled:
        return _("%(months)d-month wave", months=wave.months)
    return _("%(months)d-month check", months=wave.months)


def wave_name(code: str) -> str:
    """The staff name of a wave (cached for the request); the code itself if it is unknown."""
    names = g.get("_wave_names")
    if names is None:
        names = g._wave_names = {wave.code: describe(wave) for wave in all_waves()}
    return names.get(code, code)
